"""Hostile input (issue 10): hand-made invalid models end in a clear error
(or, where a correct answer exists, in a correct model), never in a crash,
and nothing is written."""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from mmdeploy_mark import partition as P
from mmdeploy_mark.exit_codes import EXIT_INPUT, EXIT_VERIFY

# The installed CLI, or another build of it (scripts/test.sh --sanitize).
EXE = pathlib.Path(os.environ.get("MMDEPLOY_MARK_PARTITION_EXE",
                                  pathlib.Path(sys.executable).parent / "mmdeploy-partition"))
SIZE = 4


def mark(tensor, output, func, io_type, name=None, **overrides):
    attrs = dict(func=func, func_id=0, type=io_type, id=0, dtype=TensorProto.FLOAT,
                 shape=[1, SIZE])
    attrs.update(overrides)
    attrs = {k: v for k, v in attrs.items() if v is not None}
    node = helper.make_node("Mark", [tensor], [output], domain="mmdeploy", **attrs)
    if name is not False:
        node.attribute.append(helper.make_attribute("name", tensor if name is None else name))
    return node


def base_nodes(**mark_overrides):
    """x -> Mark(net:input) -> MatMul -> Mark(body:output) -> MatMul -> Relu
    -> Mark(net:output) -> y_m"""
    return [mark("x", "x_m", "net", "input"),
            helper.make_node("MatMul", ["x_m", "w1"], ["h"], name="mm1"),
            mark("h", "h_m", "body", "output", **mark_overrides),
            helper.make_node("MatMul", ["h_m", "w2"], ["y_pre"], name="mm2"),
            helper.make_node("Relu", ["y_pre"], ["y"], name="relu"),
            mark("y", "y_m", "net", "output")]


def base_model(nodes=None, initializers=None, outputs=("y_m",), functions=(),
               extra_opsets=()):
    rng = np.random.default_rng(0)
    if initializers is None:
        initializers = [numpy_helper.from_array(
            rng.standard_normal((SIZE, SIZE)).astype(np.float32), n) for n in ("w1", "w2")]
    graph = helper.make_graph(
        base_nodes() if nodes is None else nodes, "hostile",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, SIZE])],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, [1, SIZE]) for o in outputs],
        initializers)
    model = helper.make_model(
        graph, ir_version=8, functions=list(functions),
        opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("mmdeploy", 1),
                       *extra_opsets])
    return model


def save(model, path):
    path.write_bytes(model.SerializeToString())
    return path


def cli(*args, cwd=None, timeout=120):
    return subprocess.run([str(EXE), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


def assert_rejected(tmp_path, model, *fragments, strip=False):
    """The API raises MalformedModelError naming the fragments, the CLI exits
    3 with them, and neither writes anything."""
    src = save(model, tmp_path / "hostile.onnx")
    before = src.read_bytes()
    out = tmp_path / "out.onnx"
    with pytest.raises(P.MalformedModelError) as error:
        if strip:
            P.strip_marks(str(src), save_file=out)
        else:
            P.extract_partition(str(src), "net:input", "net:output", save_file=out)
    for fragment in fragments:
        assert fragment in str(error.value), str(error.value)
    args = ["--strip"] if strip else ["--start", "net:input", "--end", "net:output"]
    result = cli(src, *args, "-o", out)
    assert result.returncode == EXIT_INPUT, (result.returncode, result.stderr)
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    assert sorted(os.listdir(tmp_path)) == ["hostile.onnx"]
    assert src.read_bytes() == before
    return str(error.value)


def assert_checked_partition(tmp_path, model):
    src = save(model, tmp_path / "in.onnx")
    out = tmp_path / "part.onnx"
    result = cli(src, "--start", "net:input", "--end", "net:output", "-o", out)
    assert result.returncode == 0, result.stderr
    onnx.checker.check_model(str(out), full_check=True)
    part = P.extract_partition(str(src), "net:input", "net:output")
    onnx.checker.check_model(part, full_check=True)
    return part


def recursive_functions():
    f1 = helper.make_function("local", "F1", ["a"], ["b"],
                              [helper.make_node("F2", ["a"], ["b"], domain="local")],
                              [helper.make_opsetid("local", 1)])
    f2 = helper.make_function("local", "F2", ["a"], ["b"],
                              [helper.make_node("F1", ["a"], ["b"], domain="local")],
                              [helper.make_opsetid("local", 1)])
    return [f1, f2]


def test_mutually_recursive_functions_are_an_error_not_a_crash(tmp_path):
    nodes = base_nodes()
    nodes[4] = helper.make_node("F1", ["y_pre"], ["y"], name="call", domain="local")
    model = base_model(nodes, functions=recursive_functions(),
                       extra_opsets=[helper.make_opsetid("local", 1)])
    message = assert_rejected(tmp_path, model, "cycle", "'local::F1'", "'local::F2'")
    assert "recursive" in message


def test_self_recursive_function_is_an_error(tmp_path):
    f = helper.make_function("local", "F", ["a"], ["b"],
                             [helper.make_node("F", ["a"], ["b"], domain="local")],
                             [helper.make_opsetid("local", 1)])
    nodes = base_nodes()
    nodes[4] = helper.make_node("F", ["y_pre"], ["y"], name="call", domain="local")
    model = base_model(nodes, functions=[f], extra_opsets=[helper.make_opsetid("local", 1)])
    assert_rejected(tmp_path, model, "cycle", "'local::F'")


def test_graph_cycle_names_a_node_on_it(tmp_path):
    nodes = base_nodes()
    # relu reads the output of a later node, which reads relu's output.
    nodes[4] = helper.make_node("Relu", ["z"], ["y"], name="relu")
    nodes.append(helper.make_node("Neg", ["y"], ["z"], name="neg"))
    message = assert_rejected(tmp_path, base_model(nodes), "cycle", "'relu'")
    assert "'neg'" in message


def test_reversed_node_list_gives_a_sorted_correct_partition(tmp_path):
    part = assert_checked_partition(tmp_path, base_model(list(reversed(base_nodes()))))
    assert [n.op_type for n in part.graph.node] == ["MatMul", "MatMul", "Relu"]


def test_strip_of_reversed_node_list_is_sorted(tmp_path):
    src = save(base_model(list(reversed(base_nodes()))), tmp_path / "in.onnx")
    out = tmp_path / "full.onnx"
    assert cli(src, "--strip", "-o", out).returncode == 0
    onnx.checker.check_model(str(out), full_check=True)


@pytest.mark.parametrize("strip", [False, True])
def test_two_producers_of_one_tensor(tmp_path, strip):
    nodes = base_nodes()
    nodes.insert(5, helper.make_node("Neg", ["y_pre"], ["y"], name="neg"))
    assert_rejected(tmp_path, base_model(nodes), "'y'", "produced by two nodes", strip=strip)


def test_graph_output_with_no_producer(tmp_path):
    assert_rejected(tmp_path, base_model(outputs=("y_m", "ghost")), "graph output 'ghost'",
                    "produced by no node")


@pytest.mark.parametrize("dims,raw,fragment", [
    ([SIZE, SIZE], b"\0" * (SIZE * SIZE * 4 - 4), "holds 60 bytes"),
    ([SIZE, SIZE], b"\0" * (SIZE * SIZE * 4 + 4), "holds 68 bytes"),
    ([2 ** 62, 2 ** 62], b"\0" * 4, "overflows"),
    ([-1, 4], b"\0" * 16, "negative dim"),
], ids=["short", "long", "overflow", "negative"])
def test_initializer_size_against_dims(tmp_path, dims, raw, fragment):
    rng = np.random.default_rng(0)
    bad = TensorProto(name="w1", data_type=TensorProto.FLOAT, dims=dims, raw_data=raw)
    w2 = numpy_helper.from_array(rng.standard_normal((SIZE, SIZE)).astype(np.float32), "w2")
    assert_rejected(tmp_path, base_model(initializers=[bad, w2]), "initializer 'w1'", fragment)


def test_external_data_length_against_dims(tmp_path):
    rng = np.random.default_rng(0)
    w1 = numpy_helper.from_array(rng.standard_normal((SIZE, SIZE)).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(rng.standard_normal((SIZE, SIZE)).astype(np.float32), "w2")
    (tmp_path / "w.bin").write_bytes(w1.raw_data + w2.raw_data)
    for tensor, offset in ((w1, 0), (w2, 64)):
        tensor.ClearField("raw_data")
        tensor.data_location = TensorProto.EXTERNAL
        for key, value in (("location", "w.bin"), ("offset", str(offset)),
                           ("length", "32")):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value
    src = save(base_model(initializers=[w1, w2]), tmp_path / "hostile.onnx")
    with pytest.raises(P.MalformedModelError, match="holds 32 bytes"):
        P.extract_partition(str(src), "net:input", "net:output")
    result = cli(src, "--start", "net:input", "--end", "net:output", "-o", tmp_path / "o.onnx")
    assert result.returncode == EXIT_INPUT and "holds 32 bytes" in result.stderr
    assert not (tmp_path / "o.onnx").exists()


@pytest.mark.parametrize("overrides,fragment", [
    (dict(dtype=None), "no dtype"),
    (dict(dtype=-3), "dtype -3"),
    (dict(dtype=0), "dtype 0"),
    (dict(dtype=999), "dtype 999"),
    (dict(shape="1x4"), "'shape' of the wrong kind"),
    (dict(shape=[1, 2 ** 62]), "shape dim of 4611686018427387904"),
    (dict(id="one"), "'id' of the wrong kind"),
])
def test_bad_mark_attributes(tmp_path, overrides, fragment):
    nodes = base_nodes()
    nodes[0] = mark("x", "x_m", "net", "input", **overrides)
    assert_rejected(tmp_path, base_model(nodes), "Mark node", fragment)


def nested_mark_model(where, **mark_overrides):
    """The base model with mm2 replaced by a node whose body holds a Mark of
    h (`where`: an If branch, a Loop body, a Loop body inside an If branch,
    or a local function)."""
    def body_graph(name, inputs, outputs, nodes):
        return helper.make_graph(nodes, name, inputs, outputs)

    def value(name, elem=TensorProto.FLOAT, shape=(1, SIZE)):
        return helper.make_tensor_value_info(name, elem, list(shape))

    def if_node(then_nodes, output="y_pre"):
        then = body_graph("then", [], [value("t_out")], then_nodes)
        other = body_graph("else", [], [value("e_out")],
                           [helper.make_node("Neg", ["h_m"], ["e_out"])])
        return helper.make_node("If", ["c"], [output], name="branch", then_branch=then,
                                else_branch=other)

    def loop_node(output="y_pre"):
        body = body_graph(
            "body", [value("i", TensorProto.INT64, ()), value("go", TensorProto.BOOL, ()),
                     value("v")],
            [value("go_out", TensorProto.BOOL, ()), value("v_out")],
            [mark("v", "v_m", "inner", "input", **mark_overrides),
             helper.make_node("Relu", ["v_m"], ["v_out"]),
             helper.make_node("Identity", ["go"], ["go_out"])])
        return helper.make_node("Loop", ["trip", "", "h_m"], [output], name="loop", body=body)

    nodes = base_nodes()
    functions, opsets = [], []
    if where == "if":
        nodes[3] = if_node([mark("h_m", "t_m", "inner", "input", **mark_overrides),
                            helper.make_node("Relu", ["t_m"], ["t_out"])])
    elif where == "loop":
        nodes[3] = loop_node()
    elif where == "loop-in-if":
        nodes[3] = if_node([loop_node(output="t_out")])
    else:
        function = helper.make_function(
            "local", "F", ["a"], ["b"],
            [mark("a", "a_m", "inner", "input", **mark_overrides),
             helper.make_node("Relu", ["a_m"], ["b"])],
            [helper.make_opsetid("", 13), helper.make_opsetid("mmdeploy", 1)])
        nodes[3] = helper.make_node("F", ["h_m"], ["y_pre"], name="call", domain="local")
        functions, opsets = [function], [helper.make_opsetid("local", 1)]
    model = base_model(nodes, functions=functions, extra_opsets=opsets)
    model.graph.initializer.extend([
        numpy_helper.from_array(np.array(True), "c"),
        numpy_helper.from_array(np.array(2, np.int64), "trip")])
    return model


NESTED = ["if", "loop", "loop-in-if", "function"]


@pytest.mark.parametrize("where", NESTED)
@pytest.mark.parametrize("overrides,fragment", [
    (dict(dtype=None), "no dtype"),
    (dict(dtype=-3), "dtype -3"),
    (dict(shape="1x4"), "'shape' of the wrong kind"),
    (dict(shape=[1, 2 ** 62]), "shape dim of 4611686018427387904"),
    (dict(name=7), "'name' of the wrong kind"),
])
def test_bad_mark_attributes_inside_bodies_and_functions(tmp_path, where, overrides, fragment):
    """Marks in If/Loop/Scan bodies (at any depth) and in local functions are
    checked as the main graph's are, by the cut and by strip."""
    model = nested_mark_model(where, **overrides)
    assert_rejected(tmp_path, model, "Mark node", fragment)
    assert_rejected(tmp_path, model, "Mark node", fragment, strip=True)


@pytest.mark.parametrize("where", ["if", "loop", "loop-in-if"])
def test_valid_marks_inside_bodies_are_accepted(tmp_path, where):
    part = assert_checked_partition(tmp_path, nested_mark_model(where))
    assert all(n.op_type != "Mark" for n in part.graph.node)


@pytest.mark.parametrize("name", ["", False])
def test_mark_without_name_gives_a_correct_partition(tmp_path, name):
    nodes = base_nodes()
    nodes[0] = mark("x", "x_m", "net", "input", name=name)
    part = assert_checked_partition(tmp_path, base_model(nodes))
    assert all(i.name for i in part.graph.input)


def test_mark_without_shape_gives_a_correct_partition(tmp_path):
    nodes = base_nodes()
    nodes[0] = mark("x", "x_m", "net", "input", shape=None)
    assert_checked_partition(tmp_path, base_model(nodes))


# --- Outputs pass the ONNX checker ---------------------------------------------

def schema_breaking_model():
    """The base model with a MatMul of three inputs: nothing the pass validates
    (it reads no op schemas), but the ONNX checker rejects any model that
    keeps the node."""
    nodes = base_nodes()
    nodes[1] = helper.make_node("MatMul", ["x_m", "w1", "w2"], ["h"], name="mm1")
    return base_model(nodes)


@pytest.mark.parametrize("strip", [False, True])
def test_an_output_the_checker_rejects_is_not_written(tmp_path, strip):
    src = save(schema_breaking_model(), tmp_path / "bad.onnx")
    out = tmp_path / "out.onnx"
    out.write_bytes(b"an earlier run's")
    with pytest.raises(P.PartitionError, match="fails the ONNX checker") as error:
        if strip:
            P.strip_marks(str(src), save_file=out)
        else:
            P.extract_partition(str(src), "net:input", "net:output", save_file=out)
    assert "mm1" in str(error.value)
    args = ["--strip"] if strip else ["--start", "net:input", "--end", "net:output"]
    result = cli(src, *args, "-o", out)
    assert result.returncode == EXIT_VERIFY, (result.returncode, result.stderr)
    assert "fails the ONNX checker" in result.stderr and "mm1" in result.stderr
    assert out.read_bytes() == b"an earlier run's"
    assert sorted(os.listdir(tmp_path)) == ["bad.onnx", "out.onnx"]


def test_config_partitions_are_all_checked_before_any_is_written(tmp_path):
    src = save(schema_breaking_model(), tmp_path / "bad.onnx")
    work = tmp_path / "work"
    cfg = [dict(save_file="tail.onnx", start="body:output", end="net:output"),
           dict(save_file="sub/head.onnx", start="net:input", end="body:output")]
    with pytest.raises(P.PartitionError, match="head.onnx' fails the ONNX checker"):
        P.extract_partitions(str(src), cfg, work)
    assert not work.exists()
    config = tmp_path / "c.json"
    config.write_text(json.dumps(cfg))
    result = cli(src, "--config", config, "--work-dir", work)
    assert result.returncode == EXIT_VERIFY, (result.returncode, result.stderr)
    assert not work.exists()


def test_python_full_check_of_a_file_leaves_it_unchanged(tmp_path):
    """torch2onnx checks what it stages with the onnx package (output_check);
    onnx 1.12's own full check of a path would write the inferred model back."""
    from mmdeploy_mark.output_check import InvalidOutputError, check_model_file
    good = save(base_model(), tmp_path / "good.onnx")
    before = good.read_bytes()
    check_model_file(str(good), "good.onnx")
    assert good.read_bytes() == before
    stripped = P.strip_marks(str(good))
    stripped.graph.node[0].input.append("w2")  # mm1 with three inputs
    bad = save(stripped, tmp_path / "bad.onnx")
    with pytest.raises(InvalidOutputError, match="bad.onnx fails the ONNX checker"):
        check_model_file(str(bad), "bad.onnx")
    assert issubclass(InvalidOutputError, P.PartitionError)


def chain_model(count):
    """x -> Mark -> count x Relu -> Mark: a long chain in one graph."""
    nodes = [mark("x", "t0", "net", "input")]
    for i in range(count):
        nodes.append(helper.make_node("Relu", [f"t{i}"], [f"t{i + 1}"]))
    nodes.append(mark(f"t{count}", "y_m", "net", "output"))
    return base_model(nodes, initializers=[])


def fan_out_model(width):
    """x -> Mark -> width Relus each read x -> Sum of all -> Mark."""
    nodes = [mark("x", "x_m", "net", "input")]
    for i in range(width):
        nodes.append(helper.make_node("Relu", ["x_m"], [f"r{i}"]))
    nodes.append(helper.make_node("Sum", [f"r{i}" for i in range(width)], ["y"]))
    nodes.append(mark("y", "y_m", "net", "output"))
    return base_model(nodes, initializers=[])


@pytest.mark.parametrize("build,count", [(chain_model, 200_000), (fan_out_model, 100_000)])
@pytest.mark.parametrize("reverse", [False, True])
def test_large_graphs_complete(tmp_path, build, count, reverse):
    model = build(count)
    if reverse:
        nodes = list(model.graph.node)
        del model.graph.node[:]
        model.graph.node.extend(reversed(nodes))
    src = save(model, tmp_path / "big.onnx")
    del model
    out = tmp_path / "part.onnx"
    result = cli(src, "--start", "net:input", "--end", "net:output", "--no-infer-shapes",
                 "-o", out, timeout=600)
    assert result.returncode == 0, result.stderr
    part = onnx.load(str(out))
    assert len(part.graph.node) == count + (1 if build is fan_out_model else 0)


# --- No overwrite, no escape -------------------------------------------------

from mmdeploy_mark.exit_codes import EXIT_USAGE, EXIT_WRITE  # noqa: E402
import json  # noqa: E402


def good_model(tmp_path, name="base.onnx"):
    return save(base_model(), tmp_path / name)


def listing(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


@pytest.mark.parametrize("link", [None, "symlink", "hardlink"])
def test_cli_never_overwrites_the_input(tmp_path, link):
    src = good_model(tmp_path)
    before = src.read_bytes()
    target = src
    if link == "symlink":
        target = tmp_path / "alias.onnx"
        target.symlink_to(src)
    elif link == "hardlink":
        target = tmp_path / "alias.onnx"
        os.link(src, target)
    names = listing(tmp_path)
    for args in (["--start", "net:input", "--end", "net:output"], ["--strip"]):
        result = cli(src, *args, "-o", target)
        assert result.returncode == EXIT_WRITE, result.stderr
        assert "a file this run reads" in result.stderr
        assert src.read_bytes() == before
        assert listing(tmp_path) == names


def test_config_save_file_naming_the_input_or_the_config(tmp_path):
    src = good_model(tmp_path)
    before = src.read_bytes()
    # The config is read whatever its name; a save_file must end in .onnx.
    config = tmp_path / "c.onnx"
    for save_file in ("base.onnx", "c.onnx"):
        config.write_text(json.dumps([dict(save_file=save_file, start="net:input",
                                           end="net:output")]))
        text = config.read_text()
        result = cli(src, "--config", config, "--work-dir", tmp_path)
        assert result.returncode == EXIT_WRITE, result.stderr
        assert "a file this run reads" in result.stderr
        assert src.read_bytes() == before and config.read_text() == text


def test_api_never_overwrites_the_input(tmp_path):
    src = good_model(tmp_path)
    before = src.read_bytes()
    with pytest.raises(P.PartitionError, match="a file this run reads"):
        P.extract_partition(str(src), "net:input", "net:output", save_file=src)
    with pytest.raises(P.PartitionError, match="a file this run reads"):
        P.strip_marks(str(src), save_file=src)
    with pytest.raises(P.PartitionError, match="a file this run reads"):
        P.extract_partitions(str(src), [dict(save_file="base.onnx", start="net:input",
                                             end="net:output")], tmp_path)
    assert src.read_bytes() == before
    assert listing(tmp_path) == ["base.onnx"]


def test_the_input_external_data_is_never_a_target(tmp_path):
    model = base_model()
    onnx.save(model, str(tmp_path / "base.onnx"), save_as_external_data=True,
              all_tensors_to_one_file=True, location="part.onnx.data", size_threshold=0)
    data = (tmp_path / "part.onnx.data").read_bytes()
    result = cli(tmp_path / "base.onnx", "--start", "net:input", "--end", "net:output",
                 "-o", tmp_path / "part.onnx")
    assert result.returncode == EXIT_WRITE, result.stderr
    assert "a file this run reads" in result.stderr
    assert (tmp_path / "part.onnx.data").read_bytes() == data
    assert not (tmp_path / "part.onnx").exists()


def escaping_save_files(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    (work / "link").symlink_to(outside, target_is_directory=True)
    return work, outside, ["../x.onnx", str(outside / "abs.onnx"), "link/x.onnx",
                           "sub/../../x.onnx"]


def test_cli_config_writes_stay_in_the_work_dir(tmp_path):
    src = good_model(tmp_path)
    work, outside, save_files = escaping_save_files(tmp_path)
    config = tmp_path / "c.json"
    for save_file in save_files:
        config.write_text(json.dumps([dict(save_file=save_file, start="net:input",
                                           end="net:output")]))
        result = cli(src, "--config", config, "--work-dir", work)
        assert result.returncode == EXIT_USAGE, (save_file, result.stderr)
        assert "inside the work dir" in result.stderr
        assert listing(outside) == [] and listing(work) == ["link"]
        assert not (tmp_path / "x.onnx").exists()


def test_api_extract_partitions_stay_in_the_work_dir(tmp_path):
    src = good_model(tmp_path)
    work, outside, save_files = escaping_save_files(tmp_path)
    for save_file in save_files:
        with pytest.raises(P.PartitionError, match="inside the work dir"):
            P.extract_partitions(str(src), [dict(save_file=save_file, start="net:input",
                                                 end="net:output")], work)
        assert listing(outside) == [] and listing(work) == ["link"]
        assert not (tmp_path / "x.onnx").exists()


def test_symlinked_subdir_inside_the_work_dir_is_fine(tmp_path):
    src = good_model(tmp_path)
    work = tmp_path / "work"
    (work / "real").mkdir(parents=True)
    (work / "alias").symlink_to(work / "real", target_is_directory=True)
    P.extract_partitions(str(src), [dict(save_file="alias/p.onnx", start="net:input",
                                         end="net:output")], work)
    assert (work / "real" / "p.onnx").is_file()


@pytest.mark.parametrize("strip", [False, True])
def test_fifo_target_is_never_replaced(tmp_path, strip):
    src = good_model(tmp_path)
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    args = ["--strip"] if strip else ["--start", "net:input", "--end", "net:output"]
    result = cli(src, *args, "-o", fifo)
    assert result.returncode == EXIT_WRITE, result.stderr
    assert "a FIFO" in result.stderr and "never replaced" in result.stderr
    import stat
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert listing(tmp_path) == ["base.onnx", "out.fifo"]


def test_device_target_is_never_replaced(tmp_path):
    src = good_model(tmp_path)
    result = cli(src, "--strip", "-o", "/dev/null")
    assert result.returncode == EXIT_WRITE, result.stderr
    assert "a character device" in result.stderr
    import stat
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


def dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_temporaries_of_killed_runs_are_removed(tmp_path):
    src = good_model(tmp_path)
    pid = dead_pid()
    stale = [tmp_path / f".out.onnx.tmp-{pid}-0", tmp_path / f".out.onnx.data.tmp-{pid}-0"]
    live = tmp_path / f".out.onnx.tmp-{os.getpid()}-0"   # a running process's
    other = tmp_path / f".other.onnx.tmp-{pid}-0"         # not a target's
    for path in stale + [live, other]:
        path.write_bytes(b"partial")
    result = cli(src, "--start", "net:input", "--end", "net:output", "-o", tmp_path / "out.onnx")
    assert result.returncode == 0, result.stderr
    assert not any(p.exists() for p in stale)
    assert live.exists() and other.exists()


def test_temporaries_of_a_sigkilled_run_are_cleaned_by_the_next(tmp_path):
    import signal
    import time
    src = save(chain_model(100_000), tmp_path / "big.onnx")
    out = tmp_path / "out.onnx"
    child = subprocess.Popen([str(EXE), src, "--start", "net:input", "--end", "net:output",
                              "--no-infer-shapes", "-q", "-o", out])
    deadline = time.monotonic() + 120
    while child.poll() is None and time.monotonic() < deadline:
        if any(p.name.startswith(".out.onnx.tmp-") for p in tmp_path.iterdir()):
            child.send_signal(signal.SIGKILL)
            break
        time.sleep(0.001)
    child.wait()
    result = cli(src, "--start", "net:input", "--end", "net:output", "--no-infer-shapes",
                 "-q", "-o", out)
    assert result.returncode == 0, result.stderr
    assert listing(tmp_path) == ["big.onnx", "out.onnx"]


def test_failed_run_creates_no_directories(tmp_path):
    src = good_model(tmp_path)
    work = tmp_path / "work"
    (tmp_path / "afile").write_text("x")
    config = tmp_path / "c.json"
    # The second save_file's directory cannot exist (a file is in the way).
    config.write_text(json.dumps([
        dict(save_file="new/deep/p.onnx", start="net:input", end="net:output"),
        dict(save_file="afile/q.onnx", start="net:input", end="net:output")]))
    work.mkdir()
    (work / "afile").write_text("x")
    result = cli(src, "--config", config, "--work-dir", work)
    assert result.returncode == EXIT_WRITE, result.stderr
    assert listing(work) == ["afile"]


# --- Names ---------------------------------------------------------------------

def test_empty_output_name_is_an_error(tmp_path):
    src = good_model(tmp_path)
    with pytest.raises(P.PartitionError, match=r"output_names\[0\] is empty"):
        P.extract_partition(str(src), "net:input", "net:output", output_names=[""])


@pytest.mark.parametrize("argument", ["start_name_map", "end_name_map"])
def test_name_map_key_matching_nothing_names_the_available_names(tmp_path, argument):
    src = good_model(tmp_path)
    with pytest.raises(P.PartitionError) as error:
        P.extract_partition(str(src), "net:input", "net:output", **{argument: {"nope": "z"}})
    message = str(error.value)
    assert f"{argument} key 'nope'" in message
    assert ("'x'" if argument == "start_name_map" else "'y'") in message
    # A matching key still renames.
    part = P.extract_partition(str(src), "net:input", "net:output",
                               end_name_map={"y": "renamed"})
    assert [o.name for o in part.graph.output] == ["renamed"]


@pytest.mark.parametrize("func,escaped", [("a,b", r"a\,b"), ("x[y", r"x\[y"),
                                          ("p:q", r"p\:q")])
def test_any_func_name_can_be_selected(tmp_path, func, escaped):
    nodes = base_nodes()
    nodes[0] = mark("x", "x_m", func, "input")
    nodes[2] = mark("h", "h_m", func, "output")
    src = save(base_model(nodes), tmp_path / "odd.onnx")
    listed = cli(src, "--list")
    assert listed.returncode == 0 and f"{escaped}[0]:input" in listed.stdout, listed.stdout
    marks = P.list_marks(str(src))
    assert marks[0].func == func and marks[0].marker == f"{escaped}[0]:input"
    out = tmp_path / "part.onnx"
    # Several markers in one option: the escaped ',' does not split.
    result = cli(src, "--start", f"{escaped}:input", "--end", f"{escaped}:output,net:output",
                 "-o", out)
    assert result.returncode == 0, result.stderr
    onnx.checker.check_model(str(out), full_check=True)
    part = P.extract_partition(str(src), f"{escaped}:input", f"{escaped}:output")
    assert [n.op_type for n in part.graph.node] == ["MatMul"]
    # Unescaped, the name is reported clearly.
    if func != "a,b":
        with pytest.raises(P.MarkerNotFoundError, match="write"):
            P.extract_partition(str(src), f"{func}:input", f"{escaped}:output")


# --- Metadata ------------------------------------------------------------------

def annotated_model():
    model = base_model()
    scale = numpy_helper.from_array(np.array(0.5, np.float32), "h_scale")
    model.graph.initializer.append(scale)
    for tensor in ("h", "y_pre"):
        annotation = model.graph.quantization_annotation.add()
        annotation.tensor_name = tensor
        entry = annotation.quant_parameter_tensor_names.add()
        entry.key, entry.value = "SCALE_TENSOR", "h_scale"
    model.training_info.add().algorithm.CopyFrom(model.graph)
    return model


def test_quantization_annotations_of_kept_tensors_are_kept(tmp_path):
    src = save(annotated_model(), tmp_path / "q.onnx")
    out = tmp_path / "part.onnx"
    result = cli(src, "--start", "net:input", "--end", "body:output", "-o", out)
    assert result.returncode == 0, result.stderr
    part = onnx.load(str(out))
    assert [a.tensor_name for a in part.graph.quantization_annotation] == ["h"]
    assert "h_scale" in [i.name for i in part.graph.initializer]
    onnx.checker.check_model(part, full_check=True)


def test_dropped_training_info_is_reported(tmp_path):
    src = save(annotated_model(), tmp_path / "q.onnx")
    result = cli(src, "--start", "net:input", "--end", "net:output", "-o", tmp_path / "p.onnx")
    assert result.returncode == 0, result.stderr
    assert "training_info" in result.stderr and "warning" in result.stderr
    assert len(onnx.load(str(tmp_path / "p.onnx")).training_info) == 0


# --- torch2onnx's staging ------------------------------------------------------

def test_stale_staging_of_killed_runs_is_removed(tmp_path):
    from mmdeploy_mark.staging import StagedOutputs
    pid = dead_pid()
    stale_dir = tmp_path / f".work.staging-{pid}-abc123"
    stale_dir.mkdir()
    (stale_dir / "end2end.onnx").write_bytes(b"partial")
    stale_file = tmp_path / f".out.onnx.staging-{pid}-0a1b"
    stale_file.write_bytes(b"partial")
    live = tmp_path / f".work.staging-{os.getpid()}-keep"
    live.mkdir()
    unrelated = tmp_path / f".other.staging-{pid}-x"
    unrelated.mkdir()
    with StagedOutputs(str(tmp_path / "work")) as staged:
        (tmp_path / "work").mkdir()
        pathlib.Path(staged.path("a.onnx")).write_bytes(b"a")
        pathlib.Path(staged.external(str(tmp_path / "out.onnx"))).write_bytes(b"b")
        staged.publish()
    assert not stale_dir.exists() and not stale_file.exists()
    assert live.exists() and unrelated.exists()
    assert (tmp_path / "work" / "a.onnx").read_bytes() == b"a"
    assert (tmp_path / "out.onnx").read_bytes() == b"b"


def test_failed_staging_creates_no_directories(tmp_path):
    from mmdeploy_mark.staging import StagedOutputs
    with pytest.raises(RuntimeError):
        with StagedOutputs(str(tmp_path / "a" / "b" / "work")) as staged:
            pathlib.Path(staged.path("x.onnx")).write_bytes(b"x")
            raise RuntimeError("the run fails")
    assert listing(tmp_path) == []


# --- Fuzzer findings -------------------------------------------------------------

REGRESSIONS = sorted((pathlib.Path(__file__).resolve().parents[1] / "fuzz" / "regressions")
                     .glob("*/*"))


@pytest.mark.parametrize("found", REGRESSIONS, ids=[f"{p.parent.name}-{p.name[:16]}"
                                                    for p in REGRESSIONS])
def test_fuzzer_findings_end_in_an_error_or_a_model(tmp_path, found):
    """Each input the fuzzers crashed on (tests/fuzz/regressions), read as a
    model: every entry point reports an error or succeeds, never crashes."""
    src = tmp_path / "found.onnx"
    src.write_bytes(found.read_bytes())
    for args in (["--list"], ["--strip", "-o", tmp_path / "s.onnx"],
                 ["--start", "net:input", "--end", "net:output", "-o", tmp_path / "p.onnx"]):
        result = cli(src, *args)
        # 1: the output fails the ONNX checker, and is not written.
        assert result.returncode in (0, 1, 3, 4, 5, 6), (args, result.returncode, result.stderr)
