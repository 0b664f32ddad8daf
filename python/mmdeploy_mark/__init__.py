"""Mark operators and model partition for PyTorch models deployed via ONNX.

Importing the package loads the C++ op plugin (torch.ops.mmdeploy.mark and
the ONNX schema of mmdeploy::Mark) and registers the mark's ONNX symbolic
through torch's public API; nothing else in torch changes.
"""
from pathlib import Path as _Path

from ._loader import PluginLoadError, load_plugin
from .marker import MarkCounter, mark, mark_tensor, reset_mark_function_count
from .rewriter import (FUNCTION_REWRITER, FunctionRewriter, RewriteCall,
                       RewriterContext, RewriterWarning)
from .symbolic import register_symbolics
from .partition import (MalformedModelError, MarkerNotFoundError, MarkInfo,
                        PartitionError, TensorNotFoundError,
                        UncoveredTensorError, extract_model, extract_partition,
                        extract_partitions, list_marks, strip_marks)
from .config import Config, load_config
from .export import available_exporters, default_exporter, export

load_plugin()
register_symbolics()

__version__ = "0.1.0"
# CMAKE_PREFIX_PATH for C++ projects: find_package(MMDeployMark).
cmake_prefix_path = str(_Path(__file__).resolve().parent)

__all__ = [
    "Config", "available_exporters", "cmake_prefix_path", "default_exporter", "export",
    "MalformedModelError", "MarkInfo", "MarkerNotFoundError",
    "PartitionError", "TensorNotFoundError", "UncoveredTensorError",
    "extract_model", "extract_partition",
    "extract_partitions", "list_marks", "load_config", "strip_marks",
    "FUNCTION_REWRITER", "FunctionRewriter", "MarkCounter",
    "PluginLoadError", "RewriteCall", "RewriterContext",
    "RewriterWarning", "load_plugin", "mark", "mark_tensor",
    "register_symbolics", "reset_mark_function_count",
]
