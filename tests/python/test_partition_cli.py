"""Tests of the mmdeploy-partition executable, run as a subprocess."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import onnx
import pytest

import partition_models as pm
from mmdeploy_mark import exit_codes
from mmdeploy_mark import partition as P
from mmdeploy_mark.exit_codes import (EXIT_INPUT, EXIT_MARKER, EXIT_PARTITION,
                                      EXIT_USAGE, EXIT_VERIFY, EXIT_WRITE)

# The executable pip installed beside this interpreter: what users run.
EXE = pathlib.Path(sys.executable).parent / "mmdeploy-partition"
assert EXE.is_file(), f"{EXE} is missing: reinstall the package (pip install .)"

PRED_MAPS = [f"pred_maps.{i}" for i in range(3)]
ERROR_PREFIX = "mmdeploy-partition: error: "


def cli(*args, cwd=None):
    return subprocess.run([str(EXE), *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=60)


def assert_error(result, code, *fragments):
    assert result.returncode == code, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    errors = [line for line in lines if line.startswith(ERROR_PREFIX)]
    assert len(errors) == 1, result.stderr
    message = result.stderr[result.stderr.index(ERROR_PREFIX):]
    for fragment in fragments:
        assert fragment in message, message


@pytest.fixture
def yolo_path(tmp_path):
    path = tmp_path / "yolo.onnx"
    onnx.save(pm.yolo_model(), str(path))
    return path


def test_help_explains_every_option_and_exit_code():
    result = cli("--help")
    assert result.returncode == 0 and result.stderr == ""
    for option in ("--list", "--start", "--end", "--output-names",
                   "--dynamic-axes", "--config", "--work-dir", "--strip",
                   "--expose-uncovered-inputs", "--no-infer-shapes", "-o",
                   "--check", "--quiet", "--version", "Modes (exactly one)",
                   "Output:", "Examples"):
        assert option in result.stdout, option
    # The table every tool prints, from the one definition in C++.
    assert exit_codes.help_table() in result.stdout
    for code, _, meaning in exit_codes.EXIT_CODES:
        assert f"\n  {code}  {meaning}\n" in result.stdout, code


def test_version():
    result = cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("mmdeploy-partition ")


@pytest.mark.parametrize("args,fragment", [
    ((), "missing MODEL"),
    (("m.onnx",), "nothing to do"),
    (("m.onnx", "--bogus"), "unknown option '--bogus'"),
    (("m.onnx", "--start", "a:input", "-o", "x.onnx"), "--end is missing"),
    (("m.onnx", "--start", "a:input", "--end", "b:output"), "needs -o"),
    (("m.onnx", "--list", "--strip"), "only one of"),
    (("m.onnx", "--start", "a:input", "--end", "b:output", "-o", "x.onnx",
      "--dynamic-axes", "input:batch"), "NAME:AXIS:DIM"),
    (("m.onnx", "--config", "c.json"), "--work-dir"),
    (("m.onnx", "--list", "--output-names", "a"), "--output-names"),
    (("m.onnx", "--strip", "-o", "a.onnx", "-o", "b.onnx"), "more than once"),
    (("m.onnx", "--start"), "--start: missing value"),
    (("m.onnx", "--start", "a:input,,b:input", "--end", "c:output", "-o",
      "x.onnx"), "empty item"),
])
def test_bad_arguments_exit_2(args, fragment):
    result = cli(*args)
    assert_error(result, EXIT_USAGE, fragment)
    assert "usage:" in result.stderr
    assert result.stdout == ""


def test_missing_model_exits_3(tmp_path):
    missing = tmp_path / "missing.onnx"
    assert_error(cli(missing, "--list"), EXIT_INPUT, str(missing),
                 "does not exist")


@pytest.mark.parametrize("content", [b"garbage bytes, not protobuf",
                                     pm.yolo_model().SerializeToString()[:-40]])
def test_garbage_or_truncated_model_exits_3(tmp_path, content):
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    result = cli(path, "--start", "detector_forward:input", "--end",
                 "yolo_head:input", "-o", tmp_path / "out.onnx")
    assert_error(result, EXIT_INPUT, "bad.onnx")
    assert sorted(os.listdir(tmp_path)) == ["bad.onnx"]


def test_unknown_marker_exits_4_and_lists_markers(yolo_path, tmp_path):
    out = tmp_path / "out.onnx"
    result = cli(yolo_path, "--start", "detector_forward:input", "--end",
                 "yolo_heda:input", "-o", out)
    assert_error(result, EXIT_MARKER, "yolo_heda:input", "detector_forward",
                 "yolo_head")
    assert not out.exists()


def test_uncovered_input_exits_5_unless_exposed(tmp_path):
    model = tmp_path / "two_stage.onnx"
    onnx.save(pm.two_stage_model(), str(model))
    out = tmp_path / "head.onnx"
    args = [model, "--start", "roi_extractor[0]:output", "--end",
            "detector_forward:output", "-o", out]
    assert_error(cli(*args), EXIT_PARTITION, "scale_factor")
    assert not out.exists()
    # Both roi_extractor marks are named roi_feats: rename one via config.
    config = tmp_path / "c.json"
    config.write_text(json.dumps([dict(
        save_file="head.onnx", start=["roi_extractor[0]:output",
                                      "roi_extractor[1]:output"],
        end="detector_forward:output",
        start_name_map={"roi_extractor[1]:output:roi_feats": "roi_feats_1"})]))
    result = cli(model, "--config", config, "--work-dir", tmp_path,
                 "--expose-uncovered-inputs")
    assert result.returncode == 0, result.stderr
    assert "scale_factor" in pm.graph_input_names(onnx.load(str(out)))


def test_one_partition_is_written_and_logged(yolo_path, tmp_path):
    out = tmp_path / "sub" / "yolov3.onnx"
    result = cli(yolo_path, "--start", "detector_forward:input", "--end",
                 "yolo_head:input", "--output-names", "a,b,c",
                 "--dynamic-axes", "input:0:batch,a:0:batch", "-o", out)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert f"wrote {out}" in result.stdout
    assert "input" in result.stdout and "float32[batch, 3, 8, 8]" in result.stdout
    written = onnx.load(str(out))
    onnx.checker.check_model(written, full_check=True)
    expected = P.extract_partition(
        str(yolo_path), "detector_forward:input", "yolo_head:input",
        output_names=["a", "b", "c"],
        dynamic_axes={"input": {0: "batch"}, "a": {0: "batch"}})
    expected.graph.name = written.graph.name
    assert written.graph == expected.graph


def test_config_writes_every_partition(yolo_path, tmp_path):
    config = tmp_path / "partitions.json"
    config.write_text(json.dumps({"partition_cfg": [
        dict(save_file="yolov3.onnx", start=["detector_forward:input"],
             end=["yolo_head:input"], output_names=PRED_MAPS,
             dynamic_axes={"input": {"0": "batch"}}),
        dict(save_file="post.onnx", start="yolo_head:input",
             end="detector_forward:output",
             dynamic_axes={"dets": [0], "labels": [0]}),
    ]}))
    work_dir = tmp_path / "work"
    result = cli(yolo_path, "--config", config, "--work-dir", work_dir)
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(work_dir)) == ["post.onnx", "yolov3.onnx"]
    for name in ("yolov3.onnx", "post.onnx"):
        assert f"wrote {work_dir / name}" in result.stdout
        onnx.checker.check_model(onnx.load(str(work_dir / name)),
                                 full_check=True)
    post = onnx.load(str(work_dir / "post.onnx"))
    dims = post.graph.output[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "dets_dim_0"


def test_config_with_failing_partition_writes_nothing(yolo_path, tmp_path):
    config = tmp_path / "c.json"
    config.write_text(json.dumps([
        dict(save_file="ok.onnx", start="detector_forward:input",
             end="yolo_head:input"),
        dict(save_file="bad.onnx", start="yolo_head:input", end="nope:output"),
    ]))
    work_dir = tmp_path / "work"
    assert_error(cli(yolo_path, "--config", config, "--work-dir", work_dir),
                 EXIT_MARKER, "nope:output", "bad.onnx")
    assert not work_dir.exists() or os.listdir(work_dir) == []


@pytest.mark.parametrize("content,code,fragment", [
    ("[{", EXIT_INPUT, "not valid JSON"),
    ("[{\"save_file\": \"a.onnx\", \"strat\": \"x\"}]", EXIT_USAGE,
     "unknown key 'strat'"),
    ("[{\"save_file\": \"a.onnx\", \"start\": 1, \"end\": \"b:output\"}]",
     EXIT_USAGE, "[0].start"),
    ("[{\"save_file\": \"a.onnx\", \"start\": \"a:input\"}]", EXIT_USAGE,
     "missing key 'end'"),
    ("{\"other\": []}", EXIT_USAGE, "partition_cfg"),
    ("[]", EXIT_USAGE, "empty"),
])
def test_bad_config_file(yolo_path, tmp_path, content, code, fragment):
    config = tmp_path / "c.json"
    config.write_text(content)
    result = cli(yolo_path, "--config", config, "--work-dir", tmp_path / "w")
    assert_error(result, code, fragment, "c.json")
    assert not (tmp_path / "w").exists()


def test_missing_config_file_exits_3(yolo_path, tmp_path):
    result = cli(yolo_path, "--config", tmp_path / "none.json", "--work-dir",
                 tmp_path)
    assert_error(result, EXIT_INPUT, "none.json")


def test_list_prints_marks_and_markers(yolo_path):
    result = cli(yolo_path, "--list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["marker", "name", "id", "dtype", "shape"]
    rows = [line.split(None, 4) for line in lines[1:7]]
    assert rows[1] == ["yolo_head[0]:input", "pred_maps.0", "0", "float32",
                       "[1, 3, 8, 8]"]
    assert rows[3][:3] == ["yolo_head[0]:input", "pred_maps.2", "2"]
    assert rows[5][:4] == ["detector_forward[0]:output", "labels", "1",
                           "int64"]
    assert lines[-1] == ("6 marks, 3 markers: detector_forward[0]:input "
                         "yolo_head[0]:input detector_forward[0]:output")


def test_strip_writes_the_model_without_marks(yolo_path, tmp_path):
    out = tmp_path / "end2end.onnx"
    result = cli(yolo_path, "--strip", "-o", out, "--check")
    assert result.returncode == 0, result.stderr
    stripped = onnx.load(str(out))
    assert stripped == P.strip_marks(str(yolo_path))
    assert not any(pm.is_mark(n) for n in stripped.graph.node)


def test_write_failure_exits_6(yolo_path, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a directory")
    result = cli(yolo_path, "--strip", "-o", blocker / "out.onnx")
    assert_error(result, EXIT_WRITE, str(blocker))


def test_check_failure_exits_1_and_writes_nothing(tmp_path):
    # Sigmoid has no int64 kernel: the model parses and strips, but the
    # checker's strict shape inference rejects it.
    model = onnx.helper.make_model(onnx.helper.make_graph(
        [onnx.helper.make_node("Sigmoid", ["x"], ["y"])], "int_sigmoid",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.INT64, [2])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.INT64, [2])]),
        opset_imports=[onnx.helper.make_opsetid("", pm.OPSET)])
    path = tmp_path / "int_sigmoid.onnx"
    onnx.save(model, str(path))
    out = tmp_path / "out.onnx"
    # Every output is checked; --check is only kept for compatibility.
    for check in ([], ["--check"]):
        result = cli(path, "--strip", "-o", out, *check)
        assert_error(result, EXIT_VERIFY, "fails the ONNX checker", "Sigmoid")
        assert not out.exists()


def test_usage_errors_print_the_synopsis_other_errors_do_not(yolo_path,
                                                             tmp_path):
    usage = cli(yolo_path, "--strip")
    assert usage.returncode == EXIT_USAGE
    assert usage.stderr.startswith("usage: mmdeploy-partition MODEL --list\n")
    marker = cli(yolo_path, "--start", "nope:input", "--end",
                 "yolo_head:input", "-o", tmp_path / "p.onnx")
    assert marker.returncode == EXIT_MARKER
    assert marker.stderr.startswith(ERROR_PREFIX)


def test_quiet_prints_nothing(yolo_path, tmp_path):
    result = cli(yolo_path, "--strip", "-o", tmp_path / "s.onnx", "-q")
    assert result.returncode == 0
    assert result.stdout == "" and result.stderr == ""


def test_repeated_markers_add_up_and_options_combine(yolo_path, tmp_path):
    out = tmp_path / "post.onnx"
    result = cli(yolo_path, "--start", "yolo_head:input", "--end",
                 "detector_forward:output", "--start", "detector_forward:input",
                 "--expose-uncovered-inputs", "--no-infer-shapes", "--check",
                 "-o", out)
    assert result.returncode == 0, result.stderr
    part = onnx.load(str(out))
    assert pm.graph_input_names(part) == PRED_MAPS
    assert pm.graph_output_names(part) == ["dets", "labels"]
    # The dets/labels types come from the marks even without shape inference.
    assert part.graph.output[1].type.tensor_type.elem_type == onnx.TensorProto.INT64


def test_equals_form_of_options(yolo_path, tmp_path):
    out = tmp_path / "p.onnx"
    result = cli(yolo_path, "--start=detector_forward:input",
                 "--end=yolo_head:input", f"--output={out}")
    assert result.returncode == 0, result.stderr
    assert out.is_file()
    assert_error(cli(yolo_path, "--list=yes"), EXIT_USAGE,
                 "--list: takes no value")


def test_exit_code_constants_are_the_tables_rows():
    assert [(code, name) for code, name, _ in exit_codes.EXIT_CODES] == [
        (0, "ok"), (1, "verify"), (2, "usage"), (3, "input"), (4, "marker"),
        (5, "partition"), (6, "write"), (7, "environment"),
        (130, "interrupted")]
    assert (exit_codes.EXIT_OK, exit_codes.EXIT_VERIFY, exit_codes.EXIT_USAGE,
            exit_codes.EXIT_INPUT, exit_codes.EXIT_MARKER,
            exit_codes.EXIT_PARTITION, exit_codes.EXIT_WRITE,
            exit_codes.EXIT_ENVIRONMENT,
            exit_codes.EXIT_INTERRUPTED) == (0, 1, 2, 3, 4, 5, 6, 7, 130)
    lines = exit_codes.help_table().splitlines()
    assert lines[0] == "Exit codes:"
    assert lines[1:] == [f"  {code}  {meaning}"
                         for code, _, meaning in exit_codes.EXIT_CODES]
