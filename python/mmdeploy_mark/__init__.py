"""Mark operators and model partition for PyTorch models deployed via ONNX.

Importing the package loads the C++ op plugin (torch.ops.mmdeploy.mark and
the ONNX schema of mmdeploy::Mark) and registers the ONNX symbolic.
"""
from ._loader import PluginLoadError, load_plugin
from .marker import MarkCounter, mark, mark_tensor, reset_mark_function_count
from .rewriter import (FUNCTION_REWRITER, FunctionRewriter, RewriteCall,
                       RewriterContext, RewriterWarning)
from .symbolic import register_symbolics
from .partition import (MalformedModelError, MarkerNotFoundError, MarkInfo,
                        PartitionError, UncoveredTensorError, extract_partition,
                        extract_partitions, list_marks, strip_marks)
from .config import Config, load_config

load_plugin()
register_symbolics()

__version__ = "0.1.0"

__all__ = [
    "Config", "MalformedModelError", "MarkInfo", "MarkerNotFoundError",
    "PartitionError", "UncoveredTensorError", "extract_partition",
    "extract_partitions", "list_marks", "load_config", "strip_marks",
    "FUNCTION_REWRITER", "FunctionRewriter", "MarkCounter",
    "PluginLoadError", "RewriteCall", "RewriterContext",
    "RewriterWarning", "load_plugin", "mark", "mark_tensor",
    "register_symbolics", "reset_mark_function_count",
]
