"""Deploy and model configs in mmdeploy's (mmcv's) Python config format.

A config file is Python that holds data: its module-level names that do not
start with ``_`` are the config, apart from ``_base_``, which names the files
it inherits from (a string or a list, relative to the file). Bases merge in
order, then the file's own values merge over them, dict into dict; a dict
with ``_delete_=True`` replaces the inherited value instead of merging.

The helpers at the bottom mirror ``mmdeploy.utils``: ``get_onnx_config``,
``get_partition_config``, ``cfg_apply_marks``, ``get_backend``,
``get_input_shape``, ``get_dynamic_axes``, plus ``resolve_partition_cfg``,
which returns a validated partition list for the partition pass.
"""
import copy
import errno
import json
import os
import traceback
import types
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from . import partition_types
# A partition spec's rules (keys, types, markers, save_file, dynamic_axes) are
# the partition library's (C++); this module names the config file.
from ._partition import (PartitionSpecError, check_dynamic_axes,
                         read_partition_cfg)

__all__ = [
    "Config", "load_config", "get_onnx_config", "get_partition_config",
    "cfg_apply_marks", "get_backend", "get_input_shape", "get_dynamic_axes",
    "resolve_partition_cfg",
]

PathLike = Union[str, "os.PathLike[str]"]
ConfigLike = Union[PathLike, Mapping[str, Any]]

BASE_KEY = "_base_"
DELETE_KEY = "_delete_"

def _convert(value: Any) -> Any:
    """Turns every dict inside ``value`` (also inside lists/tuples) into Config."""
    if isinstance(value, Config):
        return value
    if isinstance(value, dict):
        return Config(value)
    if isinstance(value, list):
        return [_convert(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_convert(v) for v in value)
    return value


def _to_plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_to_plain(v) for v in value)
    return value


class Config(dict):
    """A dict with attribute access whose nested dicts are Configs too.

    ``cfg.onnx_config.input_shape`` reads ``cfg['onnx_config']['input_shape']``;
    a missing key raises ``AttributeError`` (so ``getattr(cfg, k, None)``
    works) and ``cfg.x = 1`` sets a key. Keys that collide with dict methods
    (``items``, ``get``, ...) or with :attr:`filename` are read by indexing.

    Args:
        data: initial mapping (nested dicts are converted), or None.
        filename: the file the config was loaded from, if any.
    """

    __slots__ = ("_filename",)

    def __init__(self, data: Optional[Mapping[str, Any]] = None,
                 filename: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__()
        object.__setattr__(self, "_filename", filename)
        if data is not None:
            if not isinstance(data, Mapping):
                raise TypeError(
                    f"Config expects a mapping, got {type(data).__name__}")
            for key, value in data.items():
                self[key] = value
        for key, value in kwargs.items():
            self[key] = value

    @classmethod
    def fromfile(cls, path: PathLike) -> "Config":
        """Loads a config file (alias of :func:`load_config`, as in mmcv)."""
        return load_config(path)

    @property
    def filename(self) -> Optional[str]:
        """Absolute path of the file this config was loaded from, or None."""
        return self._filename

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, _convert(value))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(
                f"config has no key '{name}'"
                f" (keys: {', '.join(map(str, self.keys())) or 'none'})"
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("_filename",):
            object.__setattr__(self, name, value)
        else:
            self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def copy(self) -> "Config":
        """A deep copy (nested Configs are not shared)."""
        return copy.deepcopy(self)

    def __deepcopy__(self, memo: Dict[int, Any]) -> "Config":
        result = Config(filename=self._filename)
        memo[id(self)] = result
        for key, value in self.items():
            dict.__setitem__(result, copy.deepcopy(key, memo),
                             copy.deepcopy(value, memo))
        return result

    def __reduce__(self) -> Tuple[Any, ...]:
        return (_rebuild_config, (_to_plain(self), self._filename))

    def to_dict(self) -> Dict[Any, Any]:
        """Returns plain nested dicts/lists (e.g. for torch.onnx.export)."""
        return _to_plain(self)

    def __repr__(self) -> str:
        where = f", filename={self._filename!r}" if self._filename else ""
        return f"Config({dict.__repr__(self)}{where})"


def _rebuild_config(data: Dict[Any, Any], filename: Optional[str]) -> Config:
    return Config(data, filename=filename)


# --------------------------------------------------------------------------
# Loading


def _key_path(prefix: str, key: Any) -> str:
    if isinstance(key, str):
        return f"{prefix}.{key}" if prefix else key
    return f"{prefix}[{key!r}]"


def _strip_delete(value: Any) -> Any:
    """Removes every ``_delete_`` flag from nested dicts (a copy is returned)."""
    if isinstance(value, dict):
        return {k: _strip_delete(v) for k, v in value.items()
                if k != DELETE_KEY}
    if isinstance(value, list):
        return [_strip_delete(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_strip_delete(v) for v in value)
    return value


def _merge(child: Mapping[Any, Any], base: Dict[Any, Any], prefix: str,
           child_file: str) -> Dict[Any, Any]:
    """Merges ``child`` over ``base`` recursively; returns a new dict."""
    merged = dict(base)
    for key, value in child.items():
        path = _key_path(prefix, key)
        if isinstance(value, dict):
            replace = bool(value.get(DELETE_KEY, False))
            if key in merged and not replace:
                if not isinstance(merged[key], dict):
                    raise TypeError(
                        f"{child_file}: '{path}' is a dict but the inherited "
                        f"value is {type(merged[key]).__name__} "
                        f"({merged[key]!r}); a dict can only merge into a "
                        f"dict; set {DELETE_KEY}=True in '{path}' to replace "
                        f"the inherited value")
                merged[key] = _merge(
                    {k: v for k, v in value.items() if k != DELETE_KEY},
                    merged[key], path, child_file)
                continue
        merged[key] = _strip_delete(value)
    return merged


def _error_line(exc: BaseException, path: str) -> Optional[int]:
    """Line of ``path`` in the traceback of ``exc`` (innermost), if any."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == path:
            line = frame.lineno
    return line


def _execute(path: str) -> Dict[str, Any]:
    """Runs a config file; returns its config names (including ``_base_``)."""
    if path.endswith(".json"):
        with open(path, encoding="utf-8") as f:
            try:
                data = json.load(f)
            except json.JSONDecodeError as e:
                raise ValueError(f"invalid JSON in config {path}, line "
                                 f"{e.lineno}: {e.msg}") from e
        if not isinstance(data, dict):
            raise TypeError(f"config {path} must hold a JSON object, got "
                            f"{type(data).__name__}")
        return data
    if not path.endswith(".py"):
        raise ValueError(f"config {path}: only Python (.py) and JSON (.json) "
                         f"config files are supported")
    with open(path, encoding="utf-8") as f:
        source = f.read()
    try:
        code = compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as e:
        err = SyntaxError(
            f"syntax error in config {path}, line {e.lineno}: {e.msg}",
            (path, e.lineno, e.offset, e.text))
        raise err from e
    namespace: Dict[str, Any] = {"__file__": path,
                                 "__name__": "__mmdeploy_mark_config__"}
    try:
        exec(code, namespace)  # noqa: S102 - a config file is Python by design
    except Exception as e:
        line = _error_line(e, path)
        where = f", line {line}" if line is not None else ""
        raise ValueError(f"error while executing config {path}{where}: "
                         f"{type(e).__name__}: {e}") from e
    result = {}
    for name, value in namespace.items():
        if name.startswith("_") and name != BASE_KEY:
            continue
        if isinstance(value, (types.ModuleType, types.FunctionType,
                              types.BuiltinFunctionType, type)):
            continue
        result[name] = value
    return result


def _base_paths(raw: Any, path: str) -> List[Tuple[str, str]]:
    """Returns ``(as written, absolute path)`` for each entry of ``_base_``."""
    if isinstance(raw, str):
        entries: Sequence[Any] = [raw]
    elif isinstance(raw, (list, tuple)):
        entries = raw
    else:
        raise TypeError(f"config {path}: _base_ must be a string or a list of "
                        f"strings, got {type(raw).__name__}")
    out = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, str) or not entry:
            raise TypeError(f"config {path}: _base_[{i}] must be a non-empty "
                            f"string, got {entry!r}")
        expanded = os.path.expanduser(entry)
        full = os.path.join(os.path.dirname(path), expanded)
        out.append((entry, os.path.abspath(full)))
    return out


def _load(path: str, chain: Tuple[str, ...]) -> Dict[str, Any]:
    real = os.path.realpath(path)
    chain_real = [os.path.realpath(p) for p in chain]
    if real in chain_real:
        cycle = list(chain[chain_real.index(real):]) + [path]
        raise ValueError("cycle in _base_ inheritance: " + " -> ".join(cycle))
    own = _execute(path)
    raw_base = own.pop(BASE_KEY, None)
    merged: Dict[str, Any] = {}
    if raw_base is not None:
        for written, base_path in _base_paths(raw_base, path):
            if not os.path.isfile(base_path):
                raise FileNotFoundError(
                    errno.ENOENT,
                    f"base config '{written}' referenced by _base_ in {path} "
                    f"not found", base_path)
            base = _load(base_path, chain + (path,))
            merged = _merge(base, merged, "", base_path)
    return _merge(own, merged, "", path)


def load_config(path: Union[PathLike, Mapping[str, Any]]) -> Config:
    """Loads an mmdeploy/mmcv-format config file with its ``_base_`` files.

    Args:
        path: path of a ``.py`` (or ``.json``) config file. A mapping (a
            Config or a dict) is accepted too and returned as a Config.

    Returns:
        The merged config; ``Config.filename`` is the absolute path.

    Raises:
        FileNotFoundError: the file, or a base file, does not exist (the
            message names the referencing config).
        ValueError: a cycle in ``_base_`` (the chain is listed), or the file
            failed while executing (file and line are named).
        SyntaxError: the file is not valid Python (file and line).
        TypeError: ``_base_`` is malformed, or a dict must merge into a
            non-dict inherited value (the key path is named).
    """
    if isinstance(path, Config):
        return path
    if isinstance(path, Mapping):
        return Config(path)
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"load_config expects a path or a mapping, got "
                        f"{type(path).__name__}")
    full = os.path.abspath(os.path.expanduser(os.fspath(path)))
    if not os.path.isfile(full):
        raise FileNotFoundError(errno.ENOENT, "config file not found", full)
    return Config(_load(full, ()), filename=full)


# --------------------------------------------------------------------------
# Helpers mirroring mmdeploy.utils


def _as_config(cfg: ConfigLike) -> Config:
    return load_config(cfg)


def _where(cfg: Config) -> str:
    return f"config {cfg.filename}" if cfg.filename else "config <dict>"


def get_onnx_config(cfg: ConfigLike) -> Config:
    """Returns ``cfg.onnx_config``.

    Args:
        cfg: a loaded config, a dict or a config file path.

    Raises:
        ValueError: the config has no ``onnx_config`` dict.
    """
    cfg = _as_config(cfg)
    onnx_config = cfg.get("onnx_config")
    if not isinstance(onnx_config, dict):
        raise ValueError(
            f"{_where(cfg)} has no onnx_config dict; inherit one, e.g. "
            f"_base_ = ['../_base_/onnx_config.py']")
    return onnx_config


def get_partition_config(cfg: ConfigLike) -> Optional[Config]:
    """Returns ``cfg.partition_config``, or None when the config has none."""
    cfg = _as_config(cfg)
    partition_config = cfg.get("partition_config")
    if partition_config is None:
        return None
    if not isinstance(partition_config, dict):
        raise TypeError(f"{_where(cfg)}: partition_config must be a dict, got "
                        f"{type(partition_config).__name__}")
    return partition_config


def cfg_apply_marks(cfg: ConfigLike) -> bool:
    """Whether marks are applied: ``partition_config.apply_marks`` (default
    False, also when the config has no partition_config)."""
    partition_config = get_partition_config(cfg)
    if partition_config is None:
        return False
    return bool(partition_config.get("apply_marks", False))


def get_backend(cfg: ConfigLike, default: str = "default") -> str:
    """Returns ``backend_config.type`` (e.g. ``'onnxruntime'``), or
    ``default`` when the config names no backend."""
    cfg = _as_config(cfg)
    backend_config = cfg.get("backend_config")
    if backend_config is None:
        return default
    if not isinstance(backend_config, dict):
        raise TypeError(f"{_where(cfg)}: backend_config must be a dict, got "
                        f"{type(backend_config).__name__}")
    backend = backend_config.get("type", default)
    if not isinstance(backend, str):
        raise TypeError(f"{_where(cfg)}: backend_config.type must be a "
                        f"string, got {backend!r}")
    return backend


def get_input_shape(cfg: ConfigLike) -> Optional[List[int]]:
    """Returns ``onnx_config.input_shape`` as ``[width, height]`` or None.

    Raises:
        ValueError: the value is not None or two positive ints.
    """
    cfg = _as_config(cfg)
    shape = get_onnx_config(cfg).get("input_shape")
    if shape is None:
        return None
    if (not isinstance(shape, (list, tuple)) or len(shape) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool)
                       and v > 0 for v in shape)):
        raise ValueError(f"{_where(cfg)}: onnx_config.input_shape must be "
                         f"None or [width, height] of positive ints, got "
                         f"{shape!r}")
    return list(shape)


def _spec_error(error: PartitionSpecError, where: str) -> Exception:
    """The library's message about a spec value, naming the config file: a
    TypeError for a value of the wrong type, else a ValueError."""
    cls = TypeError if isinstance(error, TypeError) else ValueError
    return cls(f"{where}: {error}")


def get_dynamic_axes(cfg: ConfigLike,
                     axes_names: Optional[Sequence[str]] = None
                     ) -> Optional[Dict[str, Any]]:
    """Returns ``onnx_config.dynamic_axes`` as plain dicts, or None.

    A list form (one entry per tensor, in the order of ``axes_names`` or of
    ``input_names + output_names``) is converted into the dict form, as
    mmdeploy does.

    Raises:
        TypeError, ValueError: malformed dynamic_axes (the key path is named).
    """
    cfg = _as_config(cfg)
    where = _where(cfg)
    onnx_config = get_onnx_config(cfg)
    dynamic_axes = onnx_config.get("dynamic_axes")
    if dynamic_axes is None:
        return None
    if isinstance(dynamic_axes, (list, tuple)):
        if axes_names is None:
            axes_names = list(onnx_config.get("input_names", [])) + list(
                onnx_config.get("output_names", []))
        if len(axes_names) < len(dynamic_axes):
            raise ValueError(
                f"{where}: onnx_config.dynamic_axes lists "
                f"{len(dynamic_axes)} entries but only {len(axes_names)} "
                f"tensor names are known ({list(axes_names)})")
        dynamic_axes = dict(zip(axes_names, dynamic_axes))
    dynamic_axes = _to_plain(dynamic_axes)
    try:
        check_dynamic_axes(dynamic_axes, "onnx_config.dynamic_axes")
    except PartitionSpecError as e:
        raise _spec_error(e, where) from e
    return dict(dynamic_axes)


def resolve_partition_cfg(cfg: ConfigLike) -> List[Dict[str, Any]]:
    """Returns the validated list of partitions the deploy config asks for.

    ``partition_config.partition_cfg`` when present, else the predefined list
    for ``partition_config.type`` (see :mod:`mmdeploy_mark.partition_types`).
    The partition library checks the list (its rules are in
    ``partition/include/mmdeploy/partition/spec.h``). Each entry is a new
    plain dict with ``save_file`` (str ending in .onnx, relative), ``start``
    and ``end`` (lists of marker strings, possibly empty), and the optional
    keys given: ``inputs``, ``outputs``, ``output_names``,
    ``start_name_map``, ``end_name_map``, ``dynamic_axes`` (list-form axes as
    ``{axis: ''}``, named by the pass).

    Args:
        cfg: a loaded deploy config, a dict or a config file path.

    Returns:
        The partition entries, in config order.

    Raises:
        ValueError: no partition_config; no partition_cfg and a type that is
            not predefined (the known types are listed); an empty list, an
            unknown or missing key, a malformed marker or save_file,
            duplicate save_files.
        TypeError: a value of the wrong type. Messages name the config file
            and the key path, e.g. ``partition_config.partition_cfg[0].start``.
    """
    cfg = _as_config(cfg)
    where = _where(cfg)
    partition_config = get_partition_config(cfg)
    if partition_config is None:
        raise ValueError(
            f"{where} has no partition_config; add one, e.g. "
            f"partition_config = dict(type='single_stage', apply_marks=True) "
            f"or with partition_cfg=[dict(save_file='part.onnx', "
            f"start=['detector_forward:input'], end=['yolo_head:input'])]")
    entries = partition_config.get("partition_cfg")
    if entries is None:
        ptype = partition_config.get("type")
        known = partition_types.list_partition_types()
        if ptype is None:
            raise ValueError(
                f"{where}: partition_config has neither partition_cfg nor "
                f"type; give partition_cfg=[...] or one of the predefined "
                f"types: {', '.join(known)}")
        if not isinstance(ptype, str) or ptype not in known:
            raise ValueError(
                f"{where}: partition_config.type {ptype!r} is not a "
                f"predefined partition type and there is no partition_cfg; "
                f"predefined types: {', '.join(known)}")
        entries = partition_types.get_predefined_partition_cfg(ptype)
    try:
        return read_partition_cfg(entries, "partition_config.partition_cfg")
    except PartitionSpecError as e:
        raise _spec_error(e, where) from e
