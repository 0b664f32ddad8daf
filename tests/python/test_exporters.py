"""Marks through every ONNX exporter the running torch offers (TorchScript-based
on every torch; torch.export-based on torch >= 2.8), and importing the package
changes nothing in torch."""
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

import mmdeploy_mark
from mmdeploy_mark import mark

EXPORTERS = mmdeploy_mark.available_exporters()


class Net(torch.nn.Module):
    """conv → marked body → marked head, called twice → reshape."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        @mark("body", inputs=["input"], outputs=["feat"], level=2, tag="demo", flag=True)
        def body(x):
            return torch.relu(self.conv(x))

        @mark("head", inputs=["maps"], outputs=["out"])
        def head(maps):
            return maps * 2 + 1

        feat = body(x)
        first = head(feat)
        second = head(first[:, :, ::2, ::2])
        return first.reshape(x.shape[0], -1), second.flatten(1)


def export(model, x, exporter, **kwargs):
    buffer = io.BytesIO()
    used = mmdeploy_mark.export(model.eval(), x, buffer, exporter=exporter,
                                input_names=["input"], output_names=["a", "b"], **kwargs)
    assert used["exporter"] == exporter
    return onnx.load_from_string(buffer.getvalue())


def mark_attrs(model):
    return [{a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
            for n in model.graph.node if n.domain == "mmdeploy"]


def dims(value_info):
    return [d.dim_value if d.HasField("dim_value") else d.dim_param
            for d in value_info.type.tensor_type.shape.dim]


def test_importing_the_package_changes_nothing_in_torch():
    code = """
import importlib, torch, torch.onnx.utils
names = ["torch.onnx.utils", "torch.onnx._internal.torchscript_exporter.utils"]
def hooks():
    found = []
    for name in names:
        try:
            found.append(getattr(importlib.import_module(name), "_model_to_graph", None))
        except ImportError:
            found.append(None)
    return found
before = hooks()
import mmdeploy_mark
assert hooks() == before, "import replaced an exporter function"
import io
mmdeploy_mark.export(torch.nn.ReLU(), torch.randn(2), io.BytesIO(), exporter="torchscript")
assert hooks() == before, "export left an exporter function replaced"
print("unchanged")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "unchanged"


# torch's exporter says so for every custom-domain node; mmdeploy_mark.export avoids it.
@pytest.mark.filterwarnings("ignore:The shape inference of mmdeploy..Mark type is missing")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch 2.x: dynamo=False
def test_plain_torch_onnx_export_gives_typed_mark_nodes():
    """Without mmdeploy_mark.export, the TorchScript exporter still writes Mark
    nodes through the registered symbolic, each typed as its input."""
    buffer = io.BytesIO()
    kwargs = {"dynamo": False} if "dynamo" in EXPORTERS else {}
    with torch.no_grad():
        torch.onnx.export(Net().eval(), torch.randn(1, 3, 8, 8), buffer, opset_version=13,
                          custom_opsets={"mmdeploy": 1}, **kwargs)
    model = onnx.load_from_string(buffer.getvalue())
    assert len(mark_attrs(model)) == 6
    onnx.checker.check_model(model, full_check=True)


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_mark_nodes_carry_the_contract_attributes(exporter):
    model = export(Net(), torch.randn(2, 3, 8, 8), exporter)
    attrs = mark_attrs(model)
    assert attrs[0] == {"dtype": onnx.TensorProto.FLOAT, "shape": [2, 3, 8, 8], "func": b"body",
                        "func_id": 0, "type": b"input", "name": b"input", "id": 0,
                        "level": 2, "tag": b"demo", "flag": 1}
    identities = [(a["func"], a["func_id"], a["type"], a["name"], a["shape"]) for a in attrs]
    assert identities == [
        (b"body", 0, b"input", b"input", [2, 3, 8, 8]),
        (b"body", 0, b"output", b"feat", [2, 4, 8, 8]),
        (b"head", 0, b"input", b"maps", [2, 4, 8, 8]),
        (b"head", 0, b"output", b"out", [2, 4, 8, 8]),
        (b"head", 1, b"input", b"maps", [2, 4, 4, 4]),
        (b"head", 1, b"output", b"out", [2, 4, 4, 4])]
    assert ("mmdeploy", 1) in {(o.domain, o.version) for o in model.opset_import}
    onnx.checker.check_model(model, full_check=True)


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_marks_keep_the_shapes_of_the_unmarked_export(exporter):
    axes = {"input": {0: "batch"}, "a": {0: "batch"}, "b": {0: "batch"}}
    marked = export(Net(), torch.randn(2, 3, 8, 8), exporter, dynamic_axes=axes)
    with mmdeploy_mark.RewriterContext(cfg={}):
        plain = export(Net(), torch.randn(2, 3, 8, 8), exporter, dynamic_axes=axes)
    assert len(mark_attrs(marked)) == 6 and not mark_attrs(plain)
    assert [dims(o) for o in marked.graph.output] == [dims(o) for o in plain.graph.output]
    assert dims(marked.graph.output[0])[1:] == [256]
    assert isinstance(dims(marked.graph.output[0])[0], str)  # the batch stays dynamic
    declared = {v.name: dims(v) for v in marked.graph.value_info}
    for node in marked.graph.node:
        if node.domain == "mmdeploy" and node.output[0] in declared:
            assert len(declared[node.output[0]]) == 4


@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("batch", [1, 3])
def test_partition_of_each_export_runs_and_matches_pytorch(exporter, batch, tmp_path):
    model = Net().eval()
    axes = {"input": {0: "batch"}, "a": {0: "batch"}, "b": {0: "batch"}}
    marked = export(model, torch.randn(2, 3, 8, 8), exporter, dynamic_axes=axes)
    part = mmdeploy_mark.extract_partition(
        marked, "body:output", "head[1]:output",
        dynamic_axes={"feat": {0: "batch"}})
    onnx.checker.check_model(part, full_check=True)
    x = torch.randn(batch, 3, 8, 8)
    with torch.no_grad():
        feat = torch.relu(model.conv(x))
        expected = ((feat * 2 + 1)[:, :, ::2, ::2] * 2 + 1)
    session = ort.InferenceSession(part.SerializeToString(), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["feat"]
    (got,) = session.run(None, {"feat": feat.numpy()})
    np.testing.assert_allclose(got, expected.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(not hasattr(torch, "export"), reason="torch.export needs torch >= 2.1")
def test_torch_export_keeps_the_mark_op():
    model = Net().eval()
    x = torch.randn(2, 3, 8, 8)
    program = torch.export.export(model, (x,))
    targets = [n.target for n in program.graph.nodes if n.op == "call_function"]
    assert targets.count(torch.ops.mmdeploy.mark.default) == 6
    torch.testing.assert_close(program.module()(x), model(x))


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_seed_step1_rewriters_mark_the_same_points_with_every_exporter(exporter, seed_rewriters):
    from mmdet.models.detectors.base import BaseDetector

    model = BaseDetector().eval()
    with mmdeploy_mark.RewriterContext(cfg={"partition_config": {"apply_marks": True}},
                                       backend="onnxruntime"):
        buffer = io.BytesIO()
        mmdeploy_mark.export(model, torch.randn(1, 3, 16, 16), buffer, exporter=exporter)
    attrs = mark_attrs(onnx.load_from_string(buffer.getvalue()))
    assert [(a["func"], a["func_id"], a["type"], a["name"]) for a in attrs] == [
        (b"detector_forward", 0, b"input", b"input"),
        (b"yolo_head", 0, b"input", b"pred_maps.0"), (b"yolo_head", 0, b"input", b"pred_maps.1"),
        (b"yolo_head", 0, b"input", b"pred_maps.2"),
        (b"yolo_head", 0, b"output", b"yolo_head.0"), (b"yolo_head", 0, b"output", b"yolo_head.1"),
        (b"yolo_head", 0, b"output", b"yolo_head.2"),
        (b"detector_forward", 0, b"output", b"dets"),
        (b"detector_forward", 0, b"output", b"labels")]


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_cli_strips_cuts_and_checks_what_each_exporter_writes(exporter, tmp_path):
    """The partition pass links the platform's ONNX C++ library (Debian's 1.12,
    IR 8 / opset 17); torch 2.x writes IR 10 and opset 18-20."""
    model_path = tmp_path / "marked.onnx"
    model_path.write_bytes(export(Net(), torch.randn(1, 3, 8, 8), exporter).SerializeToString())
    exe = Path(sys.executable).parent / "mmdeploy-partition"
    for args in (["--strip", "-o", "full.onnx"],
                 ["--start", "body:output", "--end", "head[1]:output", "-o", "part.onnx"]):
        result = subprocess.run([str(exe), "marked.onnx", "--check", *args], cwd=tmp_path,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        written = tmp_path / args[-1]
        onnx.checker.check_model(str(written), full_check=True)
        ort.InferenceSession(str(written), providers=["CPUExecutionProvider"])
