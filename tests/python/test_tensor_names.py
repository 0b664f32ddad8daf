"""Cuts at tensor names (issue 11): any ONNX model, marks optional.

The partition pass must give, on the same tensor names, the answer of
onnx.utils.extract_model: the same node multiset, inputs, outputs and
initializers, a model that passes onnx.checker's full check, and the same
onnxruntime outputs. The models are exported without marks from small
torch modules (ResNet-like, ViT-like) and built with onnx.helper; the cuts
are random pairs of tensor names drawn with a fixed seed.
"""
from __future__ import annotations

import collections
import io
import pathlib
import random
import subprocess
import sys
from typing import Dict, List, Optional, Sequence, Set

import numpy as np
import onnx
import onnx.utils
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

import mmdeploy_mark
import partition_models as pm
from mmdeploy_mark import partition as P
from mmdeploy_mark.config import resolve_partition_cfg
from mmdeploy_mark.exit_codes import EXIT_MARKER, EXIT_PARTITION

ort = pytest.importorskip("onnxruntime")

EXE = pathlib.Path(sys.executable).parent / "mmdeploy-partition"
CUTS_PER_MODEL = 6


# --- models -------------------------------------------------------------------


class BasicBlock(torch.nn.Module):
    def __init__(self, channels: int, stride: int = 1):
        super().__init__()
        out = channels * stride
        self.conv1 = torch.nn.Conv2d(channels, out, 3, stride, 1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(out)
        self.conv2 = torch.nn.Conv2d(out, out, 3, 1, 1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(out)
        self.down = None
        if stride != 1:
            self.down = torch.nn.Sequential(
                torch.nn.Conv2d(channels, out, 1, stride, bias=False),
                torch.nn.BatchNorm2d(out))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        skip = x if self.down is None else self.down(x)
        return torch.relu(y + skip)


class TinyResNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, 2, 1, bias=False),
            torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
            torch.nn.MaxPool2d(2))
        self.layer1 = BasicBlock(8)
        self.layer2 = BasicBlock(8, stride=2)
        self.fc = torch.nn.Linear(16, 10)

    def forward(self, x):
        x = self.layer2(self.layer1(self.stem(x)))
        return self.fc(torch.flatten(torch.mean(x, dim=(2, 3)), 1))


# Shapes are Python ints, not read from tensors, so that the export's
# Reshapes take constant shapes and onnx's shape inference (which
# onnx.utils.extract_model runs, without data propagation) types every
# tensor: the reference then finishes on every cut.
TOKENS = 17


class Attention(torch.nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.dim = dim
        self.qkv = torch.nn.Linear(dim, dim * 3)
        self.proj = torch.nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = 1, TOKENS, self.dim
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        attn = (q @ k.transpose(-2, -1)) * (c // self.heads) ** -0.5
        x = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(x)


class Block(torch.nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.norm1 = torch.nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = torch.nn.LayerNorm(dim)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(dim, dim * 2),
                                       torch.nn.GELU(),
                                       torch.nn.Linear(dim * 2, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class TinyViT(torch.nn.Module):
    def __init__(self, dim: int = 16, patch: int = 8, image: int = 32):
        super().__init__()
        self.patch = torch.nn.Conv2d(3, dim, patch, patch)
        self.cls = torch.nn.Parameter(torch.randn(1, 1, dim))
        self.pos = torch.nn.Parameter(torch.randn(1, (image // patch) ** 2 + 1,
                                                  dim))
        self.blocks = torch.nn.Sequential(Block(dim, 2), Block(dim, 2))
        self.norm = torch.nn.LayerNorm(dim)
        self.head = torch.nn.Linear(dim, 5)

    def forward(self, x):
        x = self.patch(x).reshape(1, self.cls.shape[2], TOKENS - 1)
        x = torch.cat([self.cls, x.transpose(1, 2)], dim=1)
        x = self.blocks(x + self.pos)
        return self.head(self.norm(x)[:, 0])


def export_torch(module: torch.nn.Module, shape, path: pathlib.Path) -> str:
    torch.manual_seed(0)
    module.eval()
    # BatchNorm statistics that are not the identity.
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    mmdeploy_mark.export(module, torch.randn(*shape), str(path),
                         exporter="torchscript", opset_version=13,
                         input_names=["input"], output_names=["output"])
    return str(path)


def helper_model(path: pathlib.Path) -> str:
    """Two inputs, a diamond and a shared weight; no value_info at all, so
    the pass must find the boundary types itself."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((4, 4)).astype(np.float32),
                                "w")
    b = numpy_helper.from_array(rng.standard_normal((4,)).astype(np.float32),
                                "b")
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["xw"], name="mm_x"),
        helper.make_node("Add", ["xw", "b"], ["h"], name="add_b"),
        helper.make_node("Relu", ["h"], ["r"], name="relu"),
        helper.make_node("Sigmoid", ["h"], ["s"], name="sigmoid"),
        helper.make_node("Mul", ["r", "s"], ["m"], name="mul"),
        helper.make_node("MatMul", ["y", "w"], ["yw"], name="mm_y"),
        helper.make_node("Add", ["m", "yw"], ["z"], name="add_y"),
        helper.make_node("Tanh", ["z"], ["out"], name="tanh"),
        helper.make_node("Exp", ["m"], ["aux"], name="exp"),
    ]
    graph = helper.make_graph(
        nodes, "diamond",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4]),
         helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [2, 4]),
         helper.make_tensor_value_info("aux", TensorProto.FLOAT, [2, 4])],
        [w, b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.save(model, str(path))
    return str(path)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Dict[str, str]:
    directory = tmp_path_factory.mktemp("tensor_names")
    return {
        "resnet": export_in_fresh_process("TinyResNet", directory / "resnet.onnx"),
        "vit": export_in_fresh_process("TinyViT", directory / "vit.onnx"),
        "helper": helper_model(directory / "helper.onnx"),
    }


def export_in_fresh_process(module: str, path: pathlib.Path) -> str:
    """The same weights whatever ran before in this process: they depend on
    the RNG state when the module is built. (The exported graph is the same
    either way; what differed after a torch2onnx run were the random cuts,
    through id() in walk, and one of them hit a pass bug since fixed.)"""
    code = (f"import sys; sys.path.insert(0, {str(pathlib.Path(__file__).parent)!r}); "
            f"import torch; torch.manual_seed(0); import test_tensor_names as t; "
            f"t.export_torch(t.{module}(), (1, 3, 32, 32), t.pathlib.Path({str(path)!r}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    return str(path)


# --- random cuts --------------------------------------------------------------


def walk(graph: onnx.GraphProto, outputs: Sequence[str], inputs: Set[str]):
    """(indices of the nodes reached, inputs reached, graph inputs reached)
    walking back. Nodes are told apart by index: id() of protobuf's Python
    wrappers is not stable across iterations, which made the cuts depend on
    memory layout (and on what ran before in the process)."""
    producer = {o: k for k, n in enumerate(graph.node) for o in n.output}
    inits = {i.name for i in graph.initializer}
    graph_inputs = {i.name for i in graph.input} - inits
    nodes, used, uncovered = set(), set(), set()
    stack, seen = list(outputs), set()
    while stack:
        name = stack.pop()
        if not name or name in seen:
            continue
        seen.add(name)
        if name in inputs:
            used.add(name)
        elif name in producer:
            nodes.add(producer[name])
            stack.extend(graph.node[producer[name]].input)
        elif name in graph_inputs:
            uncovered.add(name)
    return nodes, used, uncovered


def random_cuts(path: str, count: int, seed: int = 11):
    """Valid (inputs, outputs) pairs: every input used, no graph input
    reached unless it is an input, at least one node between."""
    model = onnx.load(path)
    graph = model.graph
    inits = {i.name for i in graph.initializer}
    constants = {o for n in graph.node if n.op_type == "Constant"
                 for o in n.output}
    graph_inputs = [i.name for i in graph.input if i.name not in inits]
    candidates = [o for n in graph.node if n.op_type != "Constant"
                  for o in n.output if o] + graph_inputs
    # Tensors computed from the graph inputs only (not constants folded in).
    variable = set(graph_inputs)
    for node in graph.node:
        if any(i in variable for i in node.input):
            variable.update(node.output)
    candidates = [c for c in candidates if c in variable and c not in constants]
    outputs_pool = [c for c in candidates if c not in graph_inputs]
    rng = random.Random(seed)
    cuts, tries = [], 0
    while len(cuts) < count and tries < 5000:
        tries += 1
        outs = rng.sample(outputs_pool, rng.choice([1, 1, 2]))
        ancestors_nodes, _, _ = walk(graph, outs, set())
        ancestors = [c for c in candidates if c not in outs and any(
            k in ancestors_nodes for k, n in enumerate(graph.node) if c in n.output)]
        ancestors += [g for g in graph_inputs if g not in ancestors]
        ins = rng.sample(ancestors, min(len(ancestors), rng.choice([1, 1, 2])))
        nodes, used, uncovered = walk(graph, outs, set(ins))
        if uncovered or used != set(ins) or not nodes:
            continue
        if set(outs) & set(ins):
            continue
        cut = (ins, outs)
        if cut not in cuts:
            cuts.append(cut)
    assert len(cuts) == count, f"only {len(cuts)} valid cuts in {path}"
    return cuts


def feeds_for(model: onnx.ModelProto, seed: int = 0) -> Dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    feeds = {}
    for value in model.graph.input:
        if value.name in {i.name for i in model.graph.initializer}:
            continue
        tensor_type = value.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else 1
                 for d in tensor_type.shape.dim]
        dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor_type.elem_type) \
            if hasattr(onnx.helper, "tensor_dtype_to_np_dtype") \
            else onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[tensor_type.elem_type]
        if np.issubdtype(dtype, np.integer):
            feeds[value.name] = rng.integers(0, 3, shape).astype(dtype)
        else:
            feeds[value.name] = rng.standard_normal(shape).astype(dtype)
    return feeds


def run(model: onnx.ModelProto, feeds) -> List[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def node_multiset(model: onnx.ModelProto) -> collections.Counter:
    return collections.Counter(n.SerializeToString() for n in model.graph.node)


def initializers(model: onnx.ModelProto) -> Dict[str, np.ndarray]:
    return {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}


def elem_and_dims(value: onnx.ValueInfoProto):
    tensor_type = value.type.tensor_type
    return (tensor_type.elem_type,
            [d.dim_value if d.HasField("dim_value") else None
             for d in tensor_type.shape.dim])


@pytest.mark.parametrize("name", ["resnet", "vit", "helper"])
def test_random_cuts_give_the_answer_of_onnx_utils_extract_model(
        models, name, tmp_path):
    path = models[name]
    compared = 0
    for k, (ins, outs) in enumerate(random_cuts(path, CUTS_PER_MODEL)):
        ours_path = tmp_path / f"ours{k}.onnx"
        ref_path = tmp_path / f"ref{k}.onnx"
        what = f"{name} cut {k}: {ins} -> {outs}"
        P.extract_model(path, ours_path, ins, outs)
        ours = onnx.load(str(ours_path))
        onnx.checker.check_model(ours, full_check=True)
        try:
            onnx.utils.extract_model(path, str(ref_path), ins, outs)
        except Exception:  # noqa: BLE001 - onnx's own checker may refuse it
            # Where the reference does not finish (e.g. it cannot type an
            # output), the partition must still run like the whole model.
            run(ours, feeds_for(ours, seed=k))
            continue
        compared += 1
        ref = onnx.load(str(ref_path))
        assert node_multiset(ours) == node_multiset(ref), what
        assert [i.name for i in ours.graph.input] == ins, what
        assert [i.name for i in ref.graph.input] == ins, what
        assert [o.name for o in ours.graph.output] == outs, what
        assert [o.name for o in ref.graph.output] == outs, what
        for a, b in zip(list(ours.graph.input) + list(ours.graph.output),
                        list(ref.graph.input) + list(ref.graph.output)):
            # Same type and rank; every dim the reference knows, ours knows
            # the same (ours may know more: its inference propagates data).
            (a_type, a_dims), (b_type, b_dims) = elem_and_dims(a), elem_and_dims(b)
            assert a_type == b_type and len(a_dims) == len(b_dims), (what, a, b)
            assert all(y is None or x == y for x, y in zip(a_dims, b_dims)), \
                (what, a, b)
        ours_inits, ref_inits = initializers(ours), initializers(ref)
        assert sorted(ours_inits) == sorted(ref_inits), what
        for key, value in ref_inits.items():
            np.testing.assert_array_equal(ours_inits[key], value)
        feeds = feeds_for(ours, seed=k)
        for got, expected in zip(run(ours, feeds), run(ref, feeds)):
            np.testing.assert_array_equal(got, expected)
    assert compared >= CUTS_PER_MODEL // 2, f"{name}: only {compared} compared"


def test_a_partition_in_the_bytes_api_equals_the_file_api(models):
    (ins, outs), = random_cuts(models["resnet"], 1, seed=3)
    returned = P.extract_partition(models["resnet"], inputs=ins, outputs=outs)
    assert [i.name for i in returned.graph.input] == ins
    assert [o.name for o in returned.graph.output] == outs
    onnx.checker.check_model(returned, full_check=True)


def test_chained_cuts_reproduce_the_whole_model(models, tmp_path):
    """Cut the helper model in two at 'm' and run the halves in sequence."""
    path = models["helper"]
    first = P.extract_partition(path, inputs=["x"], outputs=["m"])
    second = P.extract_partition(path, inputs=["m", "y"], outputs=["out"])
    whole = onnx.load(path)
    feeds = feeds_for(whole)
    (m,) = run(first, {"x": feeds["x"]})
    (out,) = run(second, {"m": m, "y": feeds["y"]})
    np.testing.assert_allclose(out, run(whole, feeds)[0], rtol=1e-6)


def test_an_input_a_kept_node_also_produces_is_defined_once(tmp_path):
    """A cut at one output of a Split whose other outputs the partition
    needs (as random cuts of a ViT's attention found): the Split stays, the
    input supplies the value, and the partition is still SSA and runs."""
    nodes = [
        helper.make_node("Split", ["x"], ["q", "k", "v"], name="split", axis=0),
        helper.make_node("Mul", ["q", "k"], ["qk"], name="mul"),
        helper.make_node("Add", ["qk", "v"], ["out"], name="add"),
    ]
    graph = helper.make_graph(
        nodes, "attention", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 2])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    path = tmp_path / "attention.onnx"
    onnx.save(model, str(path))
    P.extract_model(path, tmp_path / "part.onnx", ["x", "v"], ["out"])
    part = onnx.load(str(tmp_path / "part.onnx"))
    onnx.checker.check_model(part, full_check=True)
    assert [n.op_type for n in part.graph.node] == ["Split", "Mul", "Add"]
    assert [i.name for i in part.graph.input] == ["x", "v"]
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    v = np.array([[10, 20]], np.float32)
    (out,) = run(part, {"x": x, "v": v})
    np.testing.assert_array_equal(out, x[0:1] * x[1:2] + v)


# --- errors -------------------------------------------------------------------


def test_a_name_that_is_no_tensor_is_named(models):
    with pytest.raises(P.TensorNotFoundError,
                       match="'nope' is not a tensor") as error:
        P.extract_partition(models["helper"], inputs=["x"], outputs=["nope"])
    assert isinstance(error.value, P.MarkerNotFoundError)
    assert "graph inputs: x, y" in str(error.value)
    with pytest.raises(P.TensorNotFoundError, match="'gone'"):
        P.extract_partition(models["helper"], inputs=["gone:1x4:float32"],
                            outputs=["out"])


def test_an_output_the_inputs_do_not_compute_names_what_is_missing(models):
    with pytest.raises(P.UncoveredTensorError) as error:
        P.extract_partition(models["helper"], inputs=["m"], outputs=["out"])
    message = str(error.value)
    assert "graph input 'y'" in message and "inputs [m]" in message


def test_an_input_no_output_depends_on_is_an_error(models):
    with pytest.raises(P.PartitionError,
                       match="do not depend on input tensor 'y'"):
        P.extract_partition(models["helper"], inputs=["x", "y"],
                            outputs=["aux"])


def test_an_initializer_is_no_input_and_a_tensor_not_both(models):
    with pytest.raises(P.PartitionError, match="initializer"):
        P.extract_partition(models["helper"], inputs=["w", "x"],
                            outputs=["xw"])
    with pytest.raises(P.PartitionError, match="both an input and an output"):
        P.extract_partition(models["helper"], inputs=["h"], outputs=["h"])
    with pytest.raises(P.PartitionError, match="listed twice"):
        P.extract_partition(models["helper"], inputs=["h", "h"],
                            outputs=["r"])


# --- overrides, markers mixed in, config, CLI ----------------------------------


def test_name_shape_dtype_overrides_an_input(models):
    part = P.extract_partition(models["helper"],
                               inputs=["h:[n,4]:float32"], outputs=["m"])
    (value,) = part.graph.input
    dims = value.type.tensor_type.shape.dim
    assert value.name == "h" and [d.dim_param for d in dims] == ["n", ""]
    assert dims[1].dim_value == 4
    out_dims = part.graph.output[0].type.tensor_type.shape.dim
    assert out_dims[0].dim_param == "n"
    onnx.checker.check_model(part, full_check=True)
    h = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    (m,) = run(part, {"h": h})
    np.testing.assert_allclose(m, np.maximum(h, 0) / (1 + np.exp(-h)),
                               rtol=1e-6)
    part = P.extract_partition(models["helper"],
                               inputs=["h:3x4:auto"], outputs=["m"])
    assert [d.dim_value for d in
            part.graph.input[0].type.tensor_type.shape.dim] == [3, 4]


def test_markers_and_tensor_names_mix():
    model = pm.yolo_model()
    marks = P.list_marks(model)
    start = next(m for m in marks if m.name == "pred_maps.0")
    # A tensor the first pred_map's consumers compute from it.
    producer_input = start.output
    consumer = next(n for n in model.graph.node
                    if producer_input in n.input and not pm.is_mark(n))
    part = P.extract_partition(model, "detector_forward:input",
                               outputs=[consumer.output[0]])
    assert [o.name for o in part.graph.output] == [consumer.output[0]]
    assert [i.name for i in part.graph.input] == ["input"]
    onnx.checker.check_model(part, full_check=True)


def test_deploy_config_entries_name_tensors(models, tmp_path):
    cfg = dict(partition_config=dict(type="cut", apply_marks=True, partition_cfg=[
        dict(save_file="a.onnx", inputs=["x"], outputs=["m"]),
        dict(save_file="b.onnx", inputs=["m", "y:2x4:float32"],
             outputs=["out"]),
    ]))
    entries = resolve_partition_cfg(cfg)
    assert entries[0]["start"] == [] and entries[0]["inputs"] == ["x"]
    written = P.extract_partitions(models["helper"], entries, tmp_path)
    a, b = (onnx.load(p) for p in written)
    assert [i.name for i in b.graph.input] == ["m", "y"]
    onnx.checker.check_model(a, full_check=True)
    onnx.checker.check_model(b, full_check=True)


def cli(*args):
    return subprocess.run([str(EXE), *map(str, args)], capture_output=True,
                          text=True, timeout=60)


def test_cli_cuts_at_tensor_names_with_overrides(models, tmp_path):
    out = tmp_path / "cut.onnx"
    result = cli(models["helper"], "--inputs", "h:[n,4]:float32,y",
                 "--outputs", "out", "-o", out, "--check")
    assert result.returncode == 0, result.stderr
    part = onnx.load(str(out))
    assert [i.name for i in part.graph.input] == ["h", "y"]
    assert part.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "n"
    # Only --outputs: the graph's inputs are the inputs.
    result = cli(models["helper"], "--outputs", "aux", "-o", out)
    assert result.returncode == 0, result.stderr
    assert [i.name for i in onnx.load(str(out)).graph.input] == ["x"]


def test_cli_exit_codes_for_tensor_names(models, tmp_path):
    out = tmp_path / "cut.onnx"
    result = cli(models["helper"], "--inputs", "x", "--outputs", "nope",
                 "-o", out)
    assert result.returncode == EXIT_MARKER, result.stderr
    assert "'nope' is not a tensor" in result.stderr
    result = cli(models["helper"], "--inputs", "m", "--outputs", "out",
                 "-o", out)
    assert result.returncode == EXIT_PARTITION, result.stderr
    assert "graph input 'y'" in result.stderr
    result = cli(models["helper"], "--inputs", "x,y", "--outputs", "aux",
                 "-o", out)
    assert result.returncode == EXIT_PARTITION, result.stderr
    assert "do not depend on" in result.stderr
    assert not out.exists()


def test_help_documents_tensor_names():
    text = cli("--help").stdout
    for fragment in ("--inputs", "--outputs", "NAME:SHAPE:DTYPE",
                     "onnx.utils.extract_model"):
        assert fragment in text
