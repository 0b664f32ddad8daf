"""TorchScript-based ONNX export (torch.onnx.export(dynamo=False)) of
torch.ops.mmdeploy.mark as mmdeploy::Mark nodes.

The symbolic is registered through torch's public register_custom_op_symbolic.
Exported as it is, a mark becomes an ``mmdeploy::Mark`` node whose output
keeps the input's type. But the TorchScript exporter (torch 1.13 as 2.x) runs
ONNX shape inference only on nodes of the onnx namespace: tensors computed
after a custom-domain node lose their shapes, and each such node triggers
"The shape inference of mmdeploy::Mark type is missing". So inside
``marks_export_hook()`` (which mmdeploy_mark.export enters; nothing in torch
changes outside it) a mark is carried by something the exporter understands,
and turned into the ``mmdeploy::Mark`` node only when the exporter has
finished its graph passes (its ``_model_to_graph`` step):

- a mark on an intermediate tensor is a ``Cast`` to the tensor's own type
  (an exact identity that, unlike ``Identity``, keeps the exporter's symbols
  for dynamic dims) with the Mark attributes and a private tag;
- a mark on a model input adds no node at all while exporting (any node
  after an input makes the exporter drop the input's dynamic-dim symbols, and
  with them shapes such as a Reshape's -1); the Mark is inserted after the
  input at the end;
- a mark on a parameter or constant, or on a tensor of unknown type, is an
  ``Identity`` (constant folding would fold a Cast of a constant).
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib
import json
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Tuple

import torch
from torch.onnx import register_custom_op_symbolic, symbolic_helper

from .onnx_schema import MARK_DOMAIN, MARK_OP_TYPE
from .onnx_types import onnx_dtype_of_scalar_type
from .scope import marks_enabled

MARK_OP = "mmdeploy::mark"
MARK_ONNX_KIND = f"{MARK_DOMAIN}::{MARK_OP_TYPE}"
# Where the TorchScript exporter's _model_to_graph lives: torch 2.x moved it
# (torch.onnx.utils only re-exports it there, and the exporter calls its own).
_EXPORTER_MODULES = ("torch.onnx._internal.torchscript_exporter.utils",
                     "torch.onnx.utils")
# Lowest opset the symbolic is registered for; the exporter uses it for
# every later opset too.
MARK_SYMBOLIC_OPSET = 1
# Private attribute tagging the nodes that become Mark nodes.
_PENDING_ATTR = "__mmdeploy_pending_mark"
# Attributes of the carrier op itself, not of the mark.
_CARRIER_ATTRS = (_PENDING_ATTR, "to")



@dataclass
class _ExportState:
    """What the symbolic records during one torch.onnx.export."""
    # Graph inputs after the model's own inputs are its parameters and
    # buffers (as torch's exporter lays them out); None when not known.
    num_params: Optional[int]
    # (unique id of a model input, g.op-style attributes) in call order.
    deferred: List[Tuple[int, Dict[str, Any]]] = field(default_factory=list)


# Exports running under marks_export_hook in this thread or task, innermost
# last (exports may nest).
_RUNNING_EXPORTS: contextvars.ContextVar[Tuple[_ExportState, ...]] = (
    contextvars.ContextVar("mmdeploy_mark_running_exports", default=()))


def _is_model_input(g, x, state: _ExportState) -> bool:
    if state.num_params is None or x.node().kind() != "prim::Param":
        return False
    uniques = [v.unique() for v in g.graph.inputs()]
    if x.unique() not in uniques:
        return False  # a block parameter, not a graph input
    return uniques.index(x.unique()) < len(uniques) - state.num_params


def _tensor_type(value: Any) -> Tuple[int, Optional[List[int]]]:
    """(ONNX dtype, static shape or None) of a JIT value's tensor type."""
    t = value.type()
    if not isinstance(t, torch._C.TensorType):
        return 0, None
    dtype = onnx_dtype_of_scalar_type(t.scalarType())
    sizes = t.varyingSizes()
    if sizes is None or any(s is None for s in sizes):
        return dtype, None
    return dtype, [int(s) for s in sizes]


def _attr_kwargs(attrs: dict) -> dict:
    """Extra attributes as g.op keyword arguments with ONNX type suffixes."""
    out = {}
    for key, value in attrs.items():
        sample = value[0] if isinstance(value, list) else value
        if isinstance(sample, bool) or isinstance(sample, int):
            suffix, value = "i", ([int(v) for v in value]
                                  if isinstance(value, list) else int(value))
        elif isinstance(sample, float):
            suffix = "f"
        else:
            suffix = "s"
        out[f"{key}_{suffix}"] = value
    return out


@symbolic_helper.parse_args("v", "s", "i", "s", "s", "i", "s")
def mark_symbolic(g, x, func, func_id, type, name, id, attrs):
    """Symbolic of mmdeploy::mark; see the module docstring."""
    if not marks_enabled():
        return x
    # The traced output type holds the tensor's dtype and shape at export
    # time; the input value may already carry symbolic (dynamic) dims.
    dtype, shape = _tensor_type(g.original_node.output())
    if shape is None or dtype == 0:
        in_dtype, in_shape = _tensor_type(x)
        dtype = dtype or in_dtype
        shape = shape if shape is not None else in_shape
    kwargs = dict(func_s=func, func_id_i=func_id, type_s=type, name_s=name,
                  id_i=id, dtype_i=dtype)
    if shape is not None:
        kwargs["shape_i"] = shape
    kwargs.update(_attr_kwargs(json.loads(attrs or "{}")))
    running = _RUNNING_EXPORTS.get()
    if not running:
        # A plain torch.onnx.export: the Mark node itself, typed as its input.
        mark = g.op(MARK_ONNX_KIND, x, **kwargs)
        mark.setType(x.type())
        return mark
    state = running[-1]
    if _is_model_input(g, x, state):
        state.deferred.append((x.unique(), kwargs))
        return x
    kwargs[_PENDING_ATTR + "_i"] = 1
    # Constant folding would fold a Cast of a parameter, buffer or constant
    # (and the mark with it); an Identity there is kept.
    folds = x.node().kind() in ("onnx::Constant", "prim::Param")
    if dtype and not folds:
        return g.op("Cast", x, to_i=dtype, **kwargs)
    return g.op("Identity", x, **kwargs)


def _blocks_nodes(block) -> List[Any]:
    nodes = []
    for node in block.nodes():
        nodes.append(node)
        for sub in node.blocks():
            nodes.extend(_blocks_nodes(sub))
    return nodes


def _input_symbols(graph: torch._C.Graph) -> set:
    """Dynamic-dim symbols of the model's inputs: the named dynamic axes."""
    symbols = set()
    for value in graph.inputs():
        if isinstance(value.type(), torch._C.TensorType):
            symbols.update(d for d in (value.type().symbolic_sizes() or [])
                           if d is not None and d < 0)
    return symbols


def _declared_type(value: Any, trusted: set) -> Any:
    """The type a Mark output is declared with: the input's type, keeping
    static dims and the model inputs' dynamic-dim symbols. Other symbols are
    replaced by fresh ones: torch 1.13 sometimes gives unrelated dims one
    symbol (e.g. the heights of all three YOLO scales), and the file must not
    claim such dims equal."""
    t = value.type()
    if not isinstance(t, torch._C.TensorType) or t.symbolic_sizes() is None:
        return t
    dims = [d if d is None or d >= 0 or d in trusted else None
            for d in t.symbolic_sizes()]
    return t.with_sizes(dims)


def finalize_marks(graph: torch._C.Graph) -> int:
    """Turns the tagged nodes of an exported graph into Mark nodes.

        before:  %y = onnx::Cast[to=1, func="f", ..., __mmdeploy_pending_mark=1](%x)
        after:   %y = mmdeploy::Mark[func="f", ...](%x)

    The output keeps its name and its inferred type. Returns the number of
    nodes turned.
    """
    turned = 0
    trusted = _input_symbols(graph)
    for node in _blocks_nodes(graph):
        if not node.hasAttribute(_PENDING_ATTR):
            continue
        mark = graph.create(MARK_ONNX_KIND, [node.input()], 1)
        for attr in node.attributeNames():
            if attr in _CARRIER_ATTRS:
                continue
            kind = node.kindOf(attr)
            getattr(mark, kind + "_")(attr, getattr(node, kind)(attr))
        mark.insertBefore(node)
        old_output = node.output()
        mark.output().setType(_declared_type(old_output, trusted))
        old_output.replaceAllUsesWith(mark.output())
        name = old_output.debugName()
        node.destroy()
        # Numeric names are the exporter's automatic ones; only real names
        # (e.g. user output_names) need to survive.
        if not name.isdigit():
            mark.output().setDebugName(name)
        turned += 1
    return turned


def _set_attributes(node, kwargs: Dict[str, Any]) -> None:
    """Sets g.op-style attributes ("func_s", "shape_i", ...) on a node."""
    for key, value in kwargs.items():
        name, kind = key.rsplit("_", 1)
        if isinstance(value, (list, tuple)):
            getattr(node, kind + "s_")(name, list(value))
        else:
            getattr(node, kind + "_")(name, value)


def insert_deferred_marks(graph: torch._C.Graph,
                          deferred: List[Tuple[int, Dict[str, Any]]]) -> int:
    """Inserts the Mark nodes of marked model inputs, in call order; several
    marks on one input form a chain. Every use of the input reads the last
    mark instead:

        before:  %z = onnx::Conv(%input, ...)
        after:   %m = mmdeploy::Mark[func="f", ...](%input); %z = onnx::Conv(%m, ...)

    Inputs the exporter removed (unused) are skipped. Returns the number of
    nodes inserted.
    """
    inputs = {v.unique(): v for v in graph.inputs()}
    heads: Dict[int, Any] = {}
    inserted = 0
    for unique, kwargs in deferred:
        if unique not in inputs:
            continue
        source = heads.get(unique, inputs[unique])
        mark = graph.create(MARK_ONNX_KIND, [source], 1)
        _set_attributes(mark, kwargs)
        if unique in heads:
            mark.insertAfter(source.node())
        else:
            first = next(iter(graph.nodes()), None)
            if first is None:
                graph.insertNode(mark)
            else:
                mark.insertBefore(first)
        mark.output().setType(source.type())
        source.replaceAllUsesWith(mark.output())
        mark.replaceInput(0, source)
        heads[unique] = mark.output()
        inserted += 1
    return inserted


def _num_params(model: Any) -> Optional[int]:
    """Parameters and buffers the exporter appends to a traced module's graph
    inputs; None for script modules and functions (laid out otherwise)."""
    if isinstance(model, torch.nn.Module) and not isinstance(
            model, torch.jit.ScriptModule):
        return len(torch.jit._unique_state_dict(model))
    if callable(model) and not isinstance(
            model, (torch.jit.ScriptModule, torch.jit.ScriptFunction)):
        return 0
    return None


def _exporter_module():
    for name in _EXPORTER_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "_model_to_graph"):
            return module
    raise RuntimeError(
        "mmdeploy_mark: this torch's TorchScript-based ONNX exporter has no "
        "_model_to_graph step to finish marks in; export with "
        "exporter='dynamo' instead")


@contextlib.contextmanager
def marks_export_hook() -> Iterator[None]:
    """While open, torch.onnx.export(dynamo=False) exports marks so that every
    tensor keeps the shape it has without marks (see the module docstring).

    It wraps the exporter's ``_model_to_graph`` step for the duration and
    restores it on exit; nested hooks share one wrapper.
    """
    module = _exporter_module()
    original = module._model_to_graph
    if getattr(original, "_mmdeploy_mark_wrapped", False):
        yield
        return

    @functools.wraps(original)
    def model_to_graph_with_marks(model, *args, **kwargs):
        state = _ExportState(num_params=_num_params(model))
        token = _RUNNING_EXPORTS.set(_RUNNING_EXPORTS.get() + (state,))
        try:
            graph, params, out = original(model, *args, **kwargs)
        finally:
            _RUNNING_EXPORTS.reset(token)
        finalize_marks(graph)
        insert_deferred_marks(graph, state.deferred)
        return graph, params, out

    model_to_graph_with_marks._mmdeploy_mark_wrapped = True
    module._model_to_graph = model_to_graph_with_marks
    try:
        yield
    finally:
        module._model_to_graph = original


def register_symbolics() -> None:
    """Registers the mark symbolic with torch's public API; idempotent."""
    register_custom_op_symbolic(MARK_OP, mark_symbolic, MARK_SYMBOLIC_OPSET)
