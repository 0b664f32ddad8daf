"""ONNX element types (TensorProto enum values) of torch's dtypes."""
from __future__ import annotations

from typing import Optional

import torch

# (torch dtype, its TorchScript scalar type name, ONNX TensorProto enum)
_TYPES = (
    (torch.float32, "Float", 1), (torch.uint8, "Byte", 2), (torch.int8, "Char", 3),
    (torch.int16, "Short", 5), (torch.int32, "Int", 6), (torch.int64, "Long", 7),
    (torch.bool, "Bool", 9), (torch.float16, "Half", 10), (torch.float64, "Double", 11),
    (torch.complex64, "ComplexFloat", 14), (torch.complex128, "ComplexDouble", 15),
    (torch.bfloat16, "BFloat16", 16),
)
_BY_DTYPE = {dtype: onnx for dtype, _, onnx in _TYPES}
_BY_SCALAR_TYPE = {name: onnx for _, name, onnx in _TYPES}


def onnx_dtype(dtype: torch.dtype) -> int:
    """The ONNX element type of a torch dtype; 0 (UNDEFINED) if it has none."""
    return _BY_DTYPE.get(dtype, 0)


def onnx_dtype_of_scalar_type(name: Optional[str]) -> int:
    """The ONNX element type of a TorchScript scalar type name ("Float")."""
    return _BY_SCALAR_TYPE.get(name or "", 0)
