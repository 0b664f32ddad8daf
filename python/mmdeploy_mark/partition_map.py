"""What the partition map shows, computed from a marked model and the
partitions cut from it.

The map reduces the model to blocks: the graph inputs, one block per
partition, one for every node no partition keeps ("not cut"), and the graph
outputs; and to the boundary tensors that flow between blocks, each with the
name a deployment wires up, its dtype and shape, and the marks it passes.
Its size therefore depends on the partitions and boundaries, never on the
node count. ``map_svg`` draws it; ``report`` tabulates it.

Partition nodes are matched to the marked model's by node name (the
partition pass keeps names; it renames only boundary tensors), so a
partition's own input and output names can be put on the edges.
"""
from __future__ import annotations

import collections
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

import onnx

from .partition import MalformedModelError

__all__ = ["Block", "Edge", "MarkRow", "PartitionMap", "TensorLabel", "build_map",
           "count_text", "dtype_name", "format_bytes", "load_map"]

# ONNX TensorProto element types: names as numpy spells them, and sizes.
_DTYPES = {
    1: ("float32", 4), 2: ("uint8", 1), 3: ("int8", 1), 4: ("uint16", 2), 5: ("int16", 2),
    6: ("int32", 4), 7: ("int64", 8), 8: ("string", 0), 9: ("bool", 1), 10: ("float16", 2),
    11: ("float64", 8), 12: ("uint32", 4), 13: ("uint64", 8), 14: ("complex64", 8),
    15: ("complex128", 16), 16: ("bfloat16", 2), 17: ("float8e4m3fn", 1),
    18: ("float8e4m3fnuz", 1), 19: ("float8e5m2", 1), 20: ("float8e5m2fnuz", 1),
    21: ("uint4", 0.5), 22: ("int4", 0.5), 23: ("float4e2m1", 0.5),
}

# Kinds of blocks, in the order a pipeline runs them.
INPUTS, PARTITION, UNCUT, OUTPUTS = "inputs", "partition", "uncut", "outputs"


def dtype_name(elem_type: int) -> str:
    """``float32`` for ONNX element type 1; ``dtype?`` when unset."""
    if not elem_type:
        return "dtype?"
    return _DTYPES.get(elem_type, (f"dtype{elem_type}", 0))[0]


def count_text(count: int, noun: str) -> str:
    """``1 node``, ``2 nodes``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def format_bytes(count: int) -> str:
    """``8.6 MiB``: binary units, one decimal above a KiB."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class TensorLabel:
    """A tensor as the map labels it: ``pred_maps.0 float32[1, 255, 19, 19]``."""

    name: str
    dtype: str
    shape: str
    marks: Tuple[str, ...] = ()

    @property
    def type_text(self) -> str:
        return self.dtype + self.shape


@dataclass
class Block:
    kind: str
    title: str
    nodes: int = 0
    # Every op type with its count, most frequent first.
    op_counts: List[Tuple[str, int]] = field(default_factory=list)
    param_bytes: int = 0
    # A partition's inputs and outputs as its file declares them; the graph's
    # for the inputs and outputs blocks.
    inputs: List[TensorLabel] = field(default_factory=list)
    outputs: List[TensorLabel] = field(default_factory=list)
    # Boundary names no edge carries (e.g. a partition output nothing reads).
    unlinked: List[str] = field(default_factory=list)


@dataclass
class Edge:
    src: int
    dst: int
    tensors: List[TensorLabel]


@dataclass(frozen=True)
class MarkRow:
    """One Mark node, and where it sits on the map."""

    marker: str
    name: str
    dtype: str
    shape: str
    where: str


@dataclass
class PartitionMap:
    title: str
    total_nodes: int
    blocks: List[Block]
    edges: List[Edge]
    marks: List[MarkRow]

    def partitions(self) -> List[Block]:
        return [b for b in self.blocks if b.kind == PARTITION]

    def boundary_labels(self) -> List[TensorLabel]:
        """Every tensor label on an edge, in drawing order."""
        return [t for e in self.edges for t in e.tensors]


# --- reading the models -----------------------------------------------------

def _is_mark(node: onnx.NodeProto) -> bool:
    return node.domain == "mmdeploy" and node.op_type == "Mark"


def _attr(node: onnx.NodeProto, name: str, default=None):
    for a in node.attribute:
        if a.name == name:
            value = onnx.helper.get_attribute_value(a)
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return default


def _marker(node: onnx.NodeProto) -> str:
    return f"{_attr(node, 'func', '?')}[{_attr(node, 'func_id', 0)}]:{_attr(node, 'type', '?')}"


def _shape_text(type_proto: Optional[onnx.TypeProto]) -> Tuple[str, str]:
    """(dtype, shape) of a tensor type; dynamic dims by name, unknown ones '?'."""
    if type_proto is None or not type_proto.HasField("tensor_type"):
        return "dtype?", "[?]"
    tensor = type_proto.tensor_type
    if not tensor.HasField("shape"):
        return dtype_name(tensor.elem_type), " (shape unknown)"
    dims = [str(d.dim_value) if d.HasField("dim_value") else (d.dim_param or "?")
            for d in tensor.shape.dim]
    return dtype_name(tensor.elem_type), "[" + ", ".join(dims) + "]"


def _mark_type(node: onnx.NodeProto) -> Tuple[str, str]:
    """(dtype, shape) the export recorded on a Mark; negative dims are unknown."""
    dims = [str(d) if d >= 0 else "?" for d in _attr(node, "shape", [])]
    return dtype_name(_attr(node, "dtype", 0)), "[" + ", ".join(dims) + "]"


def _tensor_bytes(tensor: onnx.TensorProto) -> int:
    count = 1
    for d in tensor.dims:
        count *= d
    return int(count * _DTYPES.get(tensor.data_type, ("", 0))[1])


def _subgraph_reads(node: onnx.NodeProto) -> Set[str]:
    """Outer-scope tensors that an If/Loop/Scan body reads by name."""
    names: Set[str] = set()
    for a in node.attribute:
        graphs = [a.g] if a.HasField("g") else list(a.graphs)
        for g in graphs:
            local = {v.name for v in g.input} | {t.name for t in g.initializer}
            for inner in g.node:
                local.update(inner.output)
            for inner in g.node:
                names.update(n for n in inner.input if n and n not in local)
                names.update(n for n in _subgraph_reads(inner) if n not in local)
    return names


def _node_key(node: onnx.NodeProto) -> Tuple[str, ...]:
    # Exporters name every node; unnamed ones fall back to their outputs,
    # which match unless the partition renamed them at its boundary.
    return (node.name,) if node.name else ("", node.op_type, *node.output)


def _op_counts(nodes: Iterable[onnx.NodeProto]) -> List[Tuple[str, int]]:
    counts = collections.Counter(n.op_type for n in nodes)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _graph_io(values, skip: Set[str]) -> List[TensorLabel]:
    return [TensorLabel(v.name, *_shape_text(v.type)) for v in values if v.name not in skip]


# --- the map ----------------------------------------------------------------

def build_map(marked: onnx.ModelProto, partitions: Sequence[Tuple[str, onnx.ModelProto]],
              title: str = "") -> PartitionMap:
    """The map of ``marked`` cut into ``partitions`` (``(save_file, model)``
    pairs). A node in several partitions belongs to the first one's block."""
    return _MapBuilder(marked, partitions).build(title)


def load_map(marked_path: str, partition_files: Sequence[str],
             names: Optional[Sequence[str]] = None) -> PartitionMap:
    """``build_map`` from files; ``names`` label the partitions (default:
    their file names). Weights stored outside the files are not read.

    Raises:
        MalformedModelError: a file cannot be read as an ONNX model.
    """
    names = list(names) if names is not None else [Path(p).name for p in partition_files]
    try:
        marked = onnx.load(marked_path, load_external_data=False)
        parts = [(n, onnx.load(p, load_external_data=False))
                 for n, p in zip(names, partition_files)]
    except Exception as e:  # onnx raises DecodeError, OSError and others
        raise MalformedModelError(f"cannot read a model to draw the partition map: {e}") from e
    return build_map(marked, parts, title=Path(marked_path).name)


class _MapBuilder:
    def __init__(self, marked: onnx.ModelProto,
                 partitions: Sequence[Tuple[str, onnx.ModelProto]]) -> None:
        graph = marked.graph
        self.graph = graph
        self.partitions = list(partitions)
        self.inits = {t.name: t for t in graph.initializer}
        self.marks = [n for n in graph.node if _is_mark(n) and n.input and n.output]
        self.mark_of_output = {n.output[0]: i for i, n in enumerate(self.marks)}
        self.marks_reading: Dict[str, List[int]] = collections.defaultdict(list)
        for i, n in enumerate(self.marks):
            self.marks_reading[n.input[0]].append(i)
        self.compute = [n for n in graph.node if not _is_mark(n)]
        self.types: Dict[str, onnx.TypeProto] = {
            v.name: v.type for v in [*graph.input, *graph.value_info, *graph.output]}
        # Block indices before drawing order is chosen.
        self.n_parts = len(self.partitions)
        self.IN, self.UNCUT, self.OUT = -1, self.n_parts, self.n_parts + 1

    def resolve(self, tensor: str) -> Tuple[str, Tuple[int, ...]]:
        """The tensor a (chain of) Mark(s) passes on, and those marks (indices
        into self.marks) from the source on."""
        passed: List[int] = []
        while tensor in self.mark_of_output and self.mark_of_output[tensor] not in passed:
            passed.append(self.mark_of_output[tensor])
            tensor = self.marks[passed[-1]].input[0]
        return tensor, tuple(reversed(passed))

    def build(self, title: str) -> PartitionMap:
        owner = self._owners()
        producer: Dict[str, int] = {v.name: self.IN for v in self.graph.input
                                    if v.name not in self.inits}
        for node, block in zip(self.compute, owner):
            for out in node.output:
                if out:
                    producer[out] = block
        part_in, part_out = self._partition_io_names()

        # (src, dst) -> {source tensor: (label name, marks passed)}, in graph order.
        flows: Dict[Tuple[int, int], Dict[str, Tuple[str, List[int]]]] = {}

        def flow(src: int, dst: int, source: str, name: str, marks: Iterable[int]) -> None:
            slot = flows.setdefault((src, dst), {})
            entry = slot.setdefault(source, (name, []))
            entry[1].extend(m for m in marks if m not in entry[1])

        for node, block in zip(self.compute, owner):
            reads = [n for n in node.input if n] + sorted(_subgraph_reads(node))
            for tensor in reads:
                if tensor in self.inits:
                    continue
                source, marks = self.resolve(tensor)
                src = producer.get(source)
                if src is None or src == block:
                    continue
                flow(src, block, source, self._label_name(src, block, source, marks,
                                                          part_in, part_out), marks)
        for value in self.graph.output:
            source, marks = self.resolve(value.name)
            src = producer.get(source)
            if src is not None:
                out_of = part_out[src].get(source) if 0 <= src < self.n_parts else None
                name = value.name if out_of in (None, value.name) else f"{out_of} → {value.name}"
                # Keyed by the output name too: one tensor may be two outputs.
                flow(src, self.OUT, source + "\0" + value.name, name, marks)

        blocks, index = self._blocks(owner)
        edges = []
        for (src, dst), tensors in flows.items():
            if src not in index or dst not in index:
                continue
            labels = [self._label(src, dst, source.split("\0")[0], name, marks, part_in,
                                  part_out) for source, (name, marks) in tensors.items()]
            edges.append(Edge(index[src], index[dst], labels))
        order = self._drawing_order(blocks, edges, owner, index)
        position = {old: new for new, old in enumerate(order)}
        blocks = [blocks[i] for i in order]
        edges = [Edge(position[e.src], position[e.dst], e.tensors) for e in edges]
        edges.sort(key=lambda e: (e.src, e.dst))
        self._note_unlinked(blocks, edges)
        marks = self._mark_rows(owner, producer, blocks, index, position)
        return PartitionMap(title=title, total_nodes=len(self.graph.node), blocks=blocks,
                            edges=edges, marks=marks)

    def _owners(self) -> List[int]:
        """The block of every compute node: its first partition, else UNCUT."""
        by_key: Dict[Tuple[str, ...], List[int]] = collections.defaultdict(list)
        for i, node in enumerate(self.compute):
            by_key[_node_key(node)].append(i)
        owner = [self.UNCUT] * len(self.compute)
        for p, (_, part) in enumerate(self.partitions):
            taken: Dict[Tuple[str, ...], int] = collections.Counter()
            for node in part.graph.node:
                key = _node_key(node)
                candidates = by_key.get(key, [])
                if taken[key] < len(candidates):
                    i = candidates[taken[key]]
                    taken[key] += 1
                    if owner[i] == self.UNCUT:
                        owner[i] = p
        return owner

    def _partition_io_names(self):
        """Per partition: {marked source tensor: the partition's input name}
        and {marked source tensor: its output name}, through matched nodes."""
        index = {}
        for i, node in enumerate(self.compute):
            index.setdefault(_node_key(node), i)
        part_in: List[Dict[str, str]] = []
        part_out: List[Dict[str, str]] = []
        for _, part in self.partitions:
            ins: Dict[str, str] = {}
            outs: Dict[str, str] = {}
            inits = {t.name for t in part.graph.initializer}
            wanted_in = {v.name for v in part.graph.input if v.name not in inits}
            wanted_out = {v.name for v in part.graph.output}
            for node in part.graph.node:
                i = index.get(_node_key(node))
                if i is None:
                    continue
                original = self.compute[i]
                for k, name in enumerate(node.input):
                    if name in wanted_in and k < len(original.input):
                        ins.setdefault(self.resolve(original.input[k])[0], name)
                for k, name in enumerate(node.output):
                    if name in wanted_out and k < len(original.output):
                        outs.setdefault(original.output[k], name)
            part_in.append(ins)
            part_out.append(outs)
        return part_in, part_out

    def _label_name(self, src, dst, source, marks, part_in, part_out) -> str:
        """The name a deployment wires: the partitions' own I/O names first."""
        into = part_in[dst].get(source) if 0 <= dst < self.n_parts else None
        out_of = part_out[src].get(source) if 0 <= src < self.n_parts else None
        if into and out_of and into != out_of:
            return f"{out_of} → {into}"
        if into or out_of:
            return into or out_of
        if src == self.IN or not marks:
            return source
        # The first mark's name: the one a partition starting there would use.
        return _attr(self.marks[marks[0]], "name", "") or source

    def _label(self, src, dst, source, name, marks, part_in, part_out) -> TensorLabel:
        type_proto = None
        for p, table, io in ((dst, part_in, "input"), (src, part_out, "output")):
            if 0 <= p < self.n_parts and source in table[p]:
                values = self.partitions[p][1].graph.input if io == "input" \
                    else self.partitions[p][1].graph.output
                type_proto = next((v.type for v in values if v.name == table[p][source]), None)
                if type_proto is not None:
                    break
        if type_proto is None and dst == self.OUT:
            type_proto = self.types.get(name)
        if type_proto is None:
            type_proto = self.types.get(source)
        markers = tuple(_marker(self.marks[m]) for m in marks)
        if type_proto is None and marks:
            # The shape the export recorded on the mark.
            return TensorLabel(name, *_mark_type(self.marks[marks[0]]), markers)
        return TensorLabel(name, *_shape_text(type_proto), markers)

    def _blocks(self, owner: List[int]) -> Tuple[List[Block], Dict[int, int]]:
        """The blocks that exist, and each block id's index among them."""
        blocks: List[Block] = []
        index: Dict[int, int] = {}
        graph_inputs = _graph_io(self.graph.input, set(self.inits))
        if graph_inputs:
            index[self.IN] = len(blocks)
            blocks.append(Block(INPUTS, "graph inputs", outputs=graph_inputs))
        for p, (name, part) in enumerate(self.partitions):
            inits = {t.name for t in part.graph.initializer}
            index[p] = len(blocks)
            blocks.append(Block(
                PARTITION, name, nodes=len(part.graph.node),
                op_counts=_op_counts(part.graph.node),
                param_bytes=sum(_tensor_bytes(t) for t in part.graph.initializer),
                inputs=_graph_io(part.graph.input, inits),
                outputs=_graph_io(part.graph.output, set())))
        uncut = [n for n, b in zip(self.compute, owner) if b == self.UNCUT]
        if uncut:
            read = {name for n in uncut for name in n.input if name in self.inits}
            index[self.UNCUT] = len(blocks)
            blocks.append(Block(UNCUT, "not cut", nodes=len(uncut), op_counts=_op_counts(uncut),
                                param_bytes=sum(_tensor_bytes(self.inits[r]) for r in read)))
        if len(self.graph.output):
            index[self.OUT] = len(blocks)
            blocks.append(Block(OUTPUTS, "graph outputs",
                                inputs=_graph_io(self.graph.output, set())))
        return blocks, index

    def _drawing_order(self, blocks, edges, owner, index) -> List[int]:
        """Inputs first, outputs last, the rest in data-flow order: a
        topological order where cycles between blocks (a partition both fed
        by and feeding "not cut") are broken at the block whose first
        data-dependent node comes earliest in the graph."""
        first: Dict[int, int] = {}
        for position, (node, block) in enumerate(zip(self.compute, owner)):
            if block in index and any(node.input):
                first.setdefault(index[block], position)
        middle = [i for i, b in enumerate(blocks) if b.kind in (PARTITION, UNCUT)]
        preds = {i: {e.src for e in edges if e.dst == i and e.src in middle and e.src != i}
                 for i in middle}
        order: List[int] = []
        remaining = list(middle)
        while remaining:
            ready = [i for i in remaining if not preds[i] - set(order)] or remaining
            pick = min(ready, key=lambda i: (first.get(i, len(self.compute)), i))
            order.append(pick)
            remaining.remove(pick)
        head = [i for i, b in enumerate(blocks) if b.kind == INPUTS]
        tail = [i for i, b in enumerate(blocks) if b.kind == OUTPUTS]
        return head + order + tail

    @staticmethod
    def _note_unlinked(blocks: List[Block], edges: List[Edge]) -> None:
        shown = set()
        for e in edges:
            for t in e.tensors:
                shown.update(part.strip() for part in t.name.split("→"))
        for block in blocks:
            if block.kind == PARTITION:
                block.unlinked = [t.name for t in [*block.inputs, *block.outputs]
                                  if t.name not in shown]

    def _mark_rows(self, owner, producer, blocks, index, position) -> List[MarkRow]:
        consumers: Dict[str, Set[int]] = collections.defaultdict(set)
        for node, block in zip(self.compute, owner):
            for name in node.input:
                consumers[name].add(block)
        for value in self.graph.output:
            consumers[value.name].add(self.OUT)

        def final_readers(tensor: str) -> Set[int]:
            """Blocks reading ``tensor``, through any marks after it."""
            readers: Set[int] = set()
            todo, seen = [tensor], {tensor}
            while todo:
                current = todo.pop()
                readers |= consumers.get(current, set())
                for m in self.marks_reading.get(current, ()):
                    nxt = self.marks[m].output[0]
                    if nxt not in seen:
                        seen.add(nxt)
                        todo.append(nxt)
            return readers

        def title(block_id: int) -> str:
            return blocks[position[index[block_id]]].title if block_id in index else "?"

        rows = []
        for mark in self.marks:
            source, _ = self.resolve(mark.output[0])
            src = producer.get(source)
            readers = final_readers(mark.output[0]) - {src}
            if src is None:
                where = "reads no computed tensor"
            elif not readers:
                where = f"inside {title(src)}"
            else:
                where = f"{title(src)} → " + ", ".join(
                    title(r) for r in sorted(readers, key=lambda r: position[index[r]]
                                             if r in index else 0))
            rows.append(MarkRow(_marker(mark), _attr(mark, "name", ""), *_mark_type(mark),
                                where))
        return rows
