"""Post-processing parameters and the marked NMS shared by the rewriters.

The parameters come from the deploy config's
``codebase_config.post_processing`` (as in mmdeploy), falling back to the
head's ``test_cfg``. The NMS is the fixed-size, standard-ONNX one of the
YOLOv3 example (``examples.yolov3.postprocess.multiclass_nms``), so that the
exported graph runs in onnxruntime with no custom op.
"""
from typing import Any, Dict, Mapping, Optional, Tuple

from torch import Tensor

from examples.yolov3.postprocess import multiclass_nms as _fixed_size_nms
from mmdeploy_mark import FUNCTION_REWRITER, mark


def _get(cfg: Any, key: str, default: Any = None) -> Any:
    if cfg is None:
        return default
    if isinstance(cfg, Mapping):
        return cfg.get(key, default)
    return getattr(cfg, key, default)


def nms_params(test_cfg: Any) -> Dict[str, Any]:
    """``multiclass_nms`` keyword arguments for one head."""
    ctx = FUNCTION_REWRITER.get_context()
    post: Optional[Mapping[str, Any]] = _get(_get(ctx.cfg, "codebase_config"),
                                             "post_processing")
    nms = _get(test_cfg, "nms", {})
    if post:
        return dict(iou_threshold=float(_get(post, "iou_threshold", 0.5)),
                    score_threshold=float(_get(post, "score_threshold", 0.05)),
                    max_output_boxes_per_class=int(_get(post, "max_output_boxes_per_class", 200)),
                    pre_top_k=int(_get(post, "pre_top_k", 1000)),
                    keep_top_k=int(_get(post, "keep_top_k", 100)))
    return dict(iou_threshold=float(_get(nms, "iou_threshold", 0.5)),
                score_threshold=float(_get(test_cfg, "score_thr", 0.05)),
                max_output_boxes_per_class=-1,
                pre_top_k=int(_get(test_cfg, "nms_pre", 1000)),
                keep_top_k=int(_get(test_cfg, "max_per_img", 100)))


def confidence_threshold(test_cfg: Any) -> float:
    """YOLO's objectness threshold (``conf_thr``)."""
    ctx = FUNCTION_REWRITER.get_context()
    post = _get(_get(ctx.cfg, "codebase_config"), "post_processing")
    return float(_get(post, "confidence_threshold", _get(test_cfg, "conf_thr", -1.0)))


@mark('multiclass_nms', inputs=['boxes', 'scores'], outputs=['dets', 'labels'])
def multiclass_nms(boxes: Tensor, scores: Tensor, **params: Any) -> Tuple[Tensor, Tensor]:
    """The NMS every head ends with; the mark lets a partition end at its
    inputs (mmdeploy's ``multiclass_nms:input``)."""
    return _fixed_size_nms(boxes, scores, **params)
