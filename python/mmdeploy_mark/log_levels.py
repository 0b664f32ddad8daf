"""Quieting a third-party logger for the length of one call."""
from __future__ import annotations

import contextlib
import logging
from typing import Iterator


@contextlib.contextmanager
def raised_level(logger: logging.Logger, level: int) -> Iterator[None]:
    """Drops ``logger``'s records below ``level`` inside the block, then
    restores the level it had."""
    previous = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(previous)
