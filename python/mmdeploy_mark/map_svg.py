"""Draws a ``PartitionMap`` as an SVG a person reads at 100%.

The blocks stand in one column in data-flow order; below each block are the
tensors leaving it (name, dtype[shape], the marks they pass); skipping edges
run in lanes on the left, edges going back up on the right. The drawing is
made by the C++ partition library (the same one ``mmdeploy-partition
--visualize`` writes); no layout engine, script or font is needed to make or
view it.
"""
from __future__ import annotations

from typing import Sequence

from .partition import _partition
from .partition_map import PartitionMap

__all__ = ["FONT", "MAX_LINE_CHARS", "render_svg", "write_svg"]

FONT = _partition.MAP_FONT_PX                 # px, every line but block titles
MAX_LINE_CHARS = _partition.MAP_MAX_LINE_CHARS  # longer lines are cut with "…"


def render_svg(pmap: PartitionMap) -> str:
    """The SVG text of the map (UTF-8, no XML declaration, no external
    references)."""
    return _partition.render_map_svg(pmap)


def write_svg(pmap: PartitionMap, path: str, inputs: Sequence[str] = ()) -> str:
    """Writes the map to ``path`` (through a temporary file; never over one
    of ``inputs`` or a non-regular file); returns ``path``.

    Raises:
        PartitionError: the file cannot be written.
    """
    _partition.write_partition_map(pmap, str(path), [str(p) for p in inputs])
    return str(path)
