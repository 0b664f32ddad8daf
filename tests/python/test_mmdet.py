"""The seed tutorial's Step 3 on mmdetection's own models.

The end-to-end tests need mmdet, mmengine and mmcv (the mmdet platform:
bash scripts/setup.sh --platform mmdet); elsewhere they are skipped and the
tests of what a user without mmdet sees run instead.
"""
import hashlib
import http.server
import importlib.util
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper
import torch

from mmdeploy_mark.config import load_config
from mmdeploy_mark.models import build_model
from mmdeploy_mark.models.openmmlab import (MissingCodebaseError, image_preprocess,
                                            openmmlab_scope, settle_batchnorm)
from mmdeploy_mark.preprocess import ImagePreprocess, make_input

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "mmdet"
SEED_DEPLOY = EXAMPLE / "configs" / "yolov3_partition_onnxruntime_static.py"
TWO_STAGE_DEPLOY = EXAMPLE / "configs" / "faster-rcnn_two_stage_partition_onnxruntime_static.py"
DEMO = EXAMPLE / "demo.jpg"
HAVE_MMDET = all(importlib.util.find_spec(m) for m in ("mmdet", "mmengine", "mmcv"))
_skip_without_mmdet = pytest.mark.skipif(not HAVE_MMDET, reason="needs mmdet, mmengine and "
                                        "mmcv (bash scripts/setup.sh --platform mmdet)")


def needs_mmdet(test):
    """Skipped without mmdet; mmcv 2.1's own import-time warnings (moved
    classes, deprecated torch APIs) are not this project's to fail on."""
    for rule in ("ignore::ImportWarning:mmcv", "ignore::DeprecationWarning",
                 "ignore::UserWarning:mmcv", "ignore::UserWarning:mmengine"):
        test = pytest.mark.filterwarnings(rule)(test)
    return _skip_without_mmdet(test)


def _mmdet_config(relative: str) -> Path:
    import mmdet

    return Path(mmdet.__file__).parent / ".mim" / "configs" / relative


def test_seed_deploy_config_is_the_seed_file():
    shipped = ROOT / "configs" / "mmdet" / "detection" / SEED_DEPLOY.name
    assert SEED_DEPLOY.read_text() == shipped.read_text()


def test_openmmlab_configs_are_told_apart():
    assert openmmlab_scope({"default_scope": "mmdet", "model": {"type": "YOLOV3"}}) == "mmdet"
    assert openmmlab_scope({"model": {"type": "RetinaNet", "_scope_": "mmdet"}}) == "mmdet"
    assert openmmlab_scope({"default_scope": "mmdet",
                            "model": {"type": "torch.nn.Conv2d"}}) is None
    assert openmmlab_scope({"model": {"type": "YOLOV3"}}) is None


def test_missing_codebase_says_what_to_install():
    cfg = {"default_scope": "mmnotinstalled", "model": {"type": "Detector"}}
    with pytest.raises(MissingCodebaseError, match=r"OpenMMLab config .*"
                       r"default_scope='mmnotinstalled'.*needs .*mmnotinstalled.*install"):
        build_model(cfg)


@pytest.mark.skipif(HAVE_MMDET, reason="mmdet is installed here")
def test_missing_mmdet_names_the_versions_and_the_script():
    cfg = {"default_scope": "mmdet", "model": {"type": "YOLOV3"}}
    with pytest.raises(MissingCodebaseError, match=r"mmdet==3\.3\.0 .*setup\.sh --platform mmdet"):
        build_model(cfg)


def test_data_preprocessor_decides_channel_order_and_normalization(tmp_path):
    from PIL import Image

    pixels = np.zeros((2, 3, 3), dtype=np.uint8)
    pixels[..., 0], pixels[..., 1], pixels[..., 2] = 200, 100, 50  # R, G, B
    Image.fromarray(pixels).save(tmp_path / "rgb.png")
    cfg = {"default_scope": "mmdet", "model": {"type": "FasterRCNN", "data_preprocessor": {
        "mean": [123.675, 116.28, 103.53], "std": [58.395, 57.12, 57.375],
        "bgr_to_rgb": True}}}
    tensor = make_input(str(tmp_path / "rgb.png"), (2, 3), "cpu", image_preprocess(cfg))
    expected = (np.array([200, 100, 50]) - np.array([123.675, 116.28, 103.53])) / np.array(
        [58.395, 57.12, 57.375])
    np.testing.assert_allclose(tensor[0, :, 0, 0].numpy(), expected, rtol=1e-6)
    # Without bgr_to_rgb the model takes BGR, as mmcv loads images.
    bgr = ImagePreprocess.from_data_preprocessor({"mean": [0, 0, 0], "std": [1, 1, 1]})
    tensor = make_input(str(tmp_path / "rgb.png"), (2, 3), "cpu", bgr)
    assert tensor[0, :, 0, 0].tolist() == [50.0, 100.0, 200.0]
    # A plain config keeps RGB in [0, 1].
    plain = make_input(str(tmp_path / "rgb.png"), (2, 3), "cpu",
                       image_preprocess({"model": {"type": "torch.nn.Identity"}}))
    np.testing.assert_allclose(plain[0, :, 0, 0].numpy(), [200 / 255, 100 / 255, 50 / 255],
                               rtol=1e-6)
    with pytest.raises(ValueError, match="data_preprocessor.std has a zero"):
        ImagePreprocess.from_data_preprocessor({"std": [1, 0, 1]})


def _torch2onnx(*args, env=None):
    return subprocess.run([sys.executable, str(ROOT / "tools" / "torch2onnx.py"), *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=1500)


def _io(path):
    model = onnx.load(str(path), load_external_data=False)
    inits = {i.name for i in model.graph.initializer}
    return ([i.name for i in model.graph.input if i.name not in inits],
            [o.name for o in model.graph.output], {n.op_type for n in model.graph.node}, model)


class _OneFile(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@needs_mmdet
def test_seed_step3_on_mmdet_yolov3_with_a_checkpoint_url(tmp_path):
    """Step 3 as the seed writes it: the seed's deploy config, mmdet's own
    YOLOv3 config, a checkpoint URL (an OpenMMLab checkpoint with meta,
    served on 127.0.0.1), an image; then --verify."""
    model_cfg = _mmdet_config("yolo/yolov3_d53_8xb8-ms-608-273e_coco.py")
    model = build_model(str(model_cfg))
    image = make_input(str(DEMO), (608, 608), "cpu", image_preprocess(load_config(model_cfg)))
    # A checkpoint a trained model could have: BatchNorm statistics of real
    # activations, head biases that make detections (objectness 0.73, class
    # 0.27: scores above the 0.05 threshold), and prediction weights unlike
    # the seeded random ones, so that loading them shows.
    settle_batchnorm(model, lambda: model.bbox_head(model.extract_feat(image)))
    state = model.state_dict()
    for level in range(3):
        bias = state[f"bbox_head.convs_pred.{level}.bias"].view(3, -1)
        bias[:, 4], bias[:, 5:] = 1.0, -1.0
        state[f"bbox_head.convs_pred.{level}.weight"] *= 0.5
    blob = tmp_path / "blob.pth"
    torch.save({"meta": {"mmdet_version": "3.3.0", "dataset_meta": {}}, "state_dict": state},
               blob)
    digest = hashlib.sha256(blob.read_bytes()).hexdigest()
    handler = type("Handler", (_OneFile,), {"body": blob.read_bytes()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = (f"http://127.0.0.1:{server.server_address[1]}/mmdetection/v2.0/yolo/"
           f"yolov3_d53_mstrain-608_273e_coco_20210518_115020-{digest[:8]}.pth")
    work = tmp_path / "work-dirs" / "mmdet" / "yolov3" / "ort" / "partition"
    env = dict(os.environ, TORCH_HOME=str(tmp_path / "torch-home"))
    try:
        run = _torch2onnx(SEED_DEPLOY, model_cfg, url, DEMO, "--work-dir", work, "--verify",
                          env=env)
    finally:
        server.shutdown()
        server.server_close()
    assert run.returncode == 0, run.stderr[-3000:]

    cached = tmp_path / "torch-home" / "hub" / "checkpoints" / url.rsplit("/", 1)[1]
    assert cached.is_file()
    inputs, outputs, ops, part = _io(work / "yolov3.onnx")
    assert inputs == ["input"] and outputs == [f"pred_maps.{i}" for i in range(3)]
    # No anchors, decoding or NMS: the partition ends at the head's maps.
    assert not ops & {"TopK", "NonMaxSuppression", "Exp", "Sigmoid", "MatMul"}
    weights = {i.name: numpy_helper.to_array(i) for i in part.graph.initializer}
    loaded = state["bbox_head.convs_pred.0.weight"].numpy()
    assert any(w.shape == loaded.shape and np.array_equal(w, loaded) for w in weights.values())
    inputs, outputs, _, _ = _io(work / "end2end.onnx")
    assert inputs == ["input"] and outputs == ["dets", "labels"]
    import onnxruntime

    session = onnxruntime.InferenceSession(str(work / "end2end.onnx"),
                                           providers=["CPUExecutionProvider"])
    dets, labels = session.run(None, {"input": image.numpy()})
    found = labels[0] >= 0
    assert 0 < found.sum() <= 100 and (dets[0, found, 4] > 0.05).all()
    summary = json.loads((work / "summary.json").read_text())
    assert summary["checkpoint"] == url and summary["checkpoint_file"] == str(cached)
    rows = summary["verification"]["rows"]
    assert {r["where"] for r in rows} >= {"end2end.onnx", "yolov3.onnx"}
    assert all(r["ok"] for r in rows)
    assert "yolov3.onnx" in run.stderr + run.stdout


@needs_mmdet
def test_two_stage_faster_rcnn_cut_into_its_stages(tmp_path):
    model_cfg = _mmdet_config("faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py")
    work = tmp_path / "faster-rcnn"
    run = _torch2onnx(TWO_STAGE_DEPLOY, model_cfg, "none", DEMO, "--work-dir", work, "--verify")
    assert run.returncode == 0, run.stderr[-3000:]
    inputs, outputs, ops, _ = _io(work / "partition0.onnx")
    assert inputs == ["input"]
    assert outputs == [f"feat.{i}" for i in range(5)] + ["boxes", "scores"]
    assert "RoiAlign" not in ops
    inputs, outputs, ops, _ = _io(work / "partition1.onnx")
    assert inputs == ["bbox_feats"] and outputs == ["cls_score", "bbox_pred"]
    assert ops <= {"Flatten", "Reshape", "Gemm", "MatMul", "Add", "Relu", "Identity"}, ops
    _, outputs, ops, _ = _io(work / "end2end.onnx")
    assert outputs == ["dets", "labels"] and "RoiAlign" in ops
    rows = json.loads((work / "summary.json").read_text())["verification"]["rows"]
    assert {r["where"] for r in rows} >= {"end2end.onnx", "partition0.onnx",
                                         "partition1.onnx"}
    assert all(r["ok"] for r in rows)
