"""Mark nodes from the TorchScript-based exporter (every torch has it):
attributes, shapes, apply_marks. The torch.export-based exporter is covered
by test_dynamo_export.py, and both side by side by test_exporters.py."""
import io
import warnings
from pathlib import Path

import onnx
import onnx.shape_inference
import pytest
import torch

import mmdeploy_mark
from mmdeploy_mark import RewriterContext, mark

APPLY_MARKS = {"partition_config": {"apply_marks": True}}


def export(model, args, **kwargs):
    buffer = io.BytesIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mmdeploy_mark.export(model, args, buffer, exporter="torchscript", opset_version=11,
                             **kwargs)
    shape_warnings = [str(w.message) for w in caught if "shape inference" in str(w.message)]
    assert not shape_warnings, shape_warnings
    return onnx.load_from_string(buffer.getvalue())


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def marks_of(model):
    return [n for n in model.graph.node if n.domain == "mmdeploy"]


class Net(torch.nn.Module):
    """conv → marked head(list of two maps) → reshape: shapes flow past marks."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        @mark("body", inputs=["input"], outputs=["feat"], level=2, tag="demo")
        def body(x):
            return torch.relu(self.conv(x))

        @mark("head", inputs=["maps"])
        def head(maps):
            return [m * 2 for m in maps]

        feat = body(x)
        maps = head([feat, feat[:, :, ::2, ::2]])
        return maps[0].reshape(x.shape[0], -1), maps[1].flatten(1)


def test_mark_nodes_carry_exactly_the_contract_attributes():
    with RewriterContext(cfg=APPLY_MARKS):
        model = export(Net(), torch.randn(2, 3, 8, 8))
    marks = marks_of(model)
    assert [n.op_type for n in marks] == ["Mark"] * 6
    assert attrs(marks[0]) == {
        "dtype": onnx.TensorProto.FLOAT, "shape": [2, 3, 8, 8], "func": b"body",
        "func_id": 0, "type": b"input", "name": b"input", "id": 0,
        "level": 2, "tag": b"demo"}
    names = [(attrs(n)["func"], attrs(n)["type"], attrs(n)["name"], attrs(n)["id"]) for n in marks]
    assert names == [
        (b"body", b"input", b"input", 0), (b"body", b"output", b"feat", 0),
        (b"head", b"input", b"maps.0", 0), (b"head", b"input", b"maps.1", 1),
        (b"head", b"output", b"head.0", 0), (b"head", b"output", b"head.1", 1)]
    assert attrs(marks[3])["shape"] == [2, 4, 4, 4]
    assert {(o.domain, o.version) for o in model.opset_import} >= {("mmdeploy", 1), ("", 11)}


def test_marked_model_passes_full_check_and_strict_shape_inference():
    with RewriterContext(cfg=APPLY_MARKS):
        model = export(Net(), torch.randn(1, 3, 8, 8))
    onnx.checker.check_model(model, full_check=True)
    onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)


def tensor_types(model):
    """Type of every node output after ONNX shape inference (the exporter's
    own output types for graph outputs), in node order, Mark nodes left out."""
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    types = {v.name: v.type.tensor_type for v in list(model.graph.value_info) + list(model.graph.output)}
    result = []
    for node in model.graph.node:
        if node.domain == "mmdeploy":
            continue
        for out in node.output:
            t = types.get(out)
            dims = None if t is None else [
                d.dim_value if d.HasField("dim_value") else "?" for d in t.shape.dim]
            result.append((node.op_type, None if t is None else t.elem_type, dims))
    return result


def tensor_types_of_outputs(model):
    return [(o.type.tensor_type.elem_type,
             [d.dim_value if d.HasField("dim_value") else "?" for d in o.type.tensor_type.shape.dim])
            for o in model.graph.output]


@pytest.mark.parametrize("dynamic_axes", [None, {"input": {0: "batch"}},
                                          {"input": {0: "batch", 2: "h", 3: "w"}}])
def test_every_tensor_keeps_the_shape_of_the_unmarked_export(dynamic_axes):
    args = dict(input_names=["input"], dynamic_axes=dynamic_axes)
    with RewriterContext(cfg=APPLY_MARKS):
        marked = export(Net(), torch.randn(2, 3, 8, 8), **args)
    with RewriterContext(cfg={}):
        plain = export(Net(), torch.randn(2, 3, 8, 8), **args)
    assert not marks_of(plain)
    assert len(marks_of(marked)) == 6
    plain_types = tensor_types(plain)
    assert all(t[2] is not None for t in plain_types)
    assert tensor_types(marked) == plain_types
    # The exporter's own output types, before any ONNX shape inference.
    assert [tensor_types_of_outputs(m) for m in (marked, plain)] == [
        tensor_types_of_outputs(plain)] * 2


def test_marks_are_exported_outside_any_context():
    model = export(Net(), torch.randn(1, 3, 8, 8))
    assert len(marks_of(model)) == 6


@pytest.mark.parametrize("cfg", [{}, {"partition_config": {"apply_marks": False}},
                                 {"partition_config": {"type": "x"}}])
def test_no_marks_inside_a_context_without_apply_marks(cfg):
    with RewriterContext(cfg=cfg):
        model = export(Net(), torch.randn(1, 3, 8, 8))
    assert not marks_of(model)
    assert "mmdeploy" not in {o.domain for o in model.opset_import}


def test_apply_marks_holds_for_raw_op_calls():
    class Raw(torch.nn.Module):
        def forward(self, x):
            return torch.ops.mmdeploy.mark(x + 1, "raw", 0, "output", "y", 0) * 2

    with RewriterContext(cfg={}):
        assert not marks_of(export(Raw(), torch.randn(3)))
    with RewriterContext(cfg=APPLY_MARKS):
        assert len(marks_of(export(Raw(), torch.randn(3)))) == 1


def test_traced_and_scripted_modules_export_their_marks():
    class Scripted(torch.nn.Module):
        def forward(self, x):
            y = torch.ops.mmdeploy.mark(x, "s", 0, "input", "x", 0, "{}")
            return torch.ops.mmdeploy.mark(y.sigmoid(), "s", 0, "output", "y", 0, "{}")

    scripted = torch.jit.script(Scripted())
    traced = torch.jit.trace(Net(), torch.randn(1, 3, 8, 8))
    for module, args, count in [(scripted, torch.randn(2, 5), 2), (traced, torch.randn(1, 3, 8, 8), 6)]:
        model = export(module, args)
        assert len(marks_of(model)) == count
        onnx.checker.check_model(model, full_check=True)
    scripted_model = export(scripted, torch.randn(2, 5))
    assert attrs(marks_of(scripted_model)[1])["shape"] == [2, 5]


def test_a_mark_on_a_parameter_is_kept():
    class MarksWeight(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(3))

        def forward(self, x):
            return x * torch.ops.mmdeploy.mark(self.w, "w", 0, "input", "w", 0)

    model = export(MarksWeight(), torch.randn(3))
    assert [n.input[0] for n in marks_of(model)] == ["w"]


def test_seed_step1_code_runs_with_only_its_import_changed(seed_rewriters):
    from mmdet.models.detectors.base import BaseDetector

    model = BaseDetector().eval()
    img = torch.randn(1, 3, 16, 16)
    expected = model(img)
    with RewriterContext(cfg=APPLY_MARKS, backend="onnxruntime"):
        torch.testing.assert_close(model(img), expected)
    with RewriterContext(cfg=APPLY_MARKS, backend="onnxruntime"):
        exported = export(model, img)
    markers = [(attrs(n)["func"].decode(), attrs(n)["type"].decode(), attrs(n)["name"].decode())
               for n in marks_of(exported)]
    assert markers == [
        ("detector_forward", "input", "input"),
        ("yolo_head", "input", "pred_maps.0"), ("yolo_head", "input", "pred_maps.1"),
        ("yolo_head", "input", "pred_maps.2"),
        ("yolo_head", "output", "yolo_head.0"), ("yolo_head", "output", "yolo_head.1"),
        ("yolo_head", "output", "yolo_head.2"),
        ("detector_forward", "output", "dets"), ("detector_forward", "output", "labels")]
    assert all(attrs(n)["func_id"] == 0 for n in marks_of(exported))


class TwoMarksOnTheInput(torch.nn.Module):
    def forward(self, x):
        m = torch.ops.mmdeploy.mark
        y = m(m(x, "outer", 0, "input", "img", 0), "inner", 0, "input", "img", 0)
        return y * 2, x.shape[0] * torch.ones(1)


def test_marks_on_a_model_input_chain_in_call_order_and_every_use_reads_them():
    model = export(TwoMarksOnTheInput(), torch.randn(2, 3), input_names=["input"],
                   dynamic_axes={"input": {0: "batch"}})
    onnx.checker.check_model(model, full_check=True)
    outer, inner = marks_of(model)
    assert (attrs(outer)["func"], attrs(inner)["func"]) == (b"outer", b"inner")
    assert outer.input == ["input"] and inner.input == [outer.output[0]]
    readers = [n for n in model.graph.node if n.domain != "mmdeploy" and "input" in n.input]
    assert readers == []  # the Shape of x reads the marks too (they are identities)


def test_a_marked_input_returned_as_is_keeps_the_output_name():
    class Echo(torch.nn.Module):
        def forward(self, x):
            return torch.ops.mmdeploy.mark(x, "echo", 0, "input", "x", 0)

    model = export(Echo(), torch.randn(4), input_names=["x"], output_names=["y"])
    onnx.checker.check_model(model, full_check=True)
    assert [o.name for o in model.graph.output] == ["y"]
    # The exporter's own Identity for "input used as output" reads the mark.
    mark, identity = model.graph.node
    assert (mark.op_type, mark.input[0]) == ("Mark", "x")
    assert (identity.op_type, identity.input[0]) == ("Identity", mark.output[0])


def test_script_module_inputs_are_marked_in_place():
    class Scripted(torch.nn.Module):
        def forward(self, x):
            return torch.ops.mmdeploy.mark(x, "s", 0, "input", "x", 0, "{}") + 1

    model = export(torch.jit.script(Scripted()), torch.randn(2))
    assert [n.op_type for n in model.graph.node][0] == "Mark"


def shape_known(dims):
    return dims is not None and dims != []


@pytest.mark.parametrize("dynamic_axes", [None, {"input": {0: "batch", 2: "h", 3: "w"}}])
def test_example_detector_marks_lose_no_shape_information(dynamic_axes):
    from mmdeploy_mark.custom_imports import import_custom_modules
    from mmdeploy_mark.models.builder import build_model

    model_cfg = mmdeploy_mark.load_config(Path(__file__).resolve().parents[2] /
                                          "examples/yolov3/configs/yolov3_d53_tiny.py")
    import_custom_modules(model_cfg)  # the example's rewriters
    model = build_model(model_cfg)
    exports = {}
    for name, cfg in [("marked", APPLY_MARKS), ("plain", {})]:
        with RewriterContext(cfg=cfg):
            exports[name] = export(model, torch.randn(1, 3, 64, 64), input_names=["input"],
                                   output_names=["dets", "labels"], dynamic_axes=dynamic_axes)
    marked, plain = exports["marked"], exports["plain"]
    assert len(marks_of(marked)) == 13 and not marks_of(plain)
    # What the exporter declares is the same.
    assert tensor_types_of_outputs(marked) == tensor_types_of_outputs(plain)
    # Every Mark output is declared with its full rank and static dims, and a
    # dim name is shared between tensors only if it is a model input's axis.
    declared = {v.name: v.type.tensor_type for v in marked.graph.value_info}
    declared.update({v.name: v.type.tensor_type for v in marked.graph.output})
    input_axes = set((dynamic_axes or {}).get("input", {}).values())
    owners = {}
    for node in marks_of(marked):
        t = declared[node.output[0]]
        traced = attrs(node)["shape"]
        assert len(t.shape.dim) == len(traced), attrs(node)["name"]
        for d, size in zip(t.shape.dim, traced):
            if d.HasField("dim_value"):
                assert d.dim_value == size
            else:
                assert dynamic_axes is not None
                owners.setdefault(d.dim_param, set()).add(node.output[0])
    shared = {name for name, tensors in owners.items() if len(tensors) > 1}
    assert shared <= input_axes, shared
    # Tensor by tensor, no shape known without marks is unknown with them.
    for (op, _, dims_marked), (_, _, dims_plain) in zip(tensor_types(marked), tensor_types(plain)):
        if shape_known(dims_plain) and op not in ("Where",):
            assert shape_known(dims_marked) and len(dims_marked) == len(dims_plain), op
