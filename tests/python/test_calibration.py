"""Calibration data at partition boundaries (mmdeploy_mark.calibration and
torch2onnx --calib-file): mmdeploy's HDF5 layout under both group names, one
dataset per sample with dtype and shape kept, dynamic sizes, the file written
all at once or not at all, and the errors that name partition and input."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import calib_net
from mmdeploy_mark import extract_partitions, pipeline
from mmdeploy_mark.calibration import (CalibrationError, create_calib_file,
                                       verify_calibration)
from mmdeploy_mark.calibration.capture import run_calibration
from mmdeploy_mark.calibration.h5file import CalibFileWriter
from mmdeploy_mark.deploy_config import DeployConfig
from mmdeploy_mark.exit_codes import EXIT_INPUT, EXIT_INTERRUPTED, EXIT_PARTITION, EXIT_USAGE
from mmdeploy_mark.tools import torch2onnx

h5py = pytest.importorskip("h5py")

# Batch, height and width differ between samples: the config is dynamic.
SHAPES = [(1, 3, 32, 32), (1, 3, 48, 40), (2, 3, 24, 56), (1, 3, 16, 16)]


def deploy_cfg(tmp_path, extra=""):
    path = tmp_path / "deploy.py"
    path.write_text(calib_net.deploy_config_text(extra))
    return path


def samples(shapes=SHAPES):
    generator = torch.Generator().manual_seed(1)
    return [torch.rand(*shape, generator=generator) for shape in shapes]


def leftovers(directory):
    """Temporary files a run may have left behind."""
    return [p.name for p in Path(directory).iterdir()
            if p.name.startswith(".") or ".staging-" in p.name]


def test_both_group_names_hold_every_partition_input_per_sample(tmp_path):
    model = calib_net.CalibNet().eval()
    inputs = samples()
    result = create_calib_file(model, str(deploy_cfg(tmp_path)), inputs, tmp_path / "calib.h5")
    assert result.num_samples == len(SHAPES)
    assert [(p.group, p.alias) for p in result.partitions] == [("backbone", "partition0"),
                                                                ("head", "partition1")]
    with torch.no_grad():
        expected = [model.backbone(x) for x in inputs]
    with h5py.File(tmp_path / "calib.h5", "r") as f:
        root = f["calib_data"]
        assert sorted(root) == ["backbone", "end2end", "head", "partition0", "partition1"]
        # One group under two names: a hard link, not a copy.
        assert root["partition0"] == root["backbone"] and root["partition1"] == root["head"]
        assert f.attrs["num_samples"] == len(SHAPES)
        assert f.attrs["deploy_cfg"] == str(tmp_path / "deploy.py")
        assert "backbone[0]:output" in list(f.attrs["markers"])
        for name in ("end2end", "partition0", "backbone"):
            group = root[name]["input"]
            assert sorted(group, key=int) == [str(k) for k in range(len(SHAPES))]
            for k, x in enumerate(inputs):
                np.testing.assert_array_equal(group[str(k)][()], x.numpy())
        for name in ("partition1", "head"):
            group = root[name]
            # start_name_map renamed 'feat'; the int64 input keeps its dtype.
            assert sorted(group) == ["features", "index", "low"]
            for k, (feat, low, index) in enumerate(expected):
                assert group["features"][str(k)].dtype == np.float32
                assert group["index"][str(k)].dtype == np.int64
                assert group["index"][str(k)].shape == tuple(index.shape)
                np.testing.assert_array_equal(group["features"][str(k)][()], feat.numpy())
                np.testing.assert_array_equal(group["low"][str(k)][()], low.numpy())
                np.testing.assert_array_equal(group["index"][str(k)][()], index.numpy())
        assert list(root["head"].attrs["input_names"]) == ["features", "low", "index"]
        assert root["head"].attrs["save_file"] == "head.onnx"
    assert leftovers(tmp_path) == []


def test_partitions_fed_with_their_calibration_data_reproduce_pytorch(tmp_path):
    """The dynamic partitions, cut from one export at 32x32, fed with each
    sample of another size, give what PyTorch computed at their end marks."""
    model = calib_net.CalibNet().eval()
    deploy = DeployConfig.load(str(deploy_cfg(tmp_path)))
    marked = tmp_path / "end2end.marked.onnx"
    pipeline.export_marked(model, deploy, torch.rand(1, 3, 32, 32), str(marked))
    files = extract_partitions(str(marked), deploy.partition.partitions, tmp_path)
    result = create_calib_file(model, deploy, samples(), tmp_path / "calib.h5",
                               keep_references=True)
    report = verify_calibration(result.path, str(marked), files, deploy.partition.partitions,
                                result.references)
    assert report.ok, report.table()
    assert [(r.where, r.tensor) for r in report.rows] == [
        ("backbone.onnx (calibration, 4 samples)", name) for name in ("feat", "low", "index")
    ] + [("head.onnx (calibration, 4 samples)", name) for name in ("scores", "boxes")]
    # The comparison sees a wrong sample: corrupt one dataset of the file.
    with h5py.File(result.path, "r+") as f:
        f["calib_data/head/low/2"][...] += 1.0
    report = verify_calibration(result.path, str(marked), files, deploy.partition.partitions,
                                result.references)
    assert [r.tensor for r in report.rows if not r.ok] == ["boxes (fails at samples [2])"]


@pytest.mark.parametrize("quirk, message", [
    ("branch", "input 'refined' (mark refine[0]:output 'refined') fired 2 time(s) over 4 "
               "sample(s) (sample 0: 0 times, sample 3: 0 times)"),
    ("twice", "input 'refined' (mark refine[0]:output 'refined') fired 8 time(s) over 4 "
              "sample(s) (sample 0: 2 times, sample 1: 2 times, sample 2: 2 times, "
              "sample 3: 2 times)"),
])
def test_a_mark_that_fires_other_than_once_per_sample_names_partition_and_input(
        tmp_path, quirk, message):
    extra = ("partition_config = dict(apply_marks=True, partition_cfg=[dict("
             "save_file='refined.onnx', start=['refine:output'], end=['net_forward:output'])])\n")
    with pytest.raises(CalibrationError) as error:
        create_calib_file(calib_net.CalibNet(quirk).eval(), str(deploy_cfg(tmp_path, extra)),
                          samples(), tmp_path / "calib.h5")
    assert str(error.value).startswith("partition 0 (save_file 'refined.onnx'): " + message)
    assert list(tmp_path.iterdir()) == [tmp_path / "deploy.py"]  # no file, no temporary


def test_a_start_marker_no_mark_answers_is_an_input_without_tensor(tmp_path):
    extra = ("partition_config = dict(apply_marks=True, partition_cfg=[dict("
             "save_file='neck.onnx', start=['neck:input'], end=['net_forward:output'])])\n")
    with pytest.raises(CalibrationError, match=r"^partition 0 \(save_file 'neck.onnx'\): "
                       r"start marker 'neck:input' selected no mark while PyTorch ran 4 "
                       r"sample\(s\), so the partition's input\(s\) there received no tensor"):
        create_calib_file(calib_net.CalibNet().eval(), str(deploy_cfg(tmp_path, extra)),
                          samples(), tmp_path / "calib.h5")
    assert not (tmp_path / "calib.h5").exists()


def test_an_input_of_the_cut_partition_that_no_mark_fed_is_named(tmp_path):
    deploy = DeployConfig.load(str(deploy_cfg(tmp_path)))
    with pytest.raises(CalibrationError, match=r"^partition 1 \(save_file 'head.onnx'\): input "
                       r"'scale_factor' received no tensor"):
        with CalibFileWriter(str(tmp_path / "calib.h5")) as writer:
            run_calibration(calib_net.CalibNet().eval(), deploy, samples(), writer,
                            deploy.partition.partitions,
                            expected_inputs=[["input"], ["features", "low", "index",
                                                         "scale_factor"]])
    assert leftovers(tmp_path) == []


def test_a_failed_or_interrupted_run_leaves_the_previous_file(tmp_path):
    path = tmp_path / "calib.h5"
    create_calib_file(calib_net.CalibNet().eval(), str(deploy_cfg(tmp_path)), samples(), path)
    before = path.read_bytes()

    def interrupted():
        yield from samples()[:2]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        create_calib_file(calib_net.CalibNet().eval(), str(deploy_cfg(tmp_path)),
                          interrupted(), path)
    with pytest.raises(TypeError, match="calibration sample 1 must be a tensor"):
        create_calib_file(calib_net.CalibNet().eval(), str(deploy_cfg(tmp_path)),
                          [samples()[0], "not a tensor"], path)
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []


# --- torch2onnx --------------------------------------------------------------------


def run_tool(tmp_path, *flags, extra=""):
    model_cfg = tmp_path / "model.py"
    model_cfg.write_text(calib_net.MODEL_CONFIG)
    return torch2onnx.main([str(deploy_cfg(tmp_path, extra)), str(model_cfg), "none", "random",
                            "--work-dir", str(tmp_path / "w"), *flags])


def test_torch2onnx_writes_and_verifies_the_calibration_data(tmp_path, capsys):
    assert run_tool(tmp_path, "--calib-file", str(tmp_path / "w" / "calib.h5"),
                    "--calib-samples", "3", "--verify") == 0
    out = capsys.readouterr().out
    for row in ("end2end.onnx (calibration, 3 samples) : scores",
                "backbone.onnx (calibration, 3 samples) : index",
                "head.onnx (calibration, 3 samples) : boxes"):
        assert row in out
    summary = json.loads((tmp_path / "w" / "summary.json").read_text())
    assert "calib.h5" in summary["files"]  # published with the run's other outputs
    calibration = summary["calibration"]
    assert calibration["samples"] == 3 and calibration["source"] == "3 random input(s), seed 0"
    assert [p["alias"] for p in calibration["partitions"]] == ["calib_data/partition0",
                                                               "calib_data/partition1"]
    with h5py.File(tmp_path / "w" / "calib.h5", "r") as f:
        first = f["calib_data/end2end/input/0"][()]
        assert first.shape == (1, 3, 32, 32)
        # The random samples are seeded: the first is the export's 'random' input.
        np.testing.assert_array_equal(first, pipeline.make_input("random", (32, 32), "cpu"))
        assert sorted(f["calib_data/partition1"]) == ["features", "index", "low"]


def test_torch2onnx_calibrates_on_every_image_of_a_directory(tmp_path):
    image = pytest.importorskip("PIL.Image")
    images = tmp_path / "images"
    images.mkdir()
    for i, size in enumerate([(40, 30), (64, 64)]):
        image.new("RGB", size, (40 * i, 90, 200)).save(images / f"img{i}.png")
    (images / "notes.txt").write_text("not an image")
    calib = tmp_path / "elsewhere" / "calib.h5"
    calib.parent.mkdir()
    assert run_tool(tmp_path, "--calib-file", str(calib), "--calib-images", str(images)) == 0
    with h5py.File(calib, "r") as f:
        group = f["calib_data/end2end/input"]
        assert sorted(group) == ["0", "1"]
        for k in range(2):
            expected = pipeline.make_input(str(images / f"img{k}.png"), (32, 32), "cpu")
            np.testing.assert_array_equal(group[str(k)][()], expected.numpy())
    assert leftovers(calib.parent) == []


def test_torch2onnx_interrupted_after_calibration_keeps_the_previous_file(
        tmp_path, monkeypatch):
    calib = tmp_path / "elsewhere" / "calib.h5"
    calib.parent.mkdir()
    assert run_tool(tmp_path, "--calib-file", str(calib), "--calib-samples", "2") == 0
    before = calib.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    # Verification runs after calibration and before publishing.
    monkeypatch.setattr(pipeline, "verify", interrupted)
    assert run_tool(tmp_path, "--calib-file", str(calib), "--calib-samples", "3",
                    "--verify") == EXIT_INTERRUPTED
    assert calib.read_bytes() == before and leftovers(calib.parent) == []


@pytest.mark.parametrize("flags, extra, code, message", [
    (["--calib-samples", "2"], "", EXIT_USAGE, "need --calib-file PATH"),
    (["--calib-file", "{tmp}/c.h5"], "", EXIT_USAGE, "exactly one of --calib-images"),
    (["--calib-file", "{tmp}/c.h5", "--calib-samples", "0"], "", EXIT_USAGE,
     "--calib-samples must be at least 1"),
    (["--calib-file", "{tmp}/c.h5", "--calib-images", "{tmp}"], "", EXIT_INPUT,
     "holds no image"),
    (["--calib-file", "{tmp}/no_dir/c.h5", "--calib-samples", "1"], "", EXIT_USAGE,
     "does not exist; create it"),
    (["--calib-file", "{tmp}/w/head.onnx", "--calib-samples", "1"], "", EXIT_USAGE,
     "is also the run's output 'head.onnx'"),
    (["--calib-file", "{tmp}/c.h5", "--calib-samples", "1"],
     "partition_config = dict(apply_marks=True, partition_cfg=[dict("
     "save_file='partition1.onnx', start=['backbone:output'], end=['net_forward:output']), "
     "dict(save_file='x.onnx', "
     "start=['backbone:output'], end=['net_forward:output'])])\n", EXIT_PARTITION,
     "partition 1 (save_file 'x.onnx'): its calibration group 'calib_data/partition1' is "
     "also the group of partition 0"),
])
def test_torch2onnx_calibration_mistakes_end_in_one_line_and_the_documented_code(
        tmp_path, capsys, flags, extra, code, message):
    flags = [f.replace("{tmp}", str(tmp_path)) for f in flags]
    assert run_tool(tmp_path, *flags, extra=extra) == code
    err = capsys.readouterr().err
    assert err.startswith("torch2onnx: error: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "w").exists() and not (tmp_path / "c.h5").exists()
