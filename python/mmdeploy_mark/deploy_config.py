"""The deploy config, read once into a typed object.

``DeployConfig.load(path)`` reads an mmdeploy-format deploy config and runs
every check at load time, with messages naming the file and the key; the
pipeline consumes the object and never looks at raw dicts again. ``raw``
stays available for rewriters, which receive the config as mmdeploy's do.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

from .config import (Config, cfg_apply_marks, get_backend, get_dynamic_axes,
                     get_input_shape, get_onnx_config, get_partition_config,
                     load_config, resolve_partition_cfg)


@dataclass(frozen=True)
class OnnxConfig:
    """``onnx_config``: how the model is exported."""
    save_file: str = "end2end.onnx"
    opset_version: int = 11
    input_names: List[str] = field(default_factory=lambda: ["input"])
    output_names: List[str] = field(default_factory=list)
    # [width, height] of the export input, or None for the model's own.
    input_shape: Optional[List[int]] = None
    dynamic_axes: Optional[Dict[str, Any]] = None
    export_params: bool = True
    keep_initializers_as_inputs: bool = False


@dataclass(frozen=True)
class PartitionConfig:
    """``partition_config``: the partitions to cut and whether marks apply."""
    type: Optional[str]
    apply_marks: bool
    # Validated entries (save_file, start, end, ...), from partition_cfg or
    # the predefined list of ``type``; empty when marks do not apply.
    partitions: List[Dict[str, Any]]


@dataclass(frozen=True)
class DeployConfig:
    path: Optional[str]
    raw: Config
    onnx: OnnxConfig
    partition: Optional[PartitionConfig]
    backend: str
    codebase: Dict[str, Any]

    @classmethod
    def load(cls, source: Union[str, Config, Dict[str, Any]]) -> "DeployConfig":
        """Reads and checks a deploy config (a path, a Config or a dict).

        Raises:
            FileNotFoundError: the file does not exist.
            ValueError, TypeError, SyntaxError: a bad value; the message
                names the file and the key path.
        """
        raw = load_config(source)
        onnx_raw = get_onnx_config(raw)
        onnx = OnnxConfig(
            save_file=_str(onnx_raw, "save_file", "end2end.onnx", raw),
            opset_version=_int(onnx_raw, "opset_version", 11, raw),
            input_names=_names(onnx_raw, "input_names", ["input"], raw),
            output_names=_names(onnx_raw, "output_names", [], raw),
            input_shape=get_input_shape(raw),
            dynamic_axes=get_dynamic_axes(raw),
            export_params=bool(onnx_raw.get("export_params", True)),
            keep_initializers_as_inputs=bool(
                onnx_raw.get("keep_initializers_as_inputs", False)))
        partition = None
        partition_raw = get_partition_config(raw)
        if partition_raw is not None:
            apply_marks = cfg_apply_marks(raw)
            has_list = (partition_raw.get("partition_cfg") is not None
                        or partition_raw.get("type") is not None)
            partition = PartitionConfig(
                type=partition_raw.get("type"), apply_marks=apply_marks,
                partitions=resolve_partition_cfg(raw) if apply_marks and has_list else [])
        codebase = raw.get("codebase_config") or {}
        if not isinstance(codebase, dict):
            raise TypeError(f"{_where(raw)}: codebase_config must be a dict, got "
                            f"{type(codebase).__name__}")
        return cls(path=raw.filename, raw=raw, onnx=onnx, partition=partition,
                   backend=get_backend(raw), codebase=dict(codebase))

    def where(self) -> str:
        return _where(self.raw)


def _where(cfg: Config) -> str:
    return f"deploy config {cfg.filename}" if cfg.filename else "deploy config"


def _str(section: Dict[str, Any], key: str, default: str, cfg: Config) -> str:
    value = section.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str) or not value:
        raise TypeError(f"{_where(cfg)}: onnx_config.{key} must be a non-empty string, "
                        f"got {value!r}")
    return value


def _int(section: Dict[str, Any], key: str, default: int, cfg: Config) -> int:
    value = section.get(key, default)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise TypeError(f"{_where(cfg)}: onnx_config.{key} must be a positive int, "
                        f"got {value!r}")
    return value


def _names(section: Dict[str, Any], key: str, default: List[str], cfg: Config) -> List[str]:
    value = section.get(key)
    if value is None:
        return list(default)
    if isinstance(value, str) or not all(isinstance(v, str) and v for v in value):
        raise TypeError(f"{_where(cfg)}: onnx_config.{key} must be a list of non-empty "
                        f"strings, got {value!r}")
    if len(set(value)) != len(value):
        raise ValueError(f"{_where(cfg)}: onnx_config.{key} has duplicate names: "
                         f"{list(value)}")
    return list(value)
