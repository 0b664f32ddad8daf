"""Pictures of a cut model: ``draw`` writes the partition map (the default,
``map_svg``) or the full op-level drawing (``"full"``, Graphviz SVG).

In the full drawing each node is filled with the colour of the partition
that holds it (white when none does); Mark nodes are drawn as labelled
diamonds ``func[id]:type / name``, so the partition boundaries can be read
off. It needs Graphviz's ``dot`` and grows with the node count; the map
needs neither.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import onnx

from .partition import MalformedModelError

_PALETTE = ["#8dd3c7", "#fdb462", "#bebada", "#fb8072", "#80b1d3", "#b3de69",
            "#fccde5", "#ffffb3"]


def _attr(node: onnx.NodeProto, name: str, default=None):
    for a in node.attribute:
        if a.name == name:
            value = onnx.helper.get_attribute_value(a)
            return value.decode() if isinstance(value, bytes) else value
    return default


def _quote(text: str) -> str:
    """A DOT string literal; newlines become DOT line breaks."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped + '"'


def to_dot(marked: onnx.ModelProto, partitions: Sequence[onnx.ModelProto],
           partition_names: Sequence[str]) -> str:
    """The DOT text of ``marked`` with the nodes of each partition coloured."""
    owner: Dict[str, int] = {}
    for index, part in enumerate(partitions):
        for node in part.graph.node:
            owner.setdefault(node.name, index)
    producers: Dict[str, str] = {}
    lines: List[str] = ["digraph model {", "  rankdir=TB;",
                        '  node [style=filled, fontname="Helvetica", fontsize=10];']
    inits = {i.name for i in marked.graph.initializer}
    for value in marked.graph.input:
        if value.name not in inits:
            producers[value.name] = "in:" + value.name
            lines.append(f"  {_quote('in:' + value.name)} [label={_quote(value.name)}, "
                         "shape=ellipse, fillcolor=\"#dddddd\"];")
    for i, node in enumerate(marked.graph.node):
        node_id = f"n{i}"
        for out in node.output:
            producers[out] = node_id
        if node.domain == "mmdeploy" and node.op_type == "Mark":
            label = (f"{_attr(node, 'func')}[{_attr(node, 'func_id', 0)}]:{_attr(node, 'type')}"
                     f"\n{_attr(node, 'name', '')}")
            lines.append(f"  {node_id} [label={_quote(label)}, shape=diamond, "
                         "fillcolor=\"#ffe000\"];")
            continue
        color = _PALETTE[owner[node.name] % len(_PALETTE)] if node.name in owner else "white"
        lines.append(f"  {node_id} [label={_quote(node.op_type)}, shape=box, "
                     f"fillcolor={_quote(color)}];")
    for i, node in enumerate(marked.graph.node):
        for name in node.input:
            if name in producers:
                lines.append(f"  {_quote(producers[name])} -> n{i};")
    for value in marked.graph.output:
        lines.append(f"  {_quote('out:' + value.name)} [label={_quote(value.name)}, "
                     "shape=ellipse, fillcolor=\"#dddddd\"];")
        if value.name in producers:
            lines.append(f"  {_quote(producers[value.name])} -> {_quote('out:' + value.name)};")
    legend = ["  subgraph cluster_legend { label=\"partitions\"; fontname=\"Helvetica\";"]
    for index, name in enumerate(partition_names):
        legend.append(f"    legend{index} [label={_quote(name)}, shape=box, "
                      f"fillcolor={_quote(_PALETTE[index % len(_PALETTE)])}];")
    legend.append("  }")
    lines += legend if partition_names else []
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_partitions(marked_path: str, partition_files: Sequence[str], svg_path: str) -> str:
    """Writes an SVG of the marked model with its partitions coloured.

    Returns:
        ``svg_path``.

    Raises:
        FileNotFoundError: Graphviz's ``dot`` is not installed.
        MalformedModelError: a model file cannot be read.
        RuntimeError: ``dot`` failed (its message is included).
    """
    dot = shutil.which("dot")
    if dot is None:
        raise FileNotFoundError("--visualize needs Graphviz's 'dot' (apt-get install graphviz)")
    try:
        marked = onnx.load(marked_path, load_external_data=False)
        parts = [onnx.load(p, load_external_data=False) for p in partition_files]
    except Exception as e:  # onnx raises DecodeError and others
        raise MalformedModelError(f"cannot read a model to draw: {e}") from e
    text = to_dot(marked, parts, [Path(p).name for p in partition_files])
    tmp = svg_path + ".tmp"
    result = subprocess.run([dot, "-Tsvg", "-o", tmp], input=text, text=True,
                            capture_output=True, check=False)
    if result.returncode != 0:
        Path(tmp).unlink(missing_ok=True)
        raise RuntimeError(f"dot failed: {result.stderr.strip()}")
    Path(tmp).replace(svg_path)
    return svg_path


#: What ``draw`` (and --visualize) accepts.
KINDS = ("map", "full")


def draw(kind: Union[bool, str], marked_path: str, partition_files: Sequence[str],
         svg_path: str, names: Optional[Sequence[str]] = None) -> str:
    """Writes the picture ``kind`` asks for to ``svg_path``: True or "map"
    the partition map, "full" every node. ``names`` label the partitions
    (default: their file names).

    Raises:
        ValueError: an unknown kind.
        FileNotFoundError: "full" without Graphviz's ``dot``.
        MalformedModelError: a model file cannot be read.
    """
    if kind is True or kind == "map":
        from .map_svg import write_svg
        from .partition_map import load_map

        return write_svg(load_map(marked_path, partition_files, names), svg_path)
    if kind == "full":
        return render_partitions(marked_path, partition_files, svg_path)
    raise ValueError(f"visualize: unknown kind {kind!r}; use one of {', '.join(KINDS)}")
