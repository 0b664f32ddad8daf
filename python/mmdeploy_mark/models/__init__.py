"""The model builder.

``build_model(model_cfg, checkpoint=None, device='cpu')`` builds any
importable ``torch.nn.Module`` named by dotted path in a model config. The
library bundles no models; the YOLOv3 example lives in ``examples/yolov3``
and is imported through its config's ``custom_imports``.
"""
from .builder import build_model, import_object, load_checkpoint

__all__ = ["build_model", "import_object", "load_checkpoint"]
