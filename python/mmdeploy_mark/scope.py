"""The export scope shared by rewriters, marks and symbolics: which
RewriterContext is open, whether marks apply in it, and func_id counting.

It sits below rewriter.py, marker.py and the symbolics, so none of them
imports another to ask.
"""
from __future__ import annotations

import contextlib
import contextvars
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, Optional, Tuple

from .config import cfg_apply_marks

if TYPE_CHECKING:
    from .rewriter import RewriteCall, RewriterContext

# Innermost last. Context variables (not module globals) so that threads and
# nested exports see their own contexts.
_ACTIVE_CONTEXTS: contextvars.ContextVar[Tuple["RewriterContext", ...]] = (
    contextvars.ContextVar("mmdeploy_mark_rewriter_contexts", default=()))
_ACTIVE_CALLS: contextvars.ContextVar[Tuple["RewriteCall", ...]] = (
    contextvars.ContextVar("mmdeploy_mark_rewrite_calls", default=()))


# (func, func_id, type, name): what identifies one mark of one run.
MarkKey = Tuple[str, int, str, str]

# Open observers of marked tensors (see observing_marks), innermost last.
_MARK_RECORDERS: contextvars.ContextVar[Tuple[Callable[[MarkKey, Any], None], ...]] = (
    contextvars.ContextVar("mmdeploy_mark_recorders", default=()))


@contextlib.contextmanager
def recording_marks() -> Iterator[Dict[MarkKey, Any]]:
    """While open, every tensor marked through ``mark_tensor`` (and so
    ``@mark``) in this thread is recorded, keyed by (func, func_id, type,
    name): what verification compares partitions with."""
    recorded: Dict[MarkKey, Any] = {}
    with observing_marks(recorded.__setitem__):
        yield recorded


@contextlib.contextmanager
def observing_marks(observer: Callable[[MarkKey, Any], None]) -> Iterator[None]:
    """While open, ``observer(key, tensor)`` is called for every tensor marked
    in this thread, once per firing and in firing order (recording_marks keeps
    only the last tensor of a key; calibration must see a mark that fires
    twice in one run)."""
    token = _MARK_RECORDERS.set(_MARK_RECORDERS.get() + (observer,))
    try:
        yield
    finally:
        _MARK_RECORDERS.reset(token)


def record_mark(key: MarkKey, tensor: Any) -> None:
    """Hands a marked tensor to the open observers, if any."""
    for observer in _MARK_RECORDERS.get():
        observer(key, tensor)


def current_context() -> Optional["RewriterContext"]:
    """The innermost open RewriterContext, or None outside any."""
    contexts = _ACTIVE_CONTEXTS.get()
    return contexts[-1] if contexts else None


def marks_enabled() -> bool:
    """Outside a RewriterContext marks are exported; inside one only when its
    deploy config sets partition_config.apply_marks."""
    context = current_context()
    if context is None:
        return True
    return cfg_apply_marks(context.cfg)


class MarkCounter:
    """Counts marked calls per function name: the source of func_id."""

    def __init__(self) -> None:
        self._counts: Dict[str, int] = {}

    def next_id(self, func: str) -> int:
        """Returns the func_id of this call of ``func`` and counts it."""
        func_id = self._counts.get(func, 0)
        self._counts[func] = func_id + 1
        return func_id

    def reset(self) -> None:
        """Starts every count at 0 again."""
        self._counts.clear()
