"""torch2onnx's calibration arguments: checked before anything runs, then
turned into samples and a destination.

A --calib-file inside the work dir is staged and published with the run's
other outputs; one elsewhere is written beside its destination and renamed
onto it when the run publishes (StagedOutputs.external). Either way a failed
or interrupted run leaves the previous file, or none.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

import torch

from ..deploy_config import DeployConfig
from ..preprocess import ImagePreprocess
from ..staging import StagedOutputs
from .capture import CalibrationResult, run_calibration
from .h5file import CalibFileWriter, require_h5py
from .plan import CalibrationPlan
from .samples import image_files, image_samples, random_samples


@dataclass(frozen=True)
class CalibrationRequest:
    file: str
    images: Optional[List[Path]] = None
    samples: Optional[int] = None

    @classmethod
    def from_args(cls, file: Optional[str], images: Optional[str],
                  samples: Optional[int]) -> Optional["CalibrationRequest"]:
        """None without --calib-file.

        Raises:
            ValueError: a missing or contradictory argument.
            FileNotFoundError, CalibrationInputError: --calib-images names no
                directory, or one without images.
            EnvironmentError_: h5py is missing.
        """
        if file is None:
            if images is not None or samples is not None:
                raise ValueError("--calib-images and --calib-samples need --calib-file PATH "
                                 "(the HDF5 file to write the calibration data to)")
            return None
        if (images is None) == (samples is None):
            raise ValueError("--calib-file needs its samples: exactly one of --calib-images "
                             "DIR or --calib-samples N")
        if samples is not None and samples < 1:
            raise ValueError(f"--calib-samples must be at least 1, got {samples}")
        if Path(file).is_dir():
            raise ValueError(f"--calib-file '{file}' is a directory; name the HDF5 file "
                             f"to write, e.g. {Path(file) / 'calib.h5'}")
        require_h5py()
        return cls(file=file, images=image_files(images) if images is not None else None,
                   samples=samples)

    def name_in(self, work_dir: str) -> Optional[str]:
        """The file's name relative to ``work_dir`` when it is inside it."""
        target, root = Path(self.file).resolve(), Path(work_dir).resolve()
        return str(target.relative_to(root)) if target.is_relative_to(root) else None

    def check_before_run(self, work_dir: str, run_outputs: Sequence[str],
                         partition_cfgs: Sequence[Dict[str, Any]]) -> None:
        """The file may not replace another output of the run, a directory
        outside the work dir must exist (nothing is created there), and every
        partition needs a group name of its own.

        Raises:
            ValueError: the destination is unusable.
            CalibrationError: two partitions would share a group.
        """
        CalibrationPlan(partition_cfgs, [])
        inside = self.name_in(work_dir)
        if inside is not None and inside in run_outputs:
            raise ValueError(f"--calib-file '{self.file}' is also the run's output "
                             f"'{inside}'; choose another name, e.g. calib.h5")
        parent = Path(self.file).resolve().parent
        if inside is None and not parent.is_dir():
            raise ValueError(f"--calib-file '{self.file}': directory '{parent}' does not "
                             f"exist; create it or write the file into the work dir")

    def describe_source(self) -> str:
        if self.images is not None:
            return f"{len(self.images)} image(s) from {self.images[0].parent}"
        return f"{self.samples} random input(s), seed 0"

    def sample_iter(self, shape: Sequence[int], device: str,
                    preprocess: Optional[ImagePreprocess] = None) -> Iterator[torch.Tensor]:
        """The samples, each shaped as the export input ``shape`` (NCHW);
        images go through ``preprocess`` as the export input does."""
        if self.images is not None:
            return image_samples(self.images, shape[-2:], device, preprocess)
        return random_samples(int(self.samples), shape, device)

    def run(self, model: torch.nn.Module, deploy: DeployConfig, shape: Sequence[int],
            device: str, preprocess: Optional[ImagePreprocess], staged: StagedOutputs,
            work_dir: str,
            partition_cfgs: Sequence[Dict[str, Any]], partition_files: Sequence[str],
            keep_references: bool) -> CalibrationResult:
        """Captures and writes the file where ``staged`` publishes it from,
        checking each partition's inputs against its cut ONNX file."""
        inside = self.name_in(work_dir)
        if inside is not None:
            destination = staged.path(inside)
            Path(destination).parent.mkdir(parents=True, exist_ok=True)
        else:
            destination = staged.external(self.file)
        expected = [_graph_inputs(f) for f in partition_files] if partition_files else None
        with CalibFileWriter(destination) as writer:
            samples = self.sample_iter(shape, device, preprocess)
            result = run_calibration(model, deploy, samples, writer,
                                     partition_cfgs, expected_inputs=expected,
                                     keep_references=keep_references)
            writer.commit()
        return result


def _graph_inputs(path: str) -> List[str]:
    import onnx

    model = onnx.load(path, load_external_data=False)
    initializers = {i.name for i in model.graph.initializer}
    return [i.name for i in model.graph.input if i.name not in initializers]
