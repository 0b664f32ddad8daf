"""Marks in the torch.export-based ONNX exporter (torch.onnx.export(dynamo=True)).

That exporter re-traces the exported program with functionalization before
translating it, and functionalization replaces an op that returns a view of
its input (mmdeploy::mark is declared ``Tensor(a) -> Tensor(a)``: an alias,
free at run time) by its kernel's ``aten.alias``: the mark would vanish. So
while such an export traces the model, a mark is recorded as
``torch.onnx.ops.symbolic("mmdeploy::Mark", ...)`` instead, torch's public
way to put a node of any domain into the ONNX graph; the exporter gives its
output the input's dtype and (symbolic) shape. torch.export.export itself,
torch.jit.trace/script and the TorchScript-based exporter keep
``torch.ops.mmdeploy.mark``.

Only marks placed through the Python API (``@mark``, ``mark_tensor``) are
recorded this way; a raw ``torch.ops.mmdeploy.mark`` call in a model exported
with dynamo=True is dropped by functionalization.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List

import torch

from .onnx_schema import MARK_DOMAIN, MARK_DOMAIN_VERSION, MARK_OP_TYPE
from .onnx_types import onnx_dtype
from .scope import marks_enabled


def in_dynamo_onnx_export() -> bool:
    """True while torch.onnx.export(dynamo=True) traces the model: an ONNX
    export is running and it is not the TorchScript tracer's."""
    return (hasattr(torch.onnx, "ops") and torch.onnx.is_in_onnx_export()
            and torch._C._get_tracing_state() is None)


def _export_time_dim(dim: Any) -> int:
    """A dim as the example input had it (what the TorchScript exporter
    records); -1, mmdeploy's unknown dim, where torch keeps no example value."""
    if isinstance(dim, int):
        return dim
    hint = getattr(getattr(dim, "node", None), "hint", None)
    return int(hint) if isinstance(hint, int) else -1


def _static_shape(x: torch.Tensor) -> List[int]:
    return [_export_time_dim(d) for d in x.shape]


def _onnx_attr(value: Any) -> Any:
    # ONNX has no bool attribute; the TorchScript symbolic writes ints too.
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, list):
        return [_onnx_attr(v) for v in value]
    return value


def symbolic_mark(x: torch.Tensor, func: str, func_id: int, type: str,
                  name: str, id: int, attrs: str) -> torch.Tensor:
    """The mark as an ``mmdeploy::Mark`` node of the ONNX graph being traced
    (none where the open RewriterContext does not apply marks)."""
    if not marks_enabled():
        return x
    node_attrs: Dict[str, Any] = dict(
        dtype=onnx_dtype(x.dtype), shape=_static_shape(x), func=func,
        func_id=func_id, type=type, name=name, id=id)
    node_attrs.update({k: _onnx_attr(v) for k, v in json.loads(attrs).items()})
    return torch.onnx.ops.symbolic(
        f"{MARK_DOMAIN}::{MARK_OP_TYPE}", [x], node_attrs, dtype=x.dtype,
        shape=x.shape, version=MARK_DOMAIN_VERSION)
