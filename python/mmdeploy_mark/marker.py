"""The ``mark`` decorator: puts mmdeploy::mark ops on a function's tensors.

Naming follows mmdeploy: each top-level argument (or return value) takes the
next name from ``inputs`` (``outputs``); tensors nested in lists, tuples and
dicts get the path appended: ``pred_maps.0``, ``feats.p3``. ``func_id``
counts the calls of each function name; the counts restart whenever a
RewriterContext opens and for every trace (torch.jit.trace,
torch.onnx.export), so every export gets the same ids.
"""
from __future__ import annotations

import functools
import inspect
import json
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import torch

from .dynamo_symbolic import in_dynamo_onnx_export, symbolic_mark
from .scope import MarkCounter, current_context, record_mark

MARK_TYPES = ("input", "output")
# Attributes every Mark node carries; extra attributes may not reuse them.
RESERVED_ATTRS = ("dtype", "shape", "func", "func_id", "type", "name", "id")


# Counts calls made outside any RewriterContext (each context has its own).
_UNSCOPED_COUNTER = MarkCounter()


class _TraceCounter:
    """One counter per trace. torch.jit.trace runs the model again to check
    the trace, and torch.onnx.export traces once more: each run must number
    the calls from 0, or the graphs (and the markers) differ between runs."""

    def __init__(self) -> None:
        self.state: Any = None  # the tracing state the counter belongs to
        self.counter = MarkCounter()

    def for_state(self, state: Any) -> MarkCounter:
        # Holding the state keeps its Python wrapper alive, so `is` compares
        # tracing sessions, not recycled ids.
        if state is not self.state:
            self.state = state
            self.counter = MarkCounter()
        return self.counter


_TRACE_COUNTER = _TraceCounter()


def current_counter() -> MarkCounter:
    """The counter that numbers the current call: the running trace's, else
    the innermost RewriterContext's, else the unscoped one."""
    state = torch._C._get_tracing_state()
    if state is not None:
        return _TRACE_COUNTER.for_state(state)
    context = current_context()
    return context.mark_counter if context is not None else _UNSCOPED_COUNTER


def reset_mark_function_count() -> None:
    """Restarts func_id counting in the current scope (mmdeploy's name)."""
    current_counter().reset()


def _check_attr_value(key: str, value: Any) -> None:
    scalar = (bool, int, float, str)
    ok = isinstance(value, scalar) or (
        isinstance(value, (list, tuple)) and value
        and all(isinstance(v, scalar) for v in value)
        and len({type(v) for v in value}) == 1)
    if not ok:
        raise TypeError(
            f"mark: extra attribute '{key}' must be an int, float, str or a "
            f"non-empty list of one of them (ONNX attribute types), got "
            f"{value!r}")


def encode_attrs(attrs: Dict[str, Any]) -> str:
    """Checks extra attributes and encodes them as the op's JSON argument."""
    for key, value in attrs.items():
        if key in RESERVED_ATTRS:
            raise ValueError(
                f"mark: extra attribute '{key}' clashes with a Mark attribute "
                f"of the same name; reserved: {', '.join(RESERVED_ATTRS)}")
        _check_attr_value(key, value)
    return json.dumps(attrs, sort_keys=True)


def mark_tensor(x: torch.Tensor, func: str, type: str, name: str,
                func_id: int = 0, id: int = 0, attrs: str = "{}") -> torch.Tensor:
    """Marks one tensor: an alias of ``x`` recorded as mmdeploy::mark.

    Raises:
        TypeError: ``x`` is not a tensor.
        RuntimeError: ``type`` is not 'input'/'output', or name is empty
            (checked by the op).
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"mark: '{name}' of '{func}' must be a torch.Tensor, got "
            f"{type_name(x)}")
    record_mark((func, func_id, type, name), x)
    if in_dynamo_onnx_export():
        return symbolic_mark(x, func, func_id, type, name, id, attrs)
    return torch.ops.mmdeploy.mark(x, func, func_id, type, name, id, attrs)


def type_name(value: Any) -> str:
    return type(value).__name__


class _Names:
    """Hands out top-level names in order (mmdeploy's naming context)."""

    def __init__(self, names: Sequence[str], func: str, io_type: str) -> None:
        self.names = list(names)
        self.index = 0
        self.func = func
        self.io_type = io_type

    def current(self) -> str:
        if self.index >= len(self.names):
            raise ValueError(
                f"mark('{self.func}'): more {self.io_type} values hold tensors "
                f"than names were given ({self.names}); pass one name per "
                f"{self.io_type} to @mark({self.io_type}s=[...])")
        return self.names[self.index]


def mark_tensors(values: Any, func: str, func_id: int, io_type: str,
                 names: _Names, attrs: str, is_inspecting: bool,
                 level: int) -> Any:
    """Marks every tensor in ``values``; returns the same structure.

    ``level`` -1 means ``values`` is the tuple of top-level values, each of
    which takes its own name; 0 means ``values`` is one top-level value.
    A tensor met twice is marked once. Non-tensors pass through untouched.
    """
    seen = set()
    next_id = 0

    def visit(value: Any, path: Tuple[Any, ...], depth: int) -> Any:
        nonlocal next_id
        ids_before = next_id
        path = () if depth == 0 else path
        result = value
        if isinstance(value, torch.Tensor):
            if id(value) not in seen:
                seen.add(id(value))
                name = ".".join(str(p) for p in (names.current(), *path))
                result = mark_tensor(value, func, io_type, name, func_id,
                                     next_id, attrs)
                next_id += 1
        elif isinstance(value, list):
            result = [visit(v, path + (i,), depth + 1)
                      for i, v in enumerate(value)]
        elif isinstance(value, tuple) and not hasattr(value, "_fields"):
            result = tuple(visit(v, path + (i,), depth + 1)
                           for i, v in enumerate(value))
        elif isinstance(value, tuple):  # namedtuple: keep its type
            result = type(value)(*(visit(v, path + (i,), depth + 1)
                                   for i, v in enumerate(value)))
        elif isinstance(value, dict):
            result = {k: visit(v, path + (k,), depth + 1)
                      for k, v in value.items()}
        marked_here = next_id != ids_before
        if depth == 0 and (is_inspecting or marked_here):
            names.index += 1
        # A container holding no tensor is handed on as the same object.
        return result if marked_here else value

    return visit(values, (), level)


def _as_names(names: Union[None, str, Sequence[str]], what: str) -> Optional[Tuple[str, ...]]:
    if names is None:
        return None
    if isinstance(names, str):
        names = (names,)
    names = tuple(names)
    for n in names:
        if not isinstance(n, str) or not n:
            raise ValueError(
                f"mark: every name in {what} must be a non-empty str, got "
                f"{n!r}")
    return names


def mark(func_name: Optional[str] = None,
         inputs: Union[None, str, Sequence[str]] = None,
         outputs: Union[None, str, Sequence[str]] = None,
         **attrs: Any) -> Callable[[Callable], Callable]:
    """Decorator that marks a function's input and output tensors.

    Args:
        func_name: the function's name in markers (``'yolo_head'`` in
            ``'yolo_head:input'``); defaults to the function's ``__name__``.
        inputs: names of the positional arguments, in order. When omitted,
            the names come from the function's signature. As in mmdeploy,
            only positional arguments are marked.
        outputs: names of the returned values, in order; defaults to the
            function name.
        attrs: extra attributes copied onto every Mark node (int, float, str
            or lists of them).

    Returns:
        A decorator. The wrapped function marks its tensors on every call;
        the marks are identities at run time.

    Raises:
        ValueError: an empty name, or an extra attribute reusing a Mark
            attribute name.
        TypeError: an extra attribute of a type ONNX cannot hold.
    """
    if func_name is not None and (not isinstance(func_name, str) or not func_name):
        raise ValueError(f"mark: func_name must be a non-empty str, got {func_name!r}")
    input_names = _as_names(inputs, "inputs")
    output_names = _as_names(outputs, "outputs")
    encoded_attrs = encode_attrs(attrs)

    def decorator(f: Callable) -> Callable:
        func = func_name or f.__name__
        params = list(inspect.signature(f).parameters.values())
        is_inspecting = not input_names
        in_names = input_names or tuple(p.name for p in params)
        out_names = output_names or (func,)
        # A single name (a str, or the default func name) names the whole
        # return value, its elements get suffixes; a list names the elements
        # of a returned tuple or list.
        rets_level = 0 if outputs is None or isinstance(outputs, str) else -1

        @functools.wraps(f)
        def marked(*args: Any, **kwargs: Any) -> Any:
            func_id = current_counter().next_id(func)
            args = mark_tensors(args, func, func_id, "input",
                                _Names(in_names, func, "input"),
                                encoded_attrs, is_inspecting, -1)
            rets = f(*args, **kwargs)
            return mark_tensors(rets, func, func_id, "output",
                                _Names(out_names, func, "output"),
                                encoded_attrs, False, rets_level)

        return marked

    return decorator
