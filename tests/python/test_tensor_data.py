"""Weights are copied, not parsed: single-file models, external data in one or
many files, partitions with data files of their own, and external data that
tries to leave the model's directory."""
import os
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from mmdeploy_mark import partition as P

SIZE = 512  # 1 MiB per weight: well above what stays inline in the pass


def mark(output, tensor, func, io_type):
    node = helper.make_node("Mark", [tensor], [output], domain="mmdeploy", func=func,
                            func_id=0, type=io_type, id=0, dtype=TensorProto.FLOAT,
                            shape=[1, SIZE])
    # "name" is make_node's own keyword (the node's name), so set it apart.
    node.attribute.append(helper.make_attribute("name", tensor))
    return node


def weights():
    rng = np.random.default_rng(0)
    return [rng.standard_normal((SIZE, SIZE)).astype(np.float32) / SIZE for _ in range(2)]


def model():
    """x -> Mark -> MatMul(W1) -> Mark(body:output h) -> MatMul(W2) -> Mark -> y"""
    w1, w2 = weights()
    nodes = [mark("x_m", "x", "net", "input"),
             helper.make_node("MatMul", ["x_m", "w1"], ["h"]),
             mark("h_m", "h", "body", "output"),
             helper.make_node("MatMul", ["h_m", "w2"], ["y_pre"]),
             helper.make_node("Relu", ["y_pre"], ["y"]),
             mark("y_m", "y", "net", "output")]
    graph = helper.make_graph(
        nodes, "weights", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, SIZE])],
        [helper.make_tensor_value_info("y_m", TensorProto.FLOAT, [1, SIZE])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")])
    # IR 8: what every platform's onnxruntime reads (onnx 1.23 would write 14).
    return helper.make_model(graph, ir_version=8,
                             opset_imports=[helper.make_opsetid("", 13),
                                            helper.make_opsetid("mmdeploy", 1)])


def save(model_proto, path, external=None):
    """external: None (single file), "one" (one data file), "each" (a file per tensor)."""
    if external is None:
        onnx.save(model_proto, str(path))
    else:
        onnx.save(model_proto, str(path), save_as_external_data=True,
                  all_tensors_to_one_file=external == "one",
                  location="weights.bin" if external == "one" else None, size_threshold=0)
    return path


def run(path_or_model, feed):
    source = path_or_model if isinstance(path_or_model, (str, Path)) else \
        path_or_model.SerializeToString()
    session = ort.InferenceSession(str(source) if isinstance(source, Path) else source,
                                   providers=["CPUExecutionProvider"])
    return session.run(None, feed)[0]


def expected_second_half(x):
    w1, w2 = weights()
    return np.maximum((x @ w1) @ w2, 0)


@pytest.mark.parametrize("external", [None, "one", "each"])
def test_partition_written_from_each_storage_runs_and_matches(tmp_path, external):
    src = tmp_path / "src"
    src.mkdir()
    path = save(model(), src / "marked.onnx", external)
    out_dir = tmp_path / "elsewhere"
    out_dir.mkdir()
    out = out_dir / "part.onnx"
    P.extract_partition(str(path), "net:input", "net:output", save_file=out)
    written = sorted(p.name for p in out_dir.iterdir())
    # Inputs with external data give the partition a data file of its own;
    # single-file inputs stay single files. No location of the input is reused.
    assert written == (["part.onnx"] if external is None else ["part.onnx", "part.onnx.data"])
    part = onnx.load(str(out), load_external_data=False)
    for init in part.graph.initializer:
        locations = [e.value for e in init.external_data if e.key == "location"]
        assert locations == ([] if external is None else ["part.onnx.data"])
        assert not any(e.key.startswith("mmdeploy") for e in init.external_data)
    onnx.checker.check_model(str(out), full_check=True)
    x = np.random.default_rng(1).standard_normal((1, SIZE)).astype(np.float32)
    np.testing.assert_allclose(run(out, {"x": x}), expected_second_half(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("external", [None, "one"])
def test_returned_partition_holds_its_weights(tmp_path, external):
    path = save(model(), tmp_path / "marked.onnx", external)
    part = P.extract_partition(str(path), "body:output", "net:output")
    (w2,) = [numpy_helper.to_array(i) for i in part.graph.initializer]
    np.testing.assert_array_equal(w2, weights()[1])
    h = np.random.default_rng(2).standard_normal((1, SIZE)).astype(np.float32)
    np.testing.assert_allclose(run(part, {"h": h}), np.maximum(h @ weights()[1], 0),
                               rtol=1e-4, atol=1e-5)


def test_strip_marks_of_external_data_writes_its_own_data_file(tmp_path):
    path = save(model(), tmp_path / "marked.onnx", "one")
    out = tmp_path / "out" / "full.onnx"
    out.parent.mkdir()
    P.strip_marks(str(path), save_file=out)
    assert sorted(p.name for p in out.parent.iterdir()) == ["full.onnx", "full.onnx.data"]
    onnx.checker.check_model(str(out), full_check=True)
    x = np.ones((1, SIZE), np.float32)
    np.testing.assert_allclose(run(out, {"x": x}), expected_second_half(x), rtol=1e-4, atol=1e-5)


def external_model(tmp_path, location, offset=None, length=None):
    """marked.onnx in tmp_path/model whose w1 lives at `location`."""
    model_dir = tmp_path / "model"
    model_dir.mkdir(exist_ok=True)
    proto = model()
    w1 = proto.graph.initializer[0]
    data = w1.raw_data
    w1.ClearField("raw_data")
    w1.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", offset), ("length", length)):
        if value is not None:
            w1.external_data.add(key=key, value=str(value))
    onnx.save(proto, str(model_dir / "marked.onnx"))
    return model_dir / "marked.onnx", data


@pytest.mark.parametrize("case, message", [
    ("absolute", "absolute location"),
    ("parent", "leaves the model's directory"),
    ("symlink", "outside the model's directory"),
    ("hardlink", "other hard links"),
    ("offset", "past the end"),
    ("length", "past the end"),
    ("directory", "not a regular file"),
    ("missing", "cannot be opened"),
])
def test_external_data_outside_the_rules_is_refused_before_anything_is_written(
        tmp_path, case, message):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"\0" * (SIZE * SIZE * 4))
    location, offset, length = {
        "absolute": (str(secret), None, None),
        "parent": ("../secret.bin", None, None),
        "symlink": ("link.bin", None, None),
        "hardlink": ("hard.bin", None, None),
        "offset": ("w1.bin", SIZE * SIZE * 4 + 1, None),
        "length": ("w1.bin", 4, SIZE * SIZE * 4),
        "directory": ("sub", None, None),
        "missing": ("nothing.bin", None, None),
    }[case]
    path, data = external_model(tmp_path, location, offset, length)
    model_dir = path.parent
    (model_dir / "w1.bin").write_bytes(data)
    (model_dir / "sub").mkdir()
    os.symlink(secret, model_dir / "link.bin")
    os.link(secret, model_dir / "hard.bin")
    out = tmp_path / "out.onnx"
    with pytest.raises(P.MalformedModelError, match=message):
        P.extract_partition(str(path), "net:input", "net:output", save_file=out)
    assert not out.exists()


def test_external_data_inside_the_directory_is_read_wherever_the_process_runs(
        tmp_path, monkeypatch):
    path, data = external_model(tmp_path, "w1.bin")
    (path.parent / "w1.bin").write_bytes(data)
    monkeypatch.chdir("/")
    part = P.extract_partition(str(path), "net:input", "body:output")
    np.testing.assert_array_equal(numpy_helper.to_array(part.graph.initializer[0]), weights()[0])
