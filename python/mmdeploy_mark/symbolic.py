"""ONNX export of torch.ops.mmdeploy.mark as mmdeploy::Mark nodes.

torch 1.13's exporter runs ONNX shape inference only on nodes of the onnx
namespace: every tensor after a custom-domain node loses its shape, and each
such node triggers "The shape inference of mmdeploy::Mark type is missing".
So the symbolic emits the mark as an ``onnx::Identity`` carrying the Mark
attributes plus a private tag, which shape inference sees straight through;
when the exporter has finished its graph passes (``_model_to_graph``), every
tagged Identity is turned into the ``mmdeploy::Mark`` node that is serialized.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

import torch
import torch.onnx.utils as onnx_utils
from torch.onnx import register_custom_op_symbolic, symbolic_helper

MARK_DOMAIN = "mmdeploy"
MARK_DOMAIN_VERSION = 1
MARK_OP = "mmdeploy::mark"
MARK_ONNX_KIND = "mmdeploy::Mark"
# Lowest opset the symbolic is registered for; the exporter uses it for
# every later opset too.
MARK_SYMBOLIC_OPSET = 1
# Private attribute tagging the Identity nodes that become Mark nodes.
_PENDING_ATTR = "__mmdeploy_pending_mark"

# ONNX TensorProto element types of torch's scalar type names.
_ONNX_DTYPE = {
    "Float": 1, "Byte": 2, "Char": 3, "Short": 5, "Int": 6, "Long": 7,
    "Bool": 9, "Half": 10, "Double": 11, "ComplexFloat": 14,
    "ComplexDouble": 15, "BFloat16": 16,
}


def _marks_enabled() -> bool:
    """Outside a RewriterContext marks are exported; inside one only when its
    deploy config sets partition_config.apply_marks."""
    from .rewriter import current_context

    context = current_context()
    if context is None:
        return True
    from .config import cfg_apply_marks

    return cfg_apply_marks(context.cfg)


def _tensor_type(value: Any) -> Tuple[int, Optional[List[int]]]:
    """(ONNX dtype, static shape or None) of a JIT value's tensor type."""
    t = value.type()
    if not isinstance(t, torch._C.TensorType):
        return 0, None
    dtype = _ONNX_DTYPE.get(t.scalarType() or "", 0)
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
    if not _marks_enabled():
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
    kwargs[_PENDING_ATTR + "_i"] = 1
    return g.op("Identity", x, **kwargs)


def _blocks_nodes(block) -> List[Any]:
    nodes = []
    for node in block.nodes():
        nodes.append(node)
        for sub in node.blocks():
            nodes.extend(_blocks_nodes(sub))
    return nodes


def finalize_marks(graph: torch._C.Graph) -> int:
    """Turns the tagged Identity nodes of an exported graph into Mark nodes.

        before:  %y = onnx::Identity[func="f", ..., __mmdeploy_pending_mark=1](%x)
        after:   %y = mmdeploy::Mark[func="f", ...](%x)

    The output keeps its name and its inferred type. Returns the number of
    nodes turned.
    """
    turned = 0
    for node in _blocks_nodes(graph):
        if node.kind() != "onnx::Identity" or not node.hasAttribute(_PENDING_ATTR):
            continue
        mark = graph.create(MARK_ONNX_KIND, [node.input()], 1)
        for attr in node.attributeNames():
            if attr == _PENDING_ATTR:
                continue
            kind = node.kindOf(attr)
            getattr(mark, kind + "_")(attr, getattr(node, kind)(attr))
        mark.insertBefore(node)
        old_output = node.output()
        mark.output().setType(old_output.type())
        old_output.replaceAllUsesWith(mark.output())
        name = old_output.debugName()
        node.destroy()
        # Numeric names are the exporter's automatic ones; only real names
        # (e.g. user output_names) need to survive.
        if not name.isdigit():
            mark.output().setDebugName(name)
        turned += 1
    return turned


def _wrap_model_to_graph(model_to_graph):
    @functools.wraps(model_to_graph)
    def model_to_graph_with_marks(*args, **kwargs):
        graph, params, out = model_to_graph(*args, **kwargs)
        finalize_marks(graph)
        return graph, params, out

    model_to_graph_with_marks._mmdeploy_mark_wrapped = True
    return model_to_graph_with_marks


def register_symbolics() -> None:
    """Registers the mark symbolic and the exporter hook; idempotent."""
    register_custom_op_symbolic(MARK_OP, mark_symbolic, MARK_SYMBOLIC_OPSET)
    if not getattr(onnx_utils._model_to_graph, "_mmdeploy_mark_wrapped", False):
        onnx_utils._model_to_graph = _wrap_model_to_graph(
            onnx_utils._model_to_graph)
