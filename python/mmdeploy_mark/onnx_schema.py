"""The ONNX side of a mark: the ``mmdeploy::Mark`` node's domain and type.

The node's schema is defined in C++ (torch_ext/src/mark_schema.cc) and
registered in the libonnx the op plugin links. Debian's python3-onnx shares
that library and so knows the schema; an onnx wheel from PyPI carries its own
copy of ONNX, whose checker and shape inference accept Mark as an op of a
custom domain they have no schema for (its output type is what the exporter
declared). Nothing needs registering there.
"""
MARK_DOMAIN = "mmdeploy"
MARK_DOMAIN_VERSION = 1
MARK_OP_TYPE = "Mark"
