"""torch2onnx and extract as mmdeploy users expect them: partitions cut whenever
the deploy config asks, one exit-code table, no traceback for a user mistake,
all outputs published together or none, stage logs."""
import json
import logging
import os
from pathlib import Path

import pytest

from mmdeploy_mark import exit_codes, pipeline
from mmdeploy_mark.tools import extract, torch2onnx

ROOT = Path(__file__).resolve().parents[2]
SEED_CFG = ROOT / "configs/mmdet/detection/yolov3_partition_onnxruntime_static.py"
MODEL_CFG = ROOT / "examples/yolov3/configs/yolov3_d53_tiny.py"


def small_cfg(tmp_path, extra=""):
    """The seed's deploy config at 64x64 (fast), plus ``extra`` lines."""
    cfg = tmp_path / "deploy.py"
    cfg.write_text(f"_base_ = ['{SEED_CFG}']\nonnx_config = dict(input_shape=[64, 64])\n{extra}")
    return cfg


def run(cfg, work, *flags):
    return torch2onnx.main([str(cfg), str(MODEL_CFG), "none", "random",
                            "--work-dir", str(work), *flags])


def listing(directory):
    return sorted(str(p.relative_to(directory)) for p in Path(directory).rglob("*"))


def test_a_partition_config_is_cut_without_the_partition_flag(tmp_path):
    work = tmp_path / "w"
    assert run(small_cfg(tmp_path), work) == 0
    assert (work / "yolov3.onnx").is_file()
    summary = json.loads((work / "summary.json").read_text())
    assert [p["file"] for p in summary["partitions"]] == ["yolov3.onnx"]
    # summary.json lists exactly the files of the run.
    assert sorted([*summary["files"], "summary.json"]) == listing(work)
    assert summary["command"].startswith("torch2onnx ")


def test_no_partition_turns_cutting_off(tmp_path):
    work = tmp_path / "w"
    assert run(small_cfg(tmp_path), work, "--no-partition") == 0
    assert listing(work) == ["end2end.marked.onnx", "end2end.onnx", "report.html",
                             "summary.json"]


def test_apply_marks_false_exports_without_marks_and_says_so(tmp_path, caplog):
    cfg = small_cfg(tmp_path, "partition_config = dict(apply_marks=False)\n")
    work = tmp_path / "w"
    with caplog.at_level(logging.WARNING, logger="mmdeploy_mark"):
        assert run(cfg, work) == 0
    assert "apply_marks is not True" in caplog.text
    assert listing(work) == ["end2end.onnx", "report.html", "summary.json"]
    assert run(cfg, tmp_path / "w2", "--partition") == exit_codes.EXIT_USAGE


def test_stages_are_logged_with_their_durations(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="mmdeploy_mark"):
        assert run(small_cfg(tmp_path), tmp_path / "w", "--verify") == 0
    for stage in ("load", "export", "strip", "cut", "verify"):
        assert f"{stage}: done in" in caplog.text, stage


@pytest.mark.parametrize("setup, flags, code, message", [
    ("file", [], exit_codes.EXIT_USAGE, "is a file, not a directory"),
    ("output_names", [], exit_codes.EXIT_USAGE, "onnx_config.output_names names 3 outputs"),
    ("none", ["--device", "cuda:0"], exit_codes.EXIT_ENVIRONMENT, "no CUDA device"),
    ("marker", [], exit_codes.EXIT_MARKER, "no_such_func"),
    ("none", ["--device", "nonsense"], exit_codes.EXIT_USAGE, "not a torch device"),
])
def test_user_mistakes_end_in_one_line_and_the_documented_code(
        tmp_path, capsys, setup, flags, code, message):
    extra = {
        "output_names": "onnx_config = dict(output_names=['dets', 'labels', 'extra'])\n",
        "marker": "partition_config = dict(partition_cfg=[dict(save_file='x.onnx', "
                  "start=['detector_forward:input'], end=['no_such_func:input'])])\n",
    }.get(setup, "")
    work = tmp_path / "w"
    if setup == "file":
        work.write_text("not a directory")
    assert run(small_cfg(tmp_path, extra), work, *flags) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert err.startswith("torch2onnx: error: ")
    if setup != "file":
        assert not work.exists()  # a failed run creates no work dir


def test_ctrl_c_leaves_the_work_dir_as_it_was(tmp_path, monkeypatch, capsys):
    work = tmp_path / "w"
    assert run(small_cfg(tmp_path), work) == 0
    before = {name: (work / name).read_bytes() for name in listing(work)}

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "extract_partitions", interrupted)
    assert run(small_cfg(tmp_path), work) == exit_codes.EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "interrupted" in err
    assert {name: (work / name).read_bytes() for name in listing(work)} == before
    assert [p.name for p in tmp_path.iterdir() if ".staging-" in p.name] == []


def test_files_of_an_earlier_run_are_reported_or_cleaned(tmp_path):
    work = tmp_path / "w"
    work.mkdir()
    (work / "old_partition.onnx").write_bytes(b"from an earlier config")
    (work / "notes.txt").write_text("the user's")
    assert run(small_cfg(tmp_path), work) == 0
    summary = json.loads((work / "summary.json").read_text())
    assert summary["earlier_files"] == ["old_partition.onnx"]
    assert run(small_cfg(tmp_path), work, "--clean") == 0
    assert not (work / "old_partition.onnx").exists() and (work / "notes.txt").exists()


def test_help_of_each_tool_prints_the_exit_code_table(capsys):
    for tool in (torch2onnx, extract):
        with pytest.raises(SystemExit):
            tool.main(["--help"])
        out = capsys.readouterr().out
        for code, name, meaning in exit_codes.EXIT_CODES:
            assert f"{code}" in out and meaning in out, (tool.__name__, code)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    work = tmp_path_factory.mktemp("exported")
    cfg = small_cfg(work)
    assert run(cfg, work / "w") == 0
    return work / "w"


def test_extract_on_the_deployable_model_points_to_the_marked_one(exported, capsys):
    code = extract.main([str(exported / "end2end.onnx"), str(exported / "p.onnx"),
                         "--start", "detector_forward:input", "--end", "yolo_head:input"])
    assert code == exit_codes.EXIT_MARKER
    assert str(exported / "end2end.marked.onnx") in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--start", "detector_forward:input"],
                                  ["--end", "yolo_head:input"]])
def test_extract_needs_start_end_and_output_together(exported, tmp_path, capsys, args):
    out = tmp_path / "p.onnx"
    assert extract.main([str(exported / "end2end.marked.onnx"), str(out), *args]) == \
        exit_codes.EXIT_USAGE
    assert "missing" in capsys.readouterr().err and not out.exists()


def test_every_exit_code_of_the_table_is_distinct():
    codes = [code for code, _, _ in exit_codes.EXIT_CODES]
    assert len(codes) == len(set(codes)) and 0 in codes and 130 in codes
    assert os.EX_OK == exit_codes.EXIT_OK


def test_name_maps_in_the_deploy_config_reach_the_partition_and_verify(tmp_path):
    extra = ("partition_config = dict(partition_cfg=[dict(save_file='yolov3.onnx', "
             "start=['detector_forward:input'], end=['yolo_head:input'], "
             "start_name_map={'input': 'image'}, "
             "end_name_map={'pred_maps.0': 'p3', 'pred_maps.1': 'p4', 'pred_maps.2': 'p5'})])\n")
    work = tmp_path / "w"
    assert run(small_cfg(tmp_path, extra), work, "--verify") == 0
    summary = json.loads((work / "summary.json").read_text())
    (part,) = summary["partitions"]
    assert [i["name"] for i in part["inputs"]] == ["image"]
    assert [o["name"] for o in part["outputs"]] == ["p3", "p4", "p5"]
    assert summary["verification"]["ok"]


def test_the_readme_shows_the_exit_code_table_as_the_tools_print_it():
    readme = (ROOT / "README.md").read_text()
    for code, _, meaning in exit_codes.EXIT_CODES:
        assert f"| {code} | {meaning} |" in readme, code


def test_an_unreadable_image_is_an_input_error(tmp_path, capsys):
    image = tmp_path / "broken.jpg"
    image.write_bytes(b"not an image")
    code = torch2onnx.main([str(small_cfg(tmp_path)), str(MODEL_CFG), "none", str(image),
                            "--work-dir", str(tmp_path / "w")])
    assert code == exit_codes.EXIT_INPUT
    assert "cannot read image" in capsys.readouterr().err
