"""Mark operators and model partition for PyTorch models deployed via ONNX.

Importing the package loads the C++ op plugin (torch.ops.mmdeploy.mark and
the ONNX schema of mmdeploy::Mark) and registers the ONNX symbolic.
"""
from ._loader import PluginLoadError, load_plugin
from .marker import MarkCounter, mark, mark_tensor, reset_mark_function_count
from .rewriter import (FUNCTION_REWRITER, FunctionRewriter, RewriteCall,
                       RewriterContext, RewriterWarning)
from .symbolic import register_symbolics

load_plugin()
register_symbolics()

__version__ = "0.1.0"

__all__ = [
    "FUNCTION_REWRITER", "FunctionRewriter", "MarkCounter",
    "PluginLoadError", "RewriteCall", "RewriterContext",
    "RewriterWarning", "load_plugin", "mark", "mark_tensor",
    "register_symbolics", "reset_mark_function_count",
]
