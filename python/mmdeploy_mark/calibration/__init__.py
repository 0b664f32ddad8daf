"""Calibration data for int8 backends, captured at the partition boundaries.

Each partition of a partitioned model needs calibration data for its own
inputs: tensors deep inside the network that no image loader produces. This
package runs the PyTorch model over calibration samples with marks on and
stores, in mmdeploy's HDF5 layout, the tensors entering every partition's
start marks, one dataset per sample, plus the full model's inputs::

    from mmdeploy_mark.calibration import create_calib_file

    result = create_calib_file(model.eval(), "deploy_cfg.py", loader_of_tensors, "calib.h5")
    result.partitions[0].group   # 'yolov3' (calib_data/yolov3 == calib_data/partition0)

``torch2onnx --calib-file`` does the same for the exported model (see
``h5file`` for the layout, ``verify`` for the check against onnxruntime).
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, Optional, Sequence, Union

import torch

from ..config import Config
from ..deploy_config import DeployConfig
from .capture import CalibrationResult, PartitionData, References, run_calibration
from .errors import CalibrationError, CalibrationInputError
from .h5file import CalibFileWriter, partition_alias
from .verify import verify_calibration

__all__ = ["CalibrationError", "CalibrationInputError", "CalibrationResult",
           "PartitionData", "References", "create_calib_file", "partition_alias",
           "verify_calibration"]


def create_calib_file(model: torch.nn.Module,
                      deploy_cfg: Union[str, Config, Dict[str, Any], DeployConfig],
                      inputs: Iterable[Any], path: str, *,
                      partition_cfgs: Optional[Sequence[Dict[str, Any]]] = None,
                      keep_references: bool = False) -> CalibrationResult:
    """Runs ``model`` once per input and writes the calibration file ``path``.

    Args:
        model: the PyTorch model, as it is exported (call ``.eval()`` first);
            the deploy config's rewriters must be imported (its
            custom_imports), as for the export.
        deploy_cfg: a deploy config path, Config, dict or DeployConfig; its
            partitions (partition_config with apply_marks=True) say which
            marks feed which partition, onnx_config.input_names names the
            model inputs.
        inputs: one item per sample: a tensor, or a tuple of tensors (the
            model's positional inputs). Sizes may differ between samples.
        path: the HDF5 file, written through a temporary file beside it and
            renamed at the end (a failure leaves the previous file intact).
        partition_cfgs: overrides the config's partitions.
        keep_references: keep PyTorch's outputs and end-mark tensors of every
            sample in the result, for verify_calibration.

    Raises:
        CalibrationError: a mark fired other than once per sample, or a
            partition input received no tensor (the message names both).
        mmdeploy_mark.pipeline.EnvironmentError_: h5py is not installed.
    """
    deploy = deploy_cfg if isinstance(deploy_cfg, DeployConfig) else DeployConfig.load(deploy_cfg)
    if partition_cfgs is None:
        partition_cfgs = deploy.partition.partitions if deploy.partition else []
    with CalibFileWriter(path) as writer:
        result = run_calibration(model, deploy, inputs, writer, partition_cfgs,
                                 keep_references=keep_references)
        writer.commit()
    return result
