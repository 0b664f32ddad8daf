"""Bundled models and the model builder.

``build_model(model_cfg, checkpoint=None, device='cpu')`` builds any
importable ``torch.nn.Module`` named by dotted path in a model config; the
bundled YOLOv3-style detector lives in :mod:`mmdeploy_mark.models.yolov3`
and its post-processing in :mod:`mmdeploy_mark.models.postprocess`.
"""
from . import postprocess, yolov3
from .builder import build_model, import_object, load_checkpoint
from .postprocess import multiclass_nms
from .yolov3 import (YOLOV3, BaseDetector, Darknet, SingleStageDetector,
                     YOLOV3Head, YOLOV3Neck)

__all__ = [
    "BaseDetector", "Darknet", "SingleStageDetector", "YOLOV3", "YOLOV3Head",
    "YOLOV3Neck", "build_model", "import_object", "load_checkpoint",
    "multiclass_nms", "postprocess", "yolov3",
]
