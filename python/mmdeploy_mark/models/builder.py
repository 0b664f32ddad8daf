"""Builds a torch.nn.Module from a model config.

A model config holds ``model = dict(type='dotted.path.ClassOrFactory',
**kwargs)``. The type is imported by its dotted path, so any importable
class or factory works: ``torch.nn.Conv2d``, a user's own class (whose module
the config's ``custom_imports`` may import first, see
:mod:`mmdeploy_mark.custom_imports`). Without a checkpoint the weights are
random but reproducible (seeded without touching the caller's RNG state).
"""
import errno
import importlib
import os
from typing import Any, Callable, Dict, Mapping, Optional, Union

import torch
from torch import nn

from ..config import Config, load_config
from .openmmlab import build_openmmlab_model, openmmlab_scope

__all__ = ["build_model", "import_object", "load_checkpoint"]

ModelConfig = Union[str, "os.PathLike[str]", Mapping[str, Any]]


def import_object(path: str, what: str = "model type",
                  where: str = "") -> Callable[..., Any]:
    """Imports ``'package.module.Attr[.Attr...]'`` and returns the object.

    Args:
        path: dotted path; the longest importable module prefix is imported
            and the rest is looked up as attributes.
        what: what the path names, for messages.
        where: the config file it came from, for messages.

    Raises:
        ValueError: ``path`` is not a non-empty dotted string.
        ImportError: no prefix imports, or an attribute is missing (the
            message names the path, the failing part and the config).
    """
    suffix = f" (in {where})" if where else ""
    if not isinstance(path, str) or not path or path.startswith(".") \
            or path.endswith(".") or ".." in path:
        raise ValueError(f"{what} must be a dotted path like "
                         f"'package.module.Class', got {path!r}{suffix}")
    parts = path.split(".")
    module = None
    first_error: Optional[BaseException] = None
    for cut in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            # Only "this prefix does not exist" moves on to a shorter one; a
            # module that exists but fails inside is reported as is.
            if e.name is not None and not (module_name == e.name or
                                           module_name.startswith(e.name + ".")):
                raise ImportError(f"importing {module_name!r} for {what} "
                                  f"{path!r} failed{suffix}: {e}") from e
            first_error = first_error or e
            continue
        except Exception as e:
            raise ImportError(f"importing {module_name!r} for {what} "
                              f"{path!r} failed{suffix}: "
                              f"{type(e).__name__}: {e}") from e
        obj: Any = module
        for i in range(cut, len(parts)):
            if not hasattr(obj, parts[i]):
                raise ImportError(
                    f"cannot resolve {what} {path!r}{suffix}: "
                    f"'{'.'.join(parts[:i])}' has no attribute "
                    f"'{parts[i]}'")
            obj = getattr(obj, parts[i])
        return obj
    raise ImportError(f"cannot import {what} {path!r}{suffix}: no module "
                      f"{'.'.join(parts[:-1])!r} ({first_error}); is the "
                      f"package installed?") from first_error


def _model_dict(model_cfg: ModelConfig) -> "tuple[Dict[str, Any], str]":
    cfg = load_config(model_cfg)
    where = cfg.filename or "model config <dict>"
    if "model" in cfg:
        model = cfg["model"]
    elif "type" in cfg:
        model = cfg  # the model dict itself
    else:
        raise ValueError(f"{where}: no 'model' entry; a model config needs "
                         f"model = dict(type='package.module.Class', ...)")
    if not isinstance(model, Mapping):
        raise TypeError(f"{where}: 'model' must be a dict, got "
                        f"{type(model).__name__}")
    model = Config(model).to_dict()
    if "type" not in model:
        raise ValueError(f"{where}: 'model' has no 'type'; give the dotted "
                         f"path of a class or factory, e.g. "
                         f"type='torch.nn.Conv2d'")
    return model, where


def load_checkpoint(model: nn.Module, checkpoint: Union[str, "os.PathLike[str]"],
                    device: Union[str, torch.device] = "cpu") -> nn.Module:
    """Loads a state_dict checkpoint into ``model`` strictly.

    The file holds a state_dict or a dict with a ``'state_dict'`` entry (as
    mmcv saves). A ``module.`` prefix on every key (DataParallel) is removed.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file holds no state_dict, or its keys or shapes do
            not match the model (missing, unexpected and mismatched keys are
            listed).
    """
    path = os.fspath(checkpoint)
    if not os.path.isfile(path):
        raise FileNotFoundError(errno.ENOENT, "checkpoint not found", path)
    try:
        data = torch.load(path, map_location=device)
    except Exception as e:
        raise ValueError(f"cannot read checkpoint {path}: "
                         f"{type(e).__name__}: {e}") from e
    if isinstance(data, Mapping) and isinstance(data.get("state_dict"),
                                                Mapping):
        data = data["state_dict"]
    if not isinstance(data, Mapping) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor)
            for k, v in data.items()):
        raise ValueError(f"checkpoint {path} holds no state_dict (a dict of "
                         f"name -> tensor, or {{'state_dict': ...}}); got "
                         f"{type(data).__name__}")
    state = dict(data)
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [f"{k}: checkpoint {tuple(state[k].shape)} vs model "
                  f"{tuple(v.shape)}" for k, v in expected.items()
                  if k in state and state[k].shape != v.shape]
    if missing or unexpected or mismatched:
        lines = [f"checkpoint {path} does not match "
                 f"{type(model).__name__}:"]
        for title, keys in (("missing keys", missing),
                            ("unexpected keys", unexpected),
                            ("shape mismatches", mismatched)):
            if keys:
                shown = ", ".join(keys[:20])
                more = f" (+{len(keys) - 20} more)" if len(keys) > 20 else ""
                lines.append(f"  {title} ({len(keys)}): {shown}{more}")
        raise ValueError("\n".join(lines))
    model.load_state_dict(state, strict=True)
    return model


def build_model(model_cfg: ModelConfig,
                checkpoint: Optional[Union[str, "os.PathLike[str]"]] = None,
                device: Union[str, torch.device] = "cpu") -> nn.Module:
    """Builds the model a model config describes, in eval mode.

    Args:
        model_cfg: a config file path, a Config, or a dict holding
            ``model=dict(type='dotted.path', **kwargs)`` (or the model dict
            itself).
        checkpoint: path of a state_dict checkpoint, or None for random
            weights seeded with 0 (the global RNG state is left unchanged).
        device: where to put the model (and map the checkpoint).

    Returns:
        The model, on ``device``, in eval mode.

    Raises:
        FileNotFoundError: the config or checkpoint file does not exist.
        ValueError: no ``model``/``type`` entry, a ``type`` without a
            module, or a checkpoint that does not fit (see
            :func:`load_checkpoint`).
        ImportError: the type's dotted path cannot be imported.
        TypeError: the type is not callable, its arguments are wrong, or it
            does not build an ``nn.Module``.
    """
    cfg = load_config(model_cfg)
    scope = openmmlab_scope(cfg)
    if scope is not None:
        model = _seeded(lambda: build_openmmlab_model(cfg, scope,
                                                      init_weights=checkpoint is None), device)
        return _finish(model, checkpoint, device)
    model_dict, where = _model_dict(cfg)
    type_name = model_dict.pop("type")
    if isinstance(type_name, str) and "." not in type_name:
        # A registry name needs the codebase's scope (openmmlab.py); without
        # one there is no registry to look it up in.
        raise ValueError(f"{where}: model.type {type_name!r} names no module; "
                         f"give the dotted path of the class or factory, e.g. "
                         f"'my_project.models.{type_name}' (and import its "
                         f"package through custom_imports if it is not "
                         f"installed), or, for an OpenMMLab registry name, set "
                         f"default_scope (e.g. default_scope='mmdet')")
    if isinstance(type_name, str):
        factory = import_object(type_name, what="model type", where=where)
    elif callable(type_name):
        factory = type_name
    else:
        raise TypeError(f"{where}: model.type must be a dotted path string, "
                        f"got {type_name!r}")
    if not callable(factory):
        raise TypeError(f"{where}: model.type {type_name!r} is not callable")

    def construct() -> Any:
        try:
            return factory(**model_dict)
        except TypeError as e:
            raise TypeError(f"{where}: building {type_name!r} with "
                            f"{sorted(model_dict)} failed: {e}") from e

    model = _seeded(construct, device)
    if not isinstance(model, nn.Module):
        raise TypeError(f"{where}: model.type {type_name!r} built a "
                        f"{type(model).__name__}, not a torch.nn.Module")
    return _finish(model, checkpoint, device)


def _seeded(construct: Callable[[], Any], device: Union[str, torch.device]) -> Any:
    """Runs ``construct`` with the RNG seeded with 0, leaving the caller's
    RNG state as it was (random weights that repeat from run to run)."""
    devices = []
    if torch.device(device).type == "cuda":
        devices = [torch.device(device).index or 0]
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(0)
        return construct()


def _finish(model: nn.Module, checkpoint: Optional[Union[str, "os.PathLike[str]"]],
            device: Union[str, torch.device]) -> nn.Module:
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, device=device)
    return model.to(device).eval()
