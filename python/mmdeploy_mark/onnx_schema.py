"""The ONNX side of a mark: the ``mmdeploy::Mark`` node and its schema.

The schema is defined in C++ (torch_ext/src/mark_schema.cc) and registered
in the libonnx the op plugin links. Debian's python3-onnx shares that
library, so it sees the schema at once; an onnx wheel from PyPI carries its
own copy of ONNX, where the same schema is registered through onnx's public
``onnx.defs.register_schema`` (onnx >= 1.16). Either way onnx.checker and
shape inference in Python know the node.
"""
from __future__ import annotations

from typing import List, Tuple

MARK_DOMAIN = "mmdeploy"
MARK_DOMAIN_VERSION = 1
MARK_OP_TYPE = "Mark"

# (attribute, ONNX attribute type, required, description): the compatibility
# contract of a Mark node, as in the C++ schema.
MARK_ATTRIBUTES: List[Tuple[str, str, bool, str]] = [
    ("dtype", "INT", False, "ONNX element type of the marked tensor."),
    ("shape", "INTS", False, "Shape of the marked tensor when exported."),
    ("func", "STRING", True, "Name of the marked function."),
    ("func_id", "INT", False, "Which call of func (0 for the first)."),
    ("type", "STRING", True, "'input' or 'output' of func."),
    ("name", "STRING", False, "Name of the marked tensor."),
    ("id", "INT", False, "Index of the tensor among the call's marks."),
]


def _python_schema():
    from onnx import defs

    attr_type = defs.OpSchema.AttrType
    tensor_types = [f"tensor({t})" for t in (
        "float", "double", "float16", "bfloat16", "int8", "int16", "int32",
        "int64", "uint8", "uint16", "uint32", "uint64", "bool", "string",
        "complex64", "complex128")]
    return defs.OpSchema(
        MARK_OP_TYPE, MARK_DOMAIN, MARK_DOMAIN_VERSION,
        doc="Identity that names a point of the model for partitioning. "
            "Carries the mark's identity as attributes.",
        inputs=[defs.OpSchema.FormalParameter("input", "T", "The marked tensor.")],
        outputs=[defs.OpSchema.FormalParameter("output", "T", "The same tensor.")],
        type_constraints=[("T", tensor_types, "Any tensor type.")],
        attributes=[defs.OpSchema.Attribute(name, getattr(attr_type, kind), doc,
                                            required=required)
                    for name, kind, required, doc in MARK_ATTRIBUTES])


def ensure_onnx_schema() -> str:
    """Makes ``mmdeploy::Mark`` known to the onnx package in this process.

    Returns:
        How it is known: ``"shared"`` (the plugin's libonnx is onnx's),
        ``"registered"`` (registered now through onnx's Python API) or
        ``"unavailable"`` (onnx < 1.16 from PyPI: the checker then treats
        Mark as an op of an unknown custom domain, which it accepts).
    """
    from onnx import defs

    if defs.has(MARK_OP_TYPE, MARK_DOMAIN):
        return "shared"
    if not hasattr(defs, "register_schema"):
        return "unavailable"
    defs.register_schema(_python_schema())
    return "registered"
