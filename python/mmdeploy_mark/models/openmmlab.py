"""OpenMMLab model configs (mmdetection and its siblings).

An OpenMMLab config names its model by registry name (``type='YOLOV3'``)
within a codebase's scope (``default_scope='mmdet'``, usually inherited from
``_base_/default_runtime.py``, or ``_scope_`` in the model dict). Such a
model is built by that codebase's registry through mmengine, exactly as the
codebase's own tools build it, and its image input follows the config's
``data_preprocessor``. The codebase is imported only when a config needs it.
"""
from __future__ import annotations

import importlib.util
import logging
import sys
from typing import Any, Callable, Mapping, Optional

import torch
from torch import nn

from ..config import Config
from ..log_levels import raised_level
from ..preprocess import ImagePreprocess, MissingDependencyError

__all__ = ["MissingCodebaseError", "build_openmmlab_model", "image_preprocess",
           "openmmlab_scope", "settle_batchnorm"]

# What to install for a scope, with the versions this project is tested with.
_INSTALL_HINTS = {
    "mmdet": "mmdet==3.3.0 mmengine==0.10.7 mmcv==2.1.0 (bash scripts/setup.sh "
             "--platform mmdet creates .venv-mmdet with them)",
}


class MissingCodebaseError(MissingDependencyError):
    """An OpenMMLab config's codebase (or mmengine) is not installed."""


def _model_section(cfg: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
    model = cfg.get("model")
    return model if isinstance(model, Mapping) else None


def openmmlab_scope(cfg: Mapping[str, Any]) -> Optional[str]:
    """The codebase scope of an OpenMMLab model config, or None for a config
    whose model type is a dotted Python path (or that has no scope)."""
    model = _model_section(cfg)
    if model is None:
        return None
    type_name = model.get("type")
    if not isinstance(type_name, str) or "." in type_name:
        return None
    scope = model.get("_scope_") or cfg.get("default_scope")
    return scope if isinstance(scope, str) and scope else None


def _where(cfg: Mapping[str, Any]) -> str:
    return getattr(cfg, "filename", None) or "model config <dict>"


def _require(scope: str, cfg: Mapping[str, Any]) -> None:
    missing = [name for name in ("mmengine", scope)
               if importlib.util.find_spec(name) is None]
    if missing:
        model_type = _model_section(cfg)["type"]
        hint = _INSTALL_HINTS.get(scope, f"{scope} and mmengine")
        raise MissingCodebaseError(
            f"{_where(cfg)} is an OpenMMLab config (default_scope={scope!r}, "
            f"model.type={model_type!r}); building it needs {', '.join(missing)}, which "
            f"this Python ({sys.executable}) does not have: install {hint}")


def _without_pretrained(value: Any) -> Any:
    """A copy of a plain config (dicts and lists) without the ``init_cfg``s
    that load pretrained weights (they name URLs: nothing is downloaded for
    random weights)."""
    if isinstance(value, dict):
        return {key: _without_pretrained(item) for key, item in value.items()
                if not (key == "init_cfg" and _loads_pretrained(item))}
    if isinstance(value, (list, tuple)):
        return type(value)(_without_pretrained(v) for v in value)
    return value


def _loads_pretrained(init_cfg: Any) -> bool:
    items = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    return any(isinstance(i, Mapping) and i.get("type") == "Pretrained" for i in items)


def build_openmmlab_model(cfg: Config, scope: str, init_weights: bool = True) -> nn.Module:
    """Builds the config's model with its codebase's registry.

    With ``init_weights`` the weights are the codebase's own initialization
    (``model.init_weights()``, as training starts), except that pretrained
    weights an ``init_cfg`` names are not downloaded; the caller seeds the
    RNG. Without it the modules keep PyTorch's default initialization (a
    checkpoint replaces them anyway).

    Raises:
        MissingCodebaseError: mmengine or the codebase is not installed.
        ValueError: the registry does not know the type, or building fails
            (the message names the config and the registry's error).
    """
    _require(scope, cfg)
    from mmengine.config import Config as MMEngineConfig, ConfigDict
    from mmengine.logging import MMLogger
    from mmengine.registry import DefaultScope, MODELS

    # mmengine's own reading of the file: its semantics are the reference
    # (``{{_base_.x}}``, lazy imports); a dict config is taken as it is.
    if getattr(cfg, "filename", None):
        mm_cfg = MMEngineConfig.fromfile(cfg.filename)
    else:
        mm_cfg = MMEngineConfig(cfg.to_dict() if isinstance(cfg, Config) else dict(cfg))
    # The codebase's registry module creates its child registries; the scope
    # makes registry names resolve in it.
    importlib.import_module(f"{scope}.registry")
    with DefaultScope.overwrite_default_scope(scope):
        try:
            # ConfigDict again: the codebase reads its settings as attributes.
            model = MODELS.build(ConfigDict(_without_pretrained(mm_cfg.model.to_dict())))
            if init_weights and hasattr(model, "init_weights"):
                # mmengine logs one INFO line per parameter while initializing.
                with raised_level(MMLogger.get_current_instance(), logging.WARNING):
                    model.init_weights()
        except (KeyError, TypeError, ValueError, AssertionError) as e:
            raise ValueError(f"{_where(cfg)}: building model {mm_cfg.model.get('type')!r} "
                             f"in scope {scope!r} failed: {type(e).__name__}: {e}") from e
    if not isinstance(model, nn.Module):
        raise TypeError(f"{_where(cfg)}: the registry built a {type(model).__name__}, not a "
                        f"torch.nn.Module")
    return model


def image_preprocess(cfg: Mapping[str, Any]) -> ImagePreprocess:
    """How an image becomes this model's input: the OpenMMLab config's
    ``data_preprocessor`` (the model's, else the top-level one), or the
    default (RGB in [0, 1]) for other configs."""
    if openmmlab_scope(cfg) is None:
        return ImagePreprocess()
    data_preprocessor = _model_section(cfg).get("data_preprocessor") or cfg.get(
        "data_preprocessor")
    return ImagePreprocess.from_data_preprocessor(data_preprocessor, where=_where(cfg))


def settle_batchnorm(model: nn.Module, forward: Callable[[], Any]) -> int:
    """Sets every BatchNorm layer's running statistics to those of one
    ``forward()`` call (run in train mode for those layers only, no
    gradients); returns how many layers were set.

    For random weights of a deep network with BatchNorm: with the initial
    unit statistics each of Darknet-53's 75 conv+BN layers widens the
    activations, YOLOv3's maps reach ~1e3 and its ``exp`` overflows, so
    exported and PyTorch outputs are infinities that cannot be compared.
    Statistics measured on the input keep every layer in the range a
    trained network works in. A checkpoint brings its own statistics; this
    is for runs without one.
    """
    from torch.nn.modules.batchnorm import _BatchNorm

    layers = [m for m in model.modules() if isinstance(m, _BatchNorm)
              and m.track_running_stats]
    saved = [(m, m.training, m.momentum) for m in layers]
    try:
        for m in layers:
            m.reset_running_stats()
            m.momentum = None  # a cumulative average: one call sets the statistics
            m.train()
        with torch.no_grad():
            forward()
    finally:
        for m, training, momentum in saved:
            m.momentum = momentum
            m.train(training)
    return len(layers)
