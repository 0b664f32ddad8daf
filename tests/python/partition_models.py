"""Marked ONNX models for the partition tests, built with onnx.helper.

Each builder returns a model whose ``mmdeploy::Mark`` nodes carry the
attributes of the contract (dtype, shape, func, func_id, type, name, id), as
the mark op's exporter writes them, plus pure-Python reference helpers: a
Mark is an identity, so ``marks_as_identity`` gives a model onnxruntime can
run, and ``reference_node_types`` computes mmdeploy's partition node set.
"""
from __future__ import annotations

import collections
from typing import Dict, Iterable, List, Sequence, Tuple

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
MARK_DOMAIN = "mmdeploy"
FLOAT = TensorProto.FLOAT
INT64 = TensorProto.INT64


class GraphBuilder:
    """Collects nodes, initializers and graph inputs/outputs of one graph."""

    def __init__(self, seed: int = 0):
        self.nodes: List[onnx.NodeProto] = []
        self.initializers: List[onnx.TensorProto] = []
        self.inputs: List[onnx.ValueInfoProto] = []
        self.outputs: List[onnx.ValueInfoProto] = []
        self.rng = np.random.default_rng(seed)
        self._count = collections.Counter()

    def fresh(self, stem: str) -> str:
        self._count[stem] += 1
        return f"{stem}_{self._count[stem]}"

    def input(self, name: str, shape: Sequence, dtype: int = FLOAT) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, dtype, shape))
        return name

    def output(self, name: str, shape: Sequence, dtype: int = FLOAT) -> str:
        self.outputs.append(helper.make_tensor_value_info(name, dtype, shape))
        return name

    def weight(self, stem: str, shape: Sequence[int]) -> str:
        name = self.fresh(stem)
        value = self.rng.standard_normal(shape).astype(np.float32) * 0.5
        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def const(self, stem: str, values: Sequence[int]) -> str:
        name = self.fresh(stem)
        self.initializers.append(
            numpy_helper.from_array(np.asarray(values, np.int64), name))
        return name

    def node(self, op: str, inputs: Sequence[str], out: str = "",
             **attrs) -> str:
        out = out or self.fresh(op.lower())
        self.nodes.append(
            helper.make_node(op, list(inputs), [out], name=self.fresh(op),
                             **attrs))
        return out

    def mark(self, tensor: str, *, func: str, type: str, name: str,
             shape: Sequence[int], id: int = 0, func_id: int = 0,
             dtype: int = FLOAT, out: str = "") -> str:
        """Appends mmdeploy::Mark(tensor); returns the tensor it produces."""
        out = out or self.fresh("mark_out")
        node = helper.make_node(
            "Mark", [tensor], [out], name=self.fresh("Mark"),
            domain=MARK_DOMAIN, dtype=dtype, shape=list(shape), func=func,
            func_id=func_id, type=type, id=id)
        # "name" clashes with make_node's node-name argument.
        node.attribute.append(helper.make_attribute("name", name))
        self.nodes.append(node)
        return out

    def model(self, graph_name: str) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, graph_name, self.inputs,
                                  self.outputs, self.initializers)
        model = helper.make_model(
            graph, producer_name="partition_models",
            opset_imports=[helper.make_opsetid("", OPSET),
                           helper.make_opsetid(MARK_DOMAIN, 1)])
        model.ir_version = 8
        return model


def chain_model() -> onnx.ModelProto:
    """input -> Mark -> Conv -> Relu -> Mark(feat) -> Conv -> Sigmoid -> Mark.

    Markers: detector_forward:input (input), backbone:output (feat),
    detector_forward:output (dets, also the graph output's name).
    """
    b = GraphBuilder(seed=1)
    x = b.input("input", [1, 3, 8, 8])
    x = b.mark(x, func="detector_forward", type="input", name="input",
               shape=[1, 3, 8, 8])
    y = b.node("Conv", [x, b.weight("w", [4, 3, 3, 3]), b.weight("b", [4])],
               pads=[1, 1, 1, 1])
    y = b.node("Relu", [y])
    y = b.mark(y, func="backbone", type="output", name="feat",
               shape=[1, 4, 8, 8])
    y = b.node("Conv", [y, b.weight("w", [2, 4, 1, 1])])
    y = b.node("Sigmoid", [y])
    b.mark(y, func="detector_forward", type="output", name="dets",
           shape=[1, 2, 8, 8], out="dets")
    b.output("dets", [1, 2, 8, 8])
    return b.model("chain")


YOLO_PRED_SHAPES = [(1, 3, 8, 8), (1, 3, 4, 4), (1, 3, 2, 2)]


def yolo_model() -> onnx.ModelProto:
    """A YOLOv3-like detector: backbone, three pred_maps, post-processing.

    Markers: detector_forward:input (input), yolo_head:input (pred_maps.0,
    pred_maps.1, pred_maps.2: one function, ids 0..2), detector_forward:output
    (dets float, labels int64). The post-processing flattens each map with a
    shape-computing subgraph (Shape -> Slice -> Concat -> Reshape), so it
    works for any batch size.
    """
    b = GraphBuilder(seed=2)
    x = b.input("input", [1, 3, 8, 8])
    x = b.mark(x, func="detector_forward", type="input", name="input",
               shape=[1, 3, 8, 8])
    s = b.node("Conv", [x, b.weight("w", [4, 3, 3, 3]), b.weight("b", [4])],
               pads=[1, 1, 1, 1])
    s = b.node("Relu", [s])
    start = b.const("start", [0])
    end = b.const("end", [1])
    minus_one = b.const("minus_one", [-1])
    flats = []
    for i, shape in enumerate(YOLO_PRED_SHAPES):
        stride = 8 // shape[2]
        p = b.node("Conv", [s, b.weight("w", [3, 4, 1, 1])],
                   strides=[stride, stride])
        p = b.mark(p, func="yolo_head", type="input", name=f"pred_maps.{i}",
                   id=i, shape=list(shape))
        batch = b.node("Slice", [b.node("Shape", [p]), start, end])
        target = b.node("Concat", [batch, minus_one], axis=0)
        flats.append(b.node("Reshape", [p, target]))
    scores = b.node("Sigmoid", [b.node("Concat", flats, axis=1)])
    dets = b.node("ReduceMax", [scores], axes=[1], keepdims=0)
    labels = b.node("ArgMax", [scores], axis=1, keepdims=0)
    b.mark(dets, func="detector_forward", type="output", name="dets", id=0,
           shape=[1], out="dets")
    b.mark(labels, func="detector_forward", type="output", name="labels",
           id=1, shape=[1], dtype=INT64, out="labels")
    b.output("dets", [1])
    b.output("labels", [1], INT64)
    return b.model("yolo")


def two_stage_model() -> onnx.ModelProto:
    """A two-stage-like detector with a graph input no mark covers.

    img -> Mark -> backbone -> Mark(backbone:output, feat) -> rpn ->
    Mark(rpn_head:output, rois); roi extractor called twice (func_id 0 and 1,
    both outputs named roi_feats); bbox head -> Mul(scale_factor) ->
    Mark(detector_forward:output, dets). ``scale_factor`` is a second graph
    input read only by the bbox head.
    """
    b = GraphBuilder(seed=3)
    img = b.input("img", [1, 3, 8, 8])
    scale = b.input("scale_factor", [1])
    x = b.mark(img, func="detector_forward", type="input", name="img",
               shape=[1, 3, 8, 8])
    f = b.node("Conv", [x, b.weight("w", [4, 3, 3, 3]), b.weight("b", [4])],
               pads=[1, 1, 1, 1])
    f = b.node("Relu", [f])
    f = b.mark(f, func="backbone", type="output", name="feat",
               shape=[1, 4, 8, 8])
    r = b.node("Sigmoid", [b.node("Conv", [f, b.weight("w", [1, 4, 1, 1])])])
    r = b.mark(r, func="rpn_head", type="output", name="rois",
               shape=[1, 1, 8, 8])
    one = b.weight("one", [1])
    roi_feats = []
    for func_id, mask in enumerate([r, b.node("Sub", [one, r])]):
        rf = b.node("MaxPool", [b.node("Mul", [f, mask])], kernel_shape=[2, 2],
                    strides=[2, 2])
        roi_feats.append(
            b.mark(rf, func="roi_extractor", func_id=func_id, type="output",
                   name="roi_feats", shape=[1, 4, 4, 4]))
    h = b.node("GlobalAveragePool", [b.node("Add", roi_feats)])
    h = b.node("Flatten", [h], axis=1)
    h = b.node("Add", [b.node("MatMul", [h, b.weight("w", [4, 5])]),
                       b.weight("b", [5])])
    h = b.node("Mul", [h, scale])
    b.mark(h, func="detector_forward", type="output", name="dets",
           shape=[1, 5], out="dets")
    b.output("dets", [1, 5])
    return b.model("two_stage")


# --- references ---------------------------------------------------------------


def is_mark(node: onnx.NodeProto) -> bool:
    return node.domain == MARK_DOMAIN and node.op_type == "Mark"


def mark_attrs(node: onnx.NodeProto) -> Dict[str, object]:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def marks_as_identity(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model with every Mark turned into an Identity (a Mark is one), so
    onnxruntime can run it as the reference of the stripped model."""
    result = onnx.ModelProto()
    result.CopyFrom(model)
    for node in result.graph.node:
        if is_mark(node):
            node.op_type, node.domain = "Identity", ""
            del node.attribute[:]
    opsets = [o for o in result.opset_import if o.domain != MARK_DOMAIN]
    del result.opset_import[:]
    result.opset_import.extend(opsets)
    return result


def parse_marker(marker: str) -> Tuple[str, int, str]:
    func, _, type_ = marker.rpartition(":")
    func_id = 0
    if func.endswith("]"):
        func, _, id_text = func[:-1].partition("[")
        func_id = int(id_text)
    return func, func_id, type_


def select_marks(model: onnx.ModelProto,
                 markers: Iterable[str]) -> List[onnx.NodeProto]:
    wanted = [parse_marker(m) for m in markers]
    selected = []
    for func, func_id, type_ in wanted:
        for node in model.graph.node:
            if not is_mark(node):
                continue
            a = mark_attrs(node)
            if (a["func"].decode(), a["func_id"], a["type"].decode()) == (
                    func, func_id, type_):
                selected.append(node)
    return selected


def reference_node_types(model: onnx.ModelProto, start: Sequence[str],
                         end: Sequence[str]) -> collections.Counter:
    """mmdeploy's partition node set, as a multiset of op types: the nodes
    reached walking back from the end marks' outputs, stopping at the start
    marks' inputs, without Mark nodes (onnx.utils.Extractor's walk)."""
    stop = {n.input[0] for n in select_marks(model, start)}
    wanted = [n.output[0] for n in select_marks(model, end)]
    producer = {out: node for node in model.graph.node for out in node.output}
    seen_tensors, nodes = set(), {}
    while wanted:
        tensor = wanted.pop()
        if tensor in seen_tensors or tensor in stop:
            continue
        seen_tensors.add(tensor)
        node = producer.get(tensor)
        if node is None:
            continue
        nodes[id(node)] = node
        wanted.extend(node.input)
    return collections.Counter(n.op_type for n in nodes.values()
                               if not is_mark(n))


def graph_input_names(model: onnx.ModelProto) -> List[str]:
    initializers = {t.name for t in model.graph.initializer}
    return [v.name for v in model.graph.input if v.name not in initializers]


def graph_output_names(model: onnx.ModelProto) -> List[str]:
    return [v.name for v in model.graph.output]


def random_inputs(model: onnx.ModelProto, batch: int = None,
                  seed: int = 0) -> Dict[str, np.ndarray]:
    """Random float inputs for every graph input, from its static shape;
    ``batch`` replaces the first dim (also a symbolic one)."""
    rng = np.random.default_rng(seed)
    initializers = {t.name for t in model.graph.initializer}
    feeds = {}
    for value in model.graph.input:
        if value.name in initializers:
            continue
        dims = []
        for i, dim in enumerate(value.type.tensor_type.shape.dim):
            if i == 0 and batch is not None:
                dims.append(batch)
            else:
                assert dim.HasField("dim_value"), (value.name, dim)
                dims.append(dim.dim_value)
        feeds[value.name] = rng.standard_normal(dims).astype(np.float32)
    return feeds
