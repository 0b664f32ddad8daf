"""The YOLOv3-style example detector (examples/yolov3), its NMS and the
model builder: random and checkpoint weights, shapes, decoding, trace, ONNX
export and onnxruntime, and the example's rewriters through custom_imports."""
import io
from pathlib import Path
from typing import List, Tuple

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

import mmdeploy_mark

from mmdeploy_mark import FUNCTION_REWRITER, RewriterContext, mark
from mmdeploy_mark.config import load_config
from mmdeploy_mark.custom_imports import import_custom_modules
from mmdeploy_mark.models import build_model

# The example is imported from the repository root (conftest puts it on
# sys.path), as custom_imports would when the tools run there.
import examples.yolov3.model as yolov3
from examples.yolov3 import postprocess
from examples.yolov3.postprocess import box_iou_matrix, multiclass_nms

REPO = Path(__file__).resolve().parents[2]
TINY_CONFIG = REPO / "examples" / "yolov3" / "configs" / "yolov3_d53_tiny.py"
NUM_CLASSES = 3

# A smaller variant than the example's config, to keep the tests fast.
SMALL_MODEL = dict(model=dict(
    type="examples.yolov3.model.YOLOV3",
    backbone=dict(type="Darknet", base_channels=4,
                  stage_blocks=(1, 1, 1, 1, 1)),
    neck=dict(type="YOLOV3Neck", in_channels=[128, 64, 32],
              out_channels=[32, 16, 8]),
    bbox_head=dict(type="YOLOV3Head", num_classes=NUM_CLASSES,
                   in_channels=[32, 16, 8], out_channels=[32, 16, 8]),
    test_cfg=dict(nms_pre=300, max_per_img=20)))

ATOL = 1e-4
RTOL = 1e-4


@pytest.fixture
def model() -> torch.nn.Module:
    return build_model(SMALL_MODEL)


def export_onnx(module: torch.nn.Module, x: torch.Tensor,
                output_names: List[str], dynamic: bool = True) -> bytes:
    buf = io.BytesIO()
    axes = None
    if dynamic:
        axes = {"input": {0: "batch", 2: "height", 3: "width"}}
        axes.update({name: {0: "batch"} for name in output_names})
    mmdeploy_mark.export(module, x, buf, exporter="torchscript", opset_version=11,
                         input_names=["input"], output_names=output_names,
                         dynamic_axes=axes)
    return buf.getvalue()


def run_ort(model_bytes: bytes, x: torch.Tensor) -> List[np.ndarray]:
    sess = ort.InferenceSession(model_bytes,
                                providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": x.numpy()})


def assert_dets_match(dets: np.ndarray, labels: np.ndarray,
                      ref_dets: np.ndarray, ref_labels: np.ndarray) -> None:
    """Compares detections as sets per image: two candidates whose scores
    differ by float rounding only may come out in either order."""
    assert dets.shape == ref_dets.shape and labels.shape == ref_labels.shape
    for n in range(dets.shape[0]):
        rows = sorted(zip(labels[n].tolist(), dets[n].round(2).tolist()))
        ref_rows = sorted(zip(ref_labels[n].tolist(),
                              ref_dets[n].round(2).tolist()))
        assert [r[0] for r in rows] == [r[0] for r in ref_rows]
        np.testing.assert_allclose(np.array([r[1] for r in rows]),
                                   np.array([r[1] for r in ref_rows]),
                                   atol=2e-2, rtol=1e-4)


class FeatAndHead(torch.nn.Module):
    """The network part: image -> pred_maps (what the seed's partition keeps)."""

    def __init__(self, detector: torch.nn.Module) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, img: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        return self.detector.bbox_head(self.detector.extract_feat(img))


# ------------------------------------------------------------------ builder


def test_random_weights_are_deterministic_and_leave_rng_alone():
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    a = build_model(TINY_CONFIG)
    assert torch.equal(torch.rand(3), expected_next)
    b = build_model(str(TINY_CONFIG))
    state_a, state_b = a.state_dict(), b.state_dict()
    assert state_a.keys() == state_b.keys()
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    assert not a.training


def test_example_config_builds_the_narrow_yolov3():
    cfg = load_config(TINY_CONFIG)
    model = build_model(cfg)
    assert isinstance(model, yolov3.YOLOV3)
    assert isinstance(model.backbone, yolov3.Darknet)
    assert isinstance(model.neck, yolov3.YOLOV3Neck)
    assert isinstance(model.bbox_head, yolov3.YOLOV3Head)
    assert model.bbox_head.num_classes == cfg.num_classes
    assert sum(p.numel() for p in model.parameters()) < 5_000_000


def test_checkpoint_round_trip(tmp_path, model):
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    state = model.state_dict()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        expected = model(x)
    for name, payload in (("plain.pth", state),
                          ("mmcv.pth", {"state_dict": state, "meta": {}}),
                          ("dp.pth", {f"module.{k}": v
                                      for k, v in state.items()})):
        torch.save(payload, tmp_path / name)
        loaded = build_model(SMALL_MODEL, checkpoint=tmp_path / name)
        with torch.no_grad():
            got = loaded(x)
        for g, e in zip(got, expected):
            torch.testing.assert_close(g, e, atol=0, rtol=0)


def test_bad_checkpoints(tmp_path, model):
    state = model.state_dict()
    key = "bbox_head.convs_pred.0.weight"

    missing = {k: v for k, v in state.items() if k != key}
    torch.save(missing, tmp_path / "missing.pth")
    with pytest.raises(ValueError, match=rf"missing keys \(1\): {key}"):
        build_model(SMALL_MODEL, checkpoint=tmp_path / "missing.pth")

    extra = dict(state, **{"extra.weight": torch.zeros(1)})
    torch.save(extra, tmp_path / "extra.pth")
    with pytest.raises(ValueError, match=r"unexpected keys \(1\): extra"):
        build_model(SMALL_MODEL, checkpoint=tmp_path / "extra.pth")

    wrong = dict(state, **{key: torch.zeros(1)})
    torch.save(wrong, tmp_path / "wrong.pth")
    with pytest.raises(ValueError, match=rf"shape mismatches .*{key}"):
        build_model(SMALL_MODEL, checkpoint=tmp_path / "wrong.pth")

    torch.save([1, 2], tmp_path / "list.pth")
    with pytest.raises(ValueError, match="holds no state_dict"):
        build_model(SMALL_MODEL, checkpoint=tmp_path / "list.pth")

    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot read checkpoint"):
        build_model(SMALL_MODEL, checkpoint=tmp_path / "junk.pth")

    with pytest.raises(FileNotFoundError, match="nope.pth"):
        build_model(SMALL_MODEL, checkpoint=tmp_path / "nope.pth")


def test_build_any_module_by_dotted_path(tmp_path):
    conv = build_model(REPO / "configs" / "models" / "torch_nn_conv2d.py")
    assert isinstance(conv, torch.nn.Conv2d) and conv.out_channels == 16
    linear = build_model(dict(type="torch.nn.Linear", in_features=2,
                              out_features=3))
    assert isinstance(linear, torch.nn.Linear)
    # No registry of short names: the library bundles no models.
    with pytest.raises(ValueError, match=r"'YOLOV3' names no module.*dotted path"):
        build_model(dict(model=dict(type="YOLOV3")))


def test_build_errors(tmp_path):
    cfg = tmp_path / "m.py"
    cfg.write_text("model = dict(type='no_such_pkg.models.Net')\n")
    with pytest.raises(ImportError) as info:
        build_model(cfg)
    assert "no_such_pkg.models.Net" in str(info.value)
    assert str(cfg) in str(info.value)

    with pytest.raises(ImportError, match="has no attribute 'NoSuchNet'"):
        build_model(dict(model=dict(type="torch.nn.NoSuchNet")))
    with pytest.raises(ValueError, match="no 'type'"):
        build_model(dict(model=dict(num_classes=3)))
    with pytest.raises(ValueError, match="no 'model' entry"):
        build_model(dict(backbone=dict()))
    with pytest.raises(TypeError, match="not a torch.nn.Module"):
        build_model(dict(model=dict(type="torch.zeros", size=[1])))
    with pytest.raises(TypeError, match="building 'torch.nn.Linear'"):
        build_model(dict(model=dict(type="torch.nn.Linear", bogus=1)))


# ------------------------------------------------------------------- model


@pytest.mark.parametrize("shape", [(1, 3, 64, 64), (2, 3, 96, 128)])
def test_forward_shapes(model, shape):
    n, _, h, w = shape
    x = torch.rand(*shape)
    attrib = 3 * (5 + NUM_CLASSES)
    with torch.no_grad():
        pred_maps = model.bbox_head(model.extract_feat(x))
        dets, labels = model(x)
    assert [tuple(p.shape) for p in pred_maps] == [
        (n, attrib, h // s, w // s) for s in (32, 16, 8)]
    assert dets.shape == (n, 20, 5) and dets.dtype == torch.float32
    assert labels.shape == (n, 20) and labels.dtype == torch.int64
    assert ((labels >= -1) & (labels < NUM_CLASSES)).all()
    found = labels >= 0
    assert found.any(), "a random model should still find boxes"
    assert (dets[~found] == 0).all()
    assert (dets[..., 4][found] > 0.05).all()
    # Scores come out sorted, best first.
    assert (dets[..., 4][:, :-1] >= dets[..., 4][:, 1:]).all()


def test_training_is_refused(model):
    with pytest.raises(NotImplementedError, match="return_loss"):
        model(torch.rand(1, 3, 64, 64), return_loss=True)


def test_decoding_of_zero_predictions(model):
    """Zero logits: each box is its anchor centred on its cell, and every
    score is sigmoid(0) * sigmoid(0)."""
    head = model.bbox_head
    pred_maps = [torch.zeros(1, 3 * (5 + NUM_CLASSES), 64 // s, 64 // s)
                 for s in (32, 16, 8)]
    boxes, scores = head.get_bboxes(pred_maps, with_nms=False)
    assert boxes.shape == (1, 3 * (4 + 16 + 64), 4)
    torch.testing.assert_close(scores, torch.full_like(scores, 0.25))
    # Level 0 (stride 32), cell (row 0, column 1), anchor 2 = (373, 326):
    # index (0 * 2 + 1) * 3 + 2.
    cx, cy, w, h = 1.5 * 32, 0.5 * 32, 373.0, 326.0
    torch.testing.assert_close(
        boxes[0, 5], torch.tensor([cx - w / 2, cy - h / 2, cx + w / 2,
                                   cy + h / 2]))
    # Level 2 (stride 8) starts after 3 * (4 + 16) boxes; cell (row 2,
    # column 3), anchor 0 = (10, 13).
    index = 3 * (4 + 16) + (2 * 8 + 3) * 3
    cx, cy, w, h = 3.5 * 8, 2.5 * 8, 10.0, 13.0
    torch.testing.assert_close(
        boxes[0, index], torch.tensor([cx - w / 2, cy - h / 2, cx + w / 2,
                                       cy + h / 2]))


def test_rescale_divides_by_scale_factor(model):
    pred_maps = model.bbox_head(model.extract_feat(torch.rand(1, 3, 64, 64)))
    boxes, _ = model.bbox_head.get_bboxes(pred_maps, with_nms=False)
    scaled, _ = model.bbox_head.get_bboxes(
        pred_maps, [dict(scale_factor=[2.0, 4.0, 2.0, 4.0])], rescale=True,
        with_nms=False)
    torch.testing.assert_close(scaled * torch.tensor([2.0, 4.0, 2.0, 4.0]),
                               boxes)


def test_patch_points_are_looked_up_at_call_time(model, monkeypatch):
    calls = []
    original = postprocess.multiclass_nms

    def spy(boxes, scores, **kwargs):
        calls.append((tuple(boxes.shape), tuple(scores.shape), kwargs))
        return original(boxes, scores, **kwargs)

    monkeypatch.setattr(postprocess, "multiclass_nms", spy)
    model(torch.rand(1, 3, 64, 64))
    (boxes_shape, scores_shape, kwargs) = calls[0]
    assert boxes_shape == (1, 252, 4) and scores_shape == (1, 252, 3)
    assert kwargs["keep_top_k"] == 20 and kwargs["pre_top_k"] == 300

    monkeypatch.setattr(yolov3.YOLOV3Head, "get_bboxes",
                        lambda self, pred_maps, *a, **k: ("head", pred_maps))
    assert model(torch.rand(1, 3, 64, 64))[0] == "head"
    monkeypatch.setattr(yolov3.BaseDetector, "forward",
                        lambda self, img, *a, **k: "detector")
    assert model(torch.rand(1, 3, 64, 64)) == "detector"


# ------------------------------------------------------- trace and export


def test_trace_matches_eager_at_other_sizes(model):
    traced = torch.jit.trace(model, torch.rand(1, 3, 64, 64))
    x = torch.rand(2, 3, 96, 128)
    with torch.no_grad():
        expected = model(x)
        got = traced(x)
    assert_dets_match(got[0].numpy(), got[1].numpy(), expected[0].numpy(),
                      expected[1].numpy())


def test_onnx_pred_maps_match_pytorch(model):
    net = FeatAndHead(model).eval()
    names = [f"pred_maps.{i}" for i in range(3)]
    onnx_bytes = export_onnx(net, torch.rand(1, 3, 64, 64), names)
    onnx.checker.check_model(onnx.load_from_string(onnx_bytes), full_check=True)
    for shape in [(1, 3, 64, 64), (3, 3, 128, 96)]:
        x = torch.rand(*shape)
        with torch.no_grad():
            expected = net(x)
        got = run_ort(onnx_bytes, x)
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e.numpy(), atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("shape", [(1, 3, 64, 64), (2, 3, 96, 128)])
def test_onnx_detector_matches_pytorch(model, shape):
    onnx_bytes = export_onnx(model, torch.rand(1, 3, 64, 64),
                             ["dets", "labels"])
    graph = onnx.load_from_string(onnx_bytes).graph
    assert {n.domain for n in graph.node} <= {""}, "only standard ONNX ops"
    x = torch.rand(*shape)
    with torch.no_grad():
        dets, labels = model(x)
    ort_dets, ort_labels = run_ort(onnx_bytes, x)
    assert ort_dets.shape == (shape[0], 20, 5)
    assert_dets_match(ort_dets, ort_labels, dets.numpy(), labels.numpy())


def test_export_with_rewriter_marks():
    """Rewriters written against this module's dotted paths put Mark nodes
    where the seed's partition config expects them."""

    @FUNCTION_REWRITER.register_rewriter(
        "examples.yolov3.model.BaseDetector.forward")
    def detector_forward(self, img, img_metas=None, return_loss=False,
                         **kwargs):
        ctx = FUNCTION_REWRITER.get_context()

        @mark("detector_forward", inputs=["input"], outputs=["dets",
                                                             "labels"])
        def impl(img):
            return ctx.origin_func(self, img, img_metas, return_loss,
                                   **kwargs)

        return impl(img)

    @FUNCTION_REWRITER.register_rewriter(
        "examples.yolov3.model.YOLOV3Head.get_bboxes")
    def head_get_bboxes(self, pred_maps, img_metas=None, cfg=None,
                        rescale=False, with_nms=True):
        ctx = FUNCTION_REWRITER.get_context()
        pred_maps = mark("yolo_head", inputs=["pred_maps"])(
            lambda pred_maps: pred_maps)(pred_maps)
        return ctx.origin_func(self, pred_maps, img_metas, cfg, rescale,
                               with_nms)

    @FUNCTION_REWRITER.register_rewriter(
        "examples.yolov3.postprocess.multiclass_nms")
    def nms(boxes, scores, **kwargs):
        ctx = FUNCTION_REWRITER.get_context()
        return mark("multiclass_nms", inputs=["boxes", "scores"])(
            lambda boxes, scores: ctx.origin_func(boxes, scores, **kwargs))(
                boxes, scores)

    model = build_model(SMALL_MODEL)
    cfg = load_config(REPO / "configs" / "mmdet" / "detection" /
                      "yolov3_partition_onnxruntime_static.py")
    buf = io.BytesIO()
    with RewriterContext(cfg=cfg, backend="onnxruntime"):
        mmdeploy_mark.export(model, torch.rand(1, 3, 64, 64), buf, exporter="torchscript",
                             opset_version=11, input_names=["input"],
                             output_names=["dets", "labels"])
    marks = [n for n in onnx.load_from_string(buf.getvalue()).graph.node
             if n.op_type == "Mark"]
    names = {(a.s.decode() if a.s else a.i)
             for n in marks for a in n.attribute if a.name == "name"}
    assert {"input", "dets", "labels", "pred_maps.0", "pred_maps.1",
            "pred_maps.2", "boxes", "scores"} <= names


def test_example_config_imports_its_rewriters_and_they_mark_the_seed_points():
    """The model config's custom_imports is how torch2onnx gets the
    example's rewriters; the library registers none itself."""
    cfg = load_config(TINY_CONFIG)
    assert cfg.model.type == "examples.yolov3.model.YOLOV3"
    assert "examples.yolov3.rewriters" in cfg.custom_imports.imports
    import_custom_modules(cfg)
    registered = {name for name, _ in FUNCTION_REWRITER._registrations}
    assert {"examples.yolov3.model.BaseDetector.forward",
            "examples.yolov3.model.YOLOV3Head.get_bboxes",
            "examples.yolov3.postprocess.multiclass_nms"} <= registered
    deploy_cfg = load_config(REPO / "configs" / "mmdet" / "detection" /
                             "yolov3_partition_onnxruntime_static.py")
    buf = io.BytesIO()
    with RewriterContext(cfg=deploy_cfg, backend="onnxruntime"):
        mmdeploy_mark.export(build_model(SMALL_MODEL), torch.rand(1, 3, 64, 64), buf,
                             exporter="torchscript", opset_version=11,
                             input_names=["input"], output_names=["dets", "labels"])
    funcs = {a.s.decode() for n in onnx.load_from_string(buf.getvalue()).graph.node
             if n.op_type == "Mark" for a in n.attribute if a.name == "func"}
    assert funcs == {"detector_forward", "yolo_head", "multiclass_nms"}


# --------------------------------------------------------------------- NMS


def reference_nms(boxes, scores, iou_threshold, score_threshold, pre_top_k,
                  keep_top_k, max_per_class):
    """Plain greedy NMS over (box, class) pairs, one image."""
    num_classes = scores.shape[1]
    iou = box_iou_matrix(boxes[None])[0].tolist()
    order = torch.argsort(scores.flatten(), descending=True, stable=True)
    kept = []
    for flat in order[:pre_top_k].tolist():
        box, label = divmod(flat, num_classes)
        score = float(scores[box, label])
        if score <= score_threshold:
            continue
        if any(k_label == label and iou[box][k_box] > iou_threshold
               for k_box, k_label, _ in kept):
            continue
        kept.append((box, label, score))
    per_class, out = {}, []
    for box, label, score in kept:
        per_class[label] = per_class.get(label, 0) + 1
        if per_class[label] <= max_per_class:
            out.append((box, label, score))
    return out[:keep_top_k]


def random_boxes(generator, num_boxes, extent=100.0):
    centers = torch.rand(num_boxes, 2, generator=generator) * extent
    sizes = torch.rand(num_boxes, 2, generator=generator) * 40 + 10
    return torch.cat([centers - sizes / 2, centers + sizes / 2], dim=-1)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("iou_threshold, max_per_class", [(0.3, 40),
                                                          (0.6, 5)])
def test_nms_matches_greedy_reference(seed, iou_threshold, max_per_class):
    g = torch.Generator().manual_seed(seed)
    boxes = random_boxes(g, 300)
    scores = torch.rand(300, 3, generator=g)
    dets, labels = multiclass_nms(
        boxes[None], scores[None], iou_threshold=iou_threshold,
        score_threshold=0.05, pre_top_k=500, keep_top_k=120,
        max_output_boxes_per_class=max_per_class)
    expected = reference_nms(boxes, scores, iou_threshold, 0.05, 500, 120,
                             max_per_class)
    n = len(expected)
    assert (labels[0, n:] == -1).all() and (dets[0, n:] == 0).all()
    assert labels[0, :n].tolist() == [label for _, label, _ in expected]
    torch.testing.assert_close(
        dets[0, :n], torch.stack([torch.cat([boxes[b], torch.tensor([s])])
                                  for b, _, s in expected]))


def test_nms_background_class_and_class_specific_boxes():
    g = torch.Generator().manual_seed(0)
    boxes = random_boxes(g, 50)
    scores = torch.rand(1, 50, 4, generator=g)
    _, labels = multiclass_nms(boxes[None], scores, background_label_id=2)
    assert (labels != 2).all()
    per_class = boxes[None, :, None, :].expand(1, 50, 4, 4).clone()
    per_class[:, :, 1] += 1000  # class 1 boxes live far away
    dets, labels = multiclass_nms(per_class, scores)
    shared_dets, shared_labels = multiclass_nms(boxes[None], scores)
    class1 = labels[0] == 1
    assert class1.any()
    assert (dets[0, class1, :4] >= 900).all()
    assert (dets[0, (labels[0] >= 0) & ~class1, :4] < 900).all()
    torch.testing.assert_close(dets[0, ~class1, 4], shared_dets[0][
        shared_labels[0] != 1][:int((~class1).sum())][:, 4])


def test_nms_pads_when_fewer_candidates_than_outputs():
    boxes = torch.tensor([[[0.0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60,
                                                               60]]])
    scores = torch.tensor([[[0.9], [0.8], [0.7]]])
    dets, labels = multiclass_nms(boxes, scores, keep_top_k=5,
                                  pre_top_k=2)
    assert dets.shape == (1, 5, 5)
    # pre_top_k below keep_top_k is raised to it; box 1 overlaps box 0.
    assert labels[0].tolist() == [0, 0, -1, -1, -1]
    torch.testing.assert_close(dets[0, 1], torch.tensor([50.0, 50, 60, 60,
                                                         0.7]))


def test_nms_rejects_bad_shapes():
    with pytest.raises(ValueError, match="scores must be"):
        multiclass_nms(torch.zeros(1, 5, 4), torch.zeros(5, 2))
    with pytest.raises(ValueError, match="boxes must be"):
        multiclass_nms(torch.zeros(1, 5, 3), torch.zeros(1, 5, 2))
