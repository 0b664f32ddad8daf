"""Rewriters that put marks on the bundled models (importing registers them)."""
from . import detection  # noqa: F401
