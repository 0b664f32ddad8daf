"""Draws a ``PartitionMap`` as an SVG a person reads at 100%.

The blocks stand in one column in data-flow order (graph inputs, the
partitions and what no partition keeps, graph outputs). Below each block
are the tensors leaving it, one line each: name, dtype[shape], and the marks
they pass (◆). An edge to the next block is a straight arrow; one that skips
blocks runs in a lane on the left, one that goes back up in a lane on the
right. Text is monospace, so its width is known without font metrics, and
long lines are cut with "…" (the full text is the line's tooltip); the
drawing's size thus depends on the number of blocks and boundary tensors
only. No layout engine, script or font is needed to make or view it.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence, Tuple

from .partition_map import (INPUTS, OUTPUTS, PARTITION, UNCUT, Block, PartitionMap,
                            TensorLabel, count_text, format_bytes)

__all__ = ["MAX_LINE_CHARS", "render_svg", "write_svg"]

FONT = 13            # px, every line but block titles
TITLE_FONT = 14      # px, bold
CHAR_W = 8.0         # px per character at FONT: monospace fonts advance 0.55-0.61 em
TITLE_CHAR_W = 8.6
LINE = 18            # px between baselines
PAD = 10             # inside blocks
MARGIN = 16
LANE = 14            # px between side lanes
ARROW_X = 24         # the straight arrow, from the column's left edge
LABEL_X = 40         # tensor lines, from the column's left edge
MIN_WIDTH = 420
MAX_LINE_CHARS = 100  # longer lines are cut with "…"
MAX_OP_LINES = 2
MAX_NAME_LINES = 3
# Ops that compute nothing: listed after the others in a block's summary.
TRIVIAL_OPS = ("Constant", "Identity")
FONT_FAMILY = "DejaVu Sans Mono, Menlo, Consolas, Liberation Mono, monospace"
PALETTE = ["#8dd3c7", "#fdb462", "#bebada", "#fb8072", "#80b1d3", "#b3de69", "#fccde5",
           "#ffffb3"]
MARK_COLOUR = "#9a4d00"
TYPE_COLOUR = "#333333"

# Characters XML 1.0 forbids; model strings may hold anything.
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    text = _NOT_XML.sub("\ufffd", str(text))
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:max(limit - 1, 1)] + "…"


@dataclass
class _Span:
    text: str
    style: str = ""   # "bold", "type", "mark", "dim"


@dataclass
class _Line:
    spans: List[_Span]

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.spans)


def _items_lines(items: Sequence[str], limit: int, max_lines: int, sep: str = " · "
                 ) -> List[str]:
    """``items`` joined by ``sep`` into at most ``max_lines`` lines of
    ``limit`` characters; what does not fit is counted as "+N more"."""
    rows: List[List[str]] = [[]]
    for i, item in enumerate(items):
        item = _cut(item, limit)
        row = rows[-1]
        if not row or len(sep.join(row + [item])) <= limit:
            row.append(item)
            continue
        if len(rows) < max_lines:
            rows.append([item])
            continue
        hidden = len(items) - i
        while row and len(sep.join(row + [f"+{hidden} more"])) > limit:
            row.pop()
            hidden += 1
        row.append(f"+{hidden} more")
        break
    return [sep.join(row) for row in rows if row]


def _op_items(block: Block) -> List[str]:
    real = [(op, n) for op, n in block.op_counts if op not in TRIVIAL_OPS]
    trivial = [(op, n) for op, n in block.op_counts if op in TRIVIAL_OPS]
    return [f"{op} {n}" for op, n in real + trivial]


def _block_lines(block: Block, limit: int) -> List[_Line]:
    if block.kind in (INPUTS, OUTPUTS):
        values = block.outputs if block.kind == INPUTS else block.inputs
        return [_Line([_Span(t)]) for t in
                _items_lines([v.name for v in values], limit, MAX_NAME_LINES, ", ")]
    lines = [_Line([_Span(f"{count_text(block.nodes, 'node')} · "
                          f"{format_bytes(block.param_bytes)} parameters", "dim")])]
    lines += [_Line([_Span(t)]) for t in _items_lines(_op_items(block), limit, MAX_OP_LINES)]
    if block.unlinked:
        lines += [_Line([_Span(t, "dim")]) for t in _items_lines(
            block.unlinked, limit - 16, 1, ", ")]
        lines[-1].spans.insert(0, _Span("not on an edge: ", "dim"))
    return lines


def _tensor_lines(tensor: TensorLabel, limit: int, name_width: int = 0) -> List[_Line]:
    """``name  dtype[shape]  ◆ marker, ...``, the name padded to
    ``name_width`` so that types line up; the marks wrap to a second line
    when the first is full."""
    name = _cut(tensor.name, limit).ljust(min(name_width, limit // 2))
    type_text = _cut("  " + tensor.type_text, max(limit - len(name), 4))
    first = _Line([_Span(name, "bold"), _Span(type_text, "type")])
    if not tensor.marks:
        return [first]
    marks = "  ◆ " + ", ".join(tensor.marks)
    if len(first.text) + len(marks) <= limit:
        first.spans.append(_Span(marks, "mark"))
        return [first]
    return [first, _Line([_Span(_cut(marks, limit), "mark")])]


@dataclass
class _Placed:
    block: Block
    top: float = 0.0
    height: float = 0.0
    lines: Tuple[_Line, ...] = ()

    @property
    def bottom(self) -> float:
        return self.top + self.height


def _lanes(edges: List[Tuple[int, int]]) -> List[int]:
    """A lane per side edge such that edges spanning overlapping blocks never
    share one (greedy interval colouring)."""
    lanes: List[int] = []
    taken: List[List[Tuple[int, int]]] = []
    for a, b in edges:
        lo, hi = min(a, b), max(a, b)
        for k, spans in enumerate(taken):
            if all(hi < s or lo > e for s, e in spans):
                spans.append((lo, hi))
                lanes.append(k)
                break
        else:
            taken.append([(lo, hi)])
            lanes.append(len(taken) - 1)
    return lanes


def render_svg(pmap: PartitionMap) -> str:
    """The SVG text of the map (UTF-8, no external references)."""
    blocks = pmap.blocks
    edges = pmap.edges
    limit = MAX_LINE_CHARS
    skips = [e for e in edges if e.dst > e.src + 1]
    backs = [e for e in edges if e.dst <= e.src]
    left_lanes = _lanes([(e.src, e.dst) for e in skips])
    right_lanes = _lanes([(e.src, e.dst) for e in backs])
    n_left = max(left_lanes, default=-1) + 1
    n_right = max(right_lanes, default=-1) + 1

    # Lines of every block and of every gap (the tensors leaving the block).
    placed = [_Placed(b, lines=tuple(_block_lines(b, limit))) for b in blocks]
    gap_rows: List[List[Tuple[str, object, _Line]]] = [[] for _ in blocks]
    for e in edges:
        rows = gap_rows[e.src]
        if e.dst != e.src + 1:
            rows.append(("to", e, _Line([_Span(f"↳ to {_cut(blocks[e.dst].title, limit - 8)}",
                                               "dim")])))
        name_width = max(len(t.name) for t in e.tensors)
        for tensor in e.tensors:
            rows += [("tensor", e, line) for line in _tensor_lines(tensor, limit, name_width)]
    # Straight edges first under each block, then side edges.
    for rows in gap_rows:
        rows.sort(key=lambda r: 0 if r[1].dst == r[1].src + 1 else 1)

    count = len(pmap.partitions())
    header = (f"{pmap.title}: {count_text(pmap.total_nodes - len(pmap.marks), 'node')} and "
              f"{count_text(len(pmap.marks), 'mark')}, cut into "
              f"{count_text(count, 'partition')}")
    legend = ("◆ marks a tensor passes (func[call]:type) · dtype[shape], dynamic dims "
              "by name")
    widest_chars = max([len(_cut(header, limit)), len(legend)]
                       + [len(line.text) for p in placed for line in p.lines])
    widest_title = max([len(_cut(b.title, limit)) for b in blocks], default=0)
    widest_row = max([len(line.text) for rows in gap_rows for _, _, line in rows], default=0)
    width = math.ceil(max(MIN_WIDTH, 2 * PAD + widest_chars * CHAR_W,
                          2 * PAD + widest_title * TITLE_CHAR_W,
                          LABEL_X + PAD + widest_row * CHAR_W))
    col_x = MARGIN + (n_left * LANE + LANE if n_left else 0)
    total_w = col_x + width + (n_right * LANE + LANE if n_right else 0) + MARGIN

    # Vertical layout: header, then each block followed by its gap.
    y = MARGIN + LINE
    header_y = y
    y += LINE // 2
    gap_top: List[float] = []
    for i, p in enumerate(placed):
        p.top = y
        p.height = PAD + 20 + len(p.lines) * LINE + PAD - 4
        rows = gap_rows[i]
        gap_top.append(p.bottom + 12)
        if rows:
            y = p.bottom + 12 + len(rows) * LINE + 10
        else:
            y = p.bottom + (28 if i + 1 < len(placed) else 0)
    legend_y = y + LINE
    total_h = math.ceil(legend_y + MARGIN)

    def row_baseline(i: int, k: int) -> float:
        return gap_top[i] + k * LINE + LINE * 0.7

    def side_row_y(e) -> float:
        """Where a side edge leaves: level with its "↳ to" line."""
        k = next(k for k, (kind, owner, _) in enumerate(gap_rows[e.src])
                 if owner is e and kind == "to")
        return row_baseline(e.src, k) - 4

    # Side edges enter their target at spread-out heights, per side.
    entry_k = {}
    for side, group in (("left", skips), ("right", backs)):
        for e in group:
            entry_k[id(e)] = sum(1 for other in group[:group.index(e)] if other.dst == e.dst)

    def entry_y(e) -> float:
        target = placed[e.dst]
        return min(target.top + 12 + 7 * entry_k[id(e)], target.bottom - 6)

    out: List[str] = [_text(col_x, header_y, _Line([_Span(_cut(header, limit), "dim")]))]
    colour = 0
    for p in placed:
        out += _block_svg(p, col_x, width, colour)
        colour += p.block.kind == PARTITION
    for i, p in enumerate(placed):
        for k, (_kind, _e, line) in enumerate(gap_rows[i]):
            out.append(_text(col_x + LABEL_X, row_baseline(i, k), line))
    for e in edges:
        if e.dst == e.src + 1:
            x = col_x + ARROW_X
            out.append(_path(f"M{x},{placed[e.src].bottom:.1f} V{placed[e.dst].top - 7:.1f}"))
            out.append(_arrowhead(x, placed[e.dst].top, "down"))
    for e, lane in zip(skips, left_lanes):
        x_lane = col_x - LANE * (lane + 1)
        ey = entry_y(e)
        out.append(_path(f"M{col_x + 10},{placed[e.src].bottom:.1f} V{side_row_y(e):.1f} "
                         f"H{x_lane} V{ey:.1f} H{col_x - 7}"))
        out.append(_arrowhead(col_x, ey, "right"))
    for e, lane in zip(backs, right_lanes):
        x_lane = col_x + width + LANE * (lane + 1)
        ey = entry_y(e)
        out.append(_path(f"M{col_x + width - 6},{placed[e.src].bottom:.1f} "
                         f"V{side_row_y(e):.1f} H{x_lane} V{ey:.1f} H{col_x + width + 7}"))
        out.append(_arrowhead(col_x + width, ey, "left"))
    out.append(_text(col_x, legend_y, _Line([_Span(legend, "dim")])))

    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w}" height="{total_h}" '
            f'viewBox="0 0 {total_w} {total_h}" font-family="{FONT_FAMILY}" '
            f'font-size="{FONT}" role="img" aria-label="{_xml(header)}">')
    body = [f"<title>{_xml(header)}</title>",
            f'<rect width="{total_w}" height="{total_h}" fill="#ffffff"/>']
    return "\n".join([head, *body, *out, "</svg>"]) + "\n"


def _fill(block: Block, colour: int) -> Tuple[str, str]:
    """(fill, stroke dash) of a block; ``colour`` counts the partitions."""
    if block.kind == PARTITION:
        return PALETTE[colour % len(PALETTE)], ""
    if block.kind == UNCUT:
        return "#eeeeee", ' stroke-dasharray="6 4"'
    return "#ffffff", ""


def _block_svg(p: _Placed, x: float, width: float, colour: int) -> List[str]:
    fill, dash = _fill(p.block, colour)
    limit = int((width - 2 * PAD) / TITLE_CHAR_W)
    title = p.block.title
    shown = _cut(title, limit)
    tip = f"<title>{_xml(title)}</title>" if shown != title else ""
    parts = [f'<rect x="{x}" y="{p.top:.1f}" width="{width}" height="{p.height:.1f}" rx="6" '
             f'fill="{fill}" stroke="#555555" stroke-width="1.2"{dash}/>',
             f'<text x="{x + PAD}" y="{p.top + PAD + 13:.1f}" font-size="{TITLE_FONT}" '
             f'font-weight="bold">{tip}{_xml(shown)}</text>']
    for k, line in enumerate(p.lines):
        parts.append(_text(x + PAD, p.top + PAD + 20 + (k + 1) * LINE - 4, line))
    return parts


_STYLES = {"bold": ' font-weight="bold"', "type": f' fill="{TYPE_COLOUR}"',
           "mark": f' fill="{MARK_COLOUR}"', "dim": ' fill="#555555"', "": ""}


def _text(x: float, y: float, line: _Line) -> str:
    spans = "".join(f"<tspan{_STYLES[s.style]}>{_xml(s.text)}</tspan>" if s.style
                    else _xml(s.text) for s in line.spans)
    full = line.text
    tip = f"<title>{_xml(full)}</title>" if "…" in full else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" xml:space="preserve">{tip}{spans}</text>'


def _path(d: str) -> str:
    return f'<path d="{d}" fill="none" stroke="#444444" stroke-width="1.5"/>'


def _arrowhead(x: float, y: float, direction: str) -> str:
    points = {"down": [(x - 5, y - 8), (x + 5, y - 8), (x, y)],
              "right": [(x - 8, y - 5), (x - 8, y + 5), (x, y)],
              "left": [(x + 8, y - 5), (x + 8, y + 5), (x, y)]}[direction]
    return ('<polygon points="' + " ".join(f"{a:.1f},{b:.1f}" for a, b in points)
            + '" fill="#444444"/>')


def write_svg(pmap: PartitionMap, path: str) -> str:
    """Writes the map to ``path`` (through a temporary file); returns ``path``."""
    tmp = Path(str(path) + ".tmp")
    tmp.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + render_svg(pmap),
                   encoding="utf-8")
    os.replace(tmp, path)
    return str(path)
