"""tools/extract.py, --visualize, and the predefined single_stage partition."""
import importlib
import json
from pathlib import Path

import onnx
import pytest

from mmdeploy_mark import pipeline
from mmdeploy_mark.exit_codes import EXIT_INPUT, EXIT_MARKER
from mmdeploy_mark.visualize import to_dot

ROOT = Path(__file__).resolve().parents[2]
SEED_CFG = ROOT / "configs/mmdet/detection/yolov3_partition_onnxruntime_static.py"
SINGLE_STAGE_CFG = ROOT / "configs/mmdet/detection/single_stage_partition_onnxruntime_static.py"
MODEL_CFG = ROOT / "examples/yolov3/configs/yolov3_d53_tiny.py"


def load_script(name):
    return importlib.import_module(f"mmdeploy_mark.tools.{name}")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    work = tmp_path_factory.mktemp("seed")
    summary = pipeline.torch2onnx(str(SEED_CFG), str(MODEL_CFG), None, "random", str(work),
                                  partition=True, visualize=True)
    return work, summary


def test_extract_lists_markers_without_start_and_end(exported, capsys):
    work, _ = exported
    assert load_script("extract").main([str(work / "end2end.marked.onnx")]) == 0
    out = capsys.readouterr().out
    assert "yolo_head[0]:input" in out and "pred_maps.0, pred_maps.1, pred_maps.2" in out


def test_extract_cuts_the_partition(exported, tmp_path):
    work, _ = exported
    out = tmp_path / "part.onnx"
    code = load_script("extract").main([str(work / "end2end.marked.onnx"), str(out),
                                        "--start", "detector_forward:input",
                                        "--end", "yolo_head:input"])
    assert code == 0
    model = onnx.load(str(out))
    assert [o.name for o in model.graph.output] == ["pred_maps.0", "pred_maps.1", "pred_maps.2"]
    assert onnx.load(str(work / "yolov3.onnx")).graph.node == model.graph.node


def test_extract_with_an_unknown_marker_lists_the_available_ones(exported, tmp_path, capsys):
    work, _ = exported
    out = tmp_path / "part.onnx"
    code = load_script("extract").main([str(work / "end2end.marked.onnx"), str(out),
                                        "--start", "detector_forward:input",
                                        "--end", "yolo_heads:input"])
    assert code == EXIT_MARKER
    err = capsys.readouterr().err
    assert "'yolo_heads:input' matches no Mark node" in err and "yolo_head[0]:input" in err
    assert not out.exists()


def test_extract_with_a_missing_model_is_an_input_error(tmp_path, capsys):
    assert load_script("extract").main([str(tmp_path / "none.onnx")]) == EXIT_INPUT
    assert "none.onnx" in capsys.readouterr().err


def test_visualize_colours_partition_nodes_and_labels_marks(exported):
    work, summary = exported
    svg = (work / summary["visualization"]).read_text()
    assert svg.startswith("<?xml") and "</svg>" in svg
    assert "yolo_head[0]:input" in svg and "pred_maps.1" in svg and "yolov3.onnx" in svg
    marked = onnx.load(str(work / "end2end.marked.onnx"))
    part = onnx.load(str(work / "yolov3.onnx"))
    dot = to_dot(marked, [part], ["yolov3.onnx"])
    coloured = dot.count('fillcolor="#8dd3c7"')
    assert coloured == len(part.graph.node) + 1  # the partition's nodes + its legend entry


def test_predefined_single_stage_type_cuts_before_nms(tmp_path):
    summary = pipeline.torch2onnx(str(SINGLE_STAGE_CFG), str(MODEL_CFG), None, "random",
                                  str(tmp_path), partition=True, verify_outputs=True)
    assert summary["verification"]["ok"]
    (part,) = summary["partitions"]
    assert Path(part["file"]).name == "partition0.onnx"
    assert [o["name"] for o in part["outputs"]] == ["boxes", "scores"]
    assert json.loads((tmp_path / "summary.json").read_text())["partitions"][0]["end"] == [
        "multiclass_nms:input"]
