"""tools/torch2onnx.py end to end: the seed's config, dynamic shapes, errors."""
import importlib
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from mmdeploy_mark import pipeline
from mmdeploy_mark.exit_codes import EXIT_INPUT, EXIT_MARKER, EXIT_USAGE

ROOT = Path(__file__).resolve().parents[2]
SEED_CFG = ROOT / "configs/mmdet/detection/yolov3_partition_onnxruntime_static.py"
DYNAMIC_CFG = ROOT / "configs/mmdet/detection/yolov3_partition_onnxruntime_dynamic.py"
MODEL_CFG = ROOT / "examples/yolov3/configs/yolov3_d53_tiny.py"


def load_script():
    return importlib.import_module("mmdeploy_mark.tools.torch2onnx")


@pytest.fixture(scope="module")
def torch2onnx():
    return load_script()


def test_seed_config_verbatim_partitions_and_verifies(torch2onnx, tmp_path, capsys):
    code = torch2onnx.main([str(SEED_CFG), str(MODEL_CFG), "none", "random",
                            "--work-dir", str(tmp_path), "--partition", "--verify"])
    assert code == 0
    part = onnx.load(str(tmp_path / "yolov3.onnx"))
    onnx.checker.check_model(part, full_check=True)
    assert [i.name for i in part.graph.input] == ["input"]
    assert [o.name for o in part.graph.output] == [f"pred_maps.{i}" for i in range(3)]
    assert not any(n.domain == "mmdeploy" for n in part.graph.node)
    full = onnx.load(str(tmp_path / "end2end.onnx"))
    assert not any(n.domain == "mmdeploy" for n in full.graph.node)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["verification"]["ok"]
    assert "detector_forward[0]:input" in summary["markers"]
    assert summary["input_shape"] == [1, 3, 608, 608]


def test_dynamic_config_partition_runs_at_another_size(torch2onnx, tmp_path):
    assert torch2onnx.main([str(DYNAMIC_CFG), str(MODEL_CFG), "none", "random",
                            "--work-dir", str(tmp_path), "--partition"]) == 0
    files = json.loads((tmp_path / "summary.json").read_text())["partitions"]
    session = ort.InferenceSession(str(tmp_path / files[0]["file"]),
                                   providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).random((2, 3, 320, 256), dtype=np.float32)
    outs = session.run(None, {session.get_inputs()[0].name: x})
    assert [o.shape[0] for o in outs] == [2, 2, 2]
    assert [o.shape[2:] for o in outs] == [(10, 8), (20, 16), (40, 32)]


@pytest.mark.parametrize("argv, code, message", [
    (["missing_cfg.py", str(MODEL_CFG), "none", "random"], EXIT_INPUT, "missing_cfg.py"),
    ([str(SEED_CFG), str(MODEL_CFG), "missing.pth", "random"], EXIT_INPUT, "missing.pth"),
    ([str(SEED_CFG), str(MODEL_CFG), "none", "missing.jpg"], EXIT_INPUT, "missing.jpg"),
    ([str(ROOT / "configs/mmdet/detection/detection_onnxruntime_static.py"), str(MODEL_CFG),
      "none", "random", "--partition"], EXIT_USAGE, "has no partition_config"),
])
def test_bad_arguments_exit_with_documented_codes(torch2onnx, tmp_path, capsys, argv, code, message):
    assert torch2onnx.main(argv + ["--work-dir", str(tmp_path)]) == code
    assert message in capsys.readouterr().err


def test_unknown_partition_type_lists_the_known_ones(torch2onnx, tmp_path, capsys):
    cfg = tmp_path / "bad_type.py"
    cfg.write_text(f"_base_ = ['{SEED_CFG}']\n"
                   "partition_config = dict(type='no_such_type', partition_cfg=None, apply_marks=True, "
                   "_delete_=True)\n")
    assert torch2onnx.main([str(cfg), str(MODEL_CFG), "none", "random",
                            "--work-dir", str(tmp_path / "w"), "--partition"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "no_such_type" in err and "single_stage" in err


def test_marker_not_in_model_lists_the_available_ones(torch2onnx, tmp_path, capsys):
    cfg = tmp_path / "bad_marker.py"
    cfg.write_text(f"_base_ = ['{SEED_CFG}']\n"
                   "partition_config = dict(partition_cfg=[dict(save_file='x.onnx', "
                   "start=['detector_forward:input'], end=['no_such_func:input'])])\n")
    assert torch2onnx.main([str(cfg), str(MODEL_CFG), "none", "random",
                            "--work-dir", str(tmp_path / "w"), "--partition"]) == EXIT_MARKER
    err = capsys.readouterr().err
    assert "no_such_func" in err and "yolo_head" in err
    assert not (tmp_path / "w" / "x.onnx").exists()


def test_verify_catches_a_wrong_partition(tmp_path, monkeypatch):
    original = pipeline.extract_partitions

    def corrupting(model, cfgs, work_dir, **kwargs):
        files = original(model, cfgs, work_dir, **kwargs)
        broken = onnx.load(files[0])
        for init in broken.graph.initializer:
            if init.data_type == onnx.TensorProto.FLOAT and init.raw_data:
                values = np.frombuffer(init.raw_data, dtype=np.float32).copy() + 0.5
                init.raw_data = values.tobytes()
                break
        onnx.save(broken, files[0])
        return files

    monkeypatch.setattr(pipeline, "extract_partitions", corrupting)
    with pytest.raises(pipeline.VerificationError, match=r"yolov3.onnx : pred_maps.\d .*FAIL"):
        pipeline.torch2onnx(str(SEED_CFG), str(MODEL_CFG), None, "random", str(tmp_path),
                            partition=True, verify_outputs=True)


@pytest.mark.parametrize("tool", ["torch2onnx", "extract"])
def test_tools_run_where_mmdeploy_users_type_them(tool):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, str(ROOT / "tools" / f"{tool}.py"), "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout and "Exit codes" in result.stdout
