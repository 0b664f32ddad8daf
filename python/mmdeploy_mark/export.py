"""One ONNX export of a marked model, with either of torch's exporters.

``export()`` is the package's way to call torch.onnx.export: it picks the
exporter (``"torchscript"``: torch.onnx.export(dynamo=False), the only one
on torch < 2.5; ``"dynamo"``: the torch.export-based one, torch's default
since 2.9), declares the mmdeploy opset, and exports marks so that tensors
keep their shapes (symbolic.marks_export_hook for the TorchScript exporter;
dynamo_symbolic for the other). Calling torch.onnx.export directly works
too, without the shape guarantee of the TorchScript path.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import torch

from .log_levels import raised_level
from .onnx_schema import MARK_DOMAIN, MARK_DOMAIN_VERSION
from .symbolic import marks_export_hook

LOG = logging.getLogger("mmdeploy_mark")

EXPORTERS = ("torchscript", "dynamo")
# The torch.export-based exporter writes opset 18 at least; asking for less
# makes it run ONNX's version converter, which fails on many models.
DYNAMO_MIN_OPSET = 18
# The dynamo exporter warns through this logger on every export that optional
# torchvision ops are not registered, which says nothing about the user's
# model; it is quieted below ERROR while exporting.
_REGISTRATION_LOGGER = "torch.onnx._internal.exporter._registration"
# Models above this size are saved with their weights in a data file.
EXTERNAL_DATA_THRESHOLD = (1 << 31) - (256 << 20)


def _torch_version() -> tuple:
    parts = torch.__version__.split("+")[0].split(".")
    return tuple(int("".join(c for c in p if c.isdigit()) or 0) for p in parts[:2])


def available_exporters() -> List[str]:
    """The exporters this torch offers, its default first."""
    if not hasattr(torch.onnx, "ops"):  # torch < 2.8: no torch.onnx.ops.symbolic
        return ["torchscript"]
    if _torch_version() >= (2, 9):
        return ["dynamo", "torchscript"]
    return ["torchscript", "dynamo"]


def default_exporter() -> str:
    """What torch.onnx.export uses by default on this torch."""
    return available_exporters()[0]


def check_exporter(exporter: Optional[str]) -> str:
    """Resolves None to the default and rejects what this torch lacks.

    Raises:
        ValueError: an unknown exporter, or one this torch does not have.
    """
    if exporter is None:
        return default_exporter()
    if exporter not in EXPORTERS:
        raise ValueError(f"exporter must be one of {', '.join(EXPORTERS)}, not "
                         f"'{exporter}'")
    if exporter not in available_exporters():
        raise ValueError(
            f"exporter '{exporter}' needs torch >= 2.8 (torch.onnx.ops); this "
            f"is torch {torch.__version__}, which offers "
            f"{', '.join(available_exporters())}")
    return exporter


def export(model: Any, args: Union[torch.Tensor, Sequence[Any]],
           f: Union[str, io.BytesIO], *, exporter: Optional[str] = None,
           opset_version: Optional[int] = None,
           input_names: Optional[Sequence[str]] = None,
           output_names: Optional[Sequence[str]] = None,
           dynamic_axes: Optional[Mapping[str, Any]] = None,
           export_params: bool = True,
           keep_initializers_as_inputs: bool = False) -> Dict[str, Any]:
    """Exports ``model`` to ONNX with its marks as ``mmdeploy::Mark`` nodes.

    Args:
        model, args, f, input_names, output_names, dynamic_axes,
        export_params, keep_initializers_as_inputs: as torch.onnx.export
            (dynamic_axes in its TorchScript-exporter form, which the dynamo
            exporter accepts too).
        exporter: "torchscript", "dynamo", or None for torch's default.
        opset_version: the default-domain opset; None for 11 with the
            TorchScript exporter (mmdeploy's), the exporter's own with dynamo
            (raised to 18 at least).

    Returns:
        What was used: {"exporter": ..., "opset_version": ...}.

    Raises:
        ValueError: an exporter this torch does not have.
    """
    exporter = check_exporter(exporter)
    args = args if isinstance(args, tuple) else (args,)
    common = dict(input_names=list(input_names or []) or None,
                  output_names=list(output_names or []) or None,
                  dynamic_axes=dict(dynamic_axes) if dynamic_axes else None,
                  export_params=export_params,
                  keep_initializers_as_inputs=keep_initializers_as_inputs)
    with warnings.catch_warnings():
        # The caller chose the exporter: torch 2.x's deprecation notices for the
        # TorchScript exporter and the helpers it calls are not theirs to act on.
        if exporter == "torchscript":
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            warnings.filterwarnings("ignore", category=FutureWarning)
        # The deploy config's dynamic_axes are what mmdeploy users write;
        # the dynamo exporter converts them itself.
        warnings.filterwarnings("ignore", message=r".*'dynamic_axes' is not recommended.*")
        if exporter == "torchscript":
            opset = opset_version or 11
            kwargs = dict(dynamo=False) if "dynamo" in _export_parameters() else {}
            with marks_export_hook():
                torch.onnx.export(model, args, f, opset_version=opset,
                                  custom_opsets={MARK_DOMAIN: MARK_DOMAIN_VERSION},
                                  **kwargs, **common)
        else:
            opset = max(opset_version or DYNAMO_MIN_OPSET, DYNAMO_MIN_OPSET)
            if opset_version and opset_version < DYNAMO_MIN_OPSET:
                LOG.info("the dynamo exporter writes opset %d, not the %d asked for",
                         opset, opset_version)
            with contextlib.redirect_stdout(io.StringIO()) as progress, \
                    raised_level(logging.getLogger(_REGISTRATION_LOGGER), logging.ERROR):
                program = torch.onnx.export(model, args, opset_version=opset,
                                            dynamo=True, external_data=False,
                                            **common)
            LOG.debug("torch.onnx.export(dynamo=True):\n%s", progress.getvalue())
            _save_program(program, f)
    return {"exporter": exporter, "opset_version": opset}


def _export_parameters() -> List[str]:
    import inspect

    return list(inspect.signature(torch.onnx.export).parameters)


def _save_program(program: Any, f: Union[str, io.BytesIO]) -> None:
    """Writes the ONNXProgram with the mmdeploy opset declared."""
    model = program.model_proto
    if not any(o.domain == MARK_DOMAIN for o in model.opset_import):
        opset = model.opset_import.add()
        opset.domain, opset.version = MARK_DOMAIN, MARK_DOMAIN_VERSION
    if isinstance(f, (str, bytes)) or hasattr(f, "__fspath__"):
        # Past protobuf's 2 GiB limit the weights go to a data file beside
        # the model, as the TorchScript exporter does; the partition pass
        # reads and writes such models without loading their weights.
        import onnx

        path = os.fspath(f)
        large = model.ByteSize() > EXTERNAL_DATA_THRESHOLD
        onnx.save_model(model, path, save_as_external_data=large,
                        all_tensors_to_one_file=True,
                        location=os.path.basename(path) + ".data")
    else:
        f.write(model.SerializeToString())
