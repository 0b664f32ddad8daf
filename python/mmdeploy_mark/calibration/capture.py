"""Runs PyTorch over the calibration samples and writes what each partition's
inputs received.

The model runs once per sample inside the deploy config's RewriterContext
with marks on (as for the export), with func_id counting restarted for every
sample, so each sample's marks carry the ids the exported model has. Every
firing of a start mark is observed; the tensors of a sample are written as
soon as the sample has run (the samples never all sit in memory), and the
firing counts are checked at the end: every boundary mark must fire exactly
once per sample, or the partition's calibration data would not line up.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence

import numpy as np
import torch

from ..deploy_config import DeployConfig
from ..marker import reset_mark_function_count
from ..pipeline import _rewriter_context
from ..scope import MarkKey, observing_marks
from .errors import CalibrationError
from .h5file import END2END_GROUP, CalibFileWriter
from .plan import CalibrationPlan, PartitionPlan, describe_counts, marker_of


@dataclass
class References:
    """What PyTorch computed for each sample: what verification compares the
    ONNX models fed with the calibration data against."""
    outputs: List[List[np.ndarray]] = field(default_factory=list)
    ends: List[Dict[MarkKey, np.ndarray]] = field(default_factory=list)


@dataclass
class PartitionData:
    """Where one partition's calibration data is, and its input names."""
    index: int
    save_file: str
    group: str
    alias: str
    input_names: List[str]


@dataclass
class CalibrationResult:
    path: str
    num_samples: int
    input_names: List[str]
    partitions: List[PartitionData]
    markers: List[str]
    references: Optional[References] = None

    def summary(self) -> Dict[str, Any]:
        return {"file": self.path, "samples": self.num_samples,
                "end2end": {"group": f"calib_data/{END2END_GROUP}",
                            "inputs": self.input_names},
                "partitions": [{"save_file": p.save_file, "group": f"calib_data/{p.group}",
                                "alias": f"calib_data/{p.alias}", "inputs": p.input_names}
                               for p in self.partitions]}


def _to_numpy(tensor: torch.Tensor) -> np.ndarray:
    # A copy: the model may change the tensor in place after its mark.
    return tensor.detach().cpu().clone().numpy()


def _as_tensors(sample: Any, index: int) -> tuple:
    tensors = (sample,) if isinstance(sample, torch.Tensor) else tuple(sample)
    if not tensors or not all(isinstance(t, torch.Tensor) for t in tensors):
        raise TypeError(f"calibration sample {index} must be a tensor or a tuple of "
                        f"tensors (the model's positional inputs), got "
                        f"{type(sample).__name__}")
    return tensors


def run_calibration(model: torch.nn.Module, deploy: DeployConfig, samples: Iterable[Any],
                    writer: CalibFileWriter, partition_cfgs: Sequence[Dict[str, Any]],
                    *, expected_inputs: Optional[Sequence[Sequence[str]]] = None,
                    keep_references: bool = False) -> CalibrationResult:
    """Runs ``model`` on every sample and writes the calibration data with
    ``writer`` (the caller commits it).

    Args:
        expected_inputs: each partition's input names as the cut ONNX file
            has them; an input no mark fed is an error.
        keep_references: also keep, per sample, the model's outputs and the
            tensors at every end mark (for verify_calibration).

    Raises:
        CalibrationError: a mark fired other than once per sample, a start
            marker selected no mark, or an input received no tensor.
    """
    plan = CalibrationPlan(partition_cfgs, deploy.onnx.input_names)
    references = References() if keep_references else None
    counts: List[Dict[MarkKey, int]] = []   # per sample: firings of each kept mark
    order: Dict[MarkKey, None] = {}         # kept marks in first-firing order
    fired_markers: Dict[str, None] = {}
    names: List[str] = []
    with _rewriter_context(deploy, True), torch.no_grad():
        for index, sample in enumerate(samples):
            tensors = _as_tensors(sample, index)
            names = plan.model_input_names(len(tensors))
            firings: Dict[MarkKey, List[np.ndarray]] = {}

            def observe(key: MarkKey, tensor: torch.Tensor) -> None:
                fired_markers.setdefault(marker_of(key))
                if plan.wants(key, keep_references):
                    firings.setdefault(key, []).append(_to_numpy(tensor))
                    order.setdefault(key)

            reset_mark_function_count()
            with observing_marks(observe):
                outputs = model(*tensors)
            arrays = [_to_numpy(t) for t in tensors]
            _write_sample(writer, plan, index, names, arrays, firings)
            counts.append({key: len(values) for key, values in firings.items()})
            if references is not None:
                flat = outputs if isinstance(outputs, (list, tuple)) else [outputs]
                references.outputs.append([_to_numpy(o) for o in flat])
                references.ends.append({k: v[0] for k, v in firings.items() if len(v) == 1})
    if not counts:
        raise CalibrationError("no calibration samples: the inputs gave nothing to run; "
                               "pass at least one sample")
    partitions = [_check_partition(part, counts, list(order), names,
                                   expected_inputs[part.index] if expected_inputs else None,
                                   keep_references)
                  for part in plan.partitions]
    _describe(writer, deploy, plan, partitions, names, sorted(fired_markers), len(counts))
    return CalibrationResult(path=str(writer.path), num_samples=len(counts), input_names=names,
                             partitions=partitions, markers=sorted(fired_markers),
                             references=references)


def _write_sample(writer: CalibFileWriter, plan: CalibrationPlan, index: int,
                  names: List[str], arrays: List[np.ndarray],
                  firings: Dict[MarkKey, List[np.ndarray]]) -> None:
    for name, array in zip(names, arrays):
        writer.add(END2END_GROUP, name, index, array)
    for part in plan.partitions:
        if not part.start:  # starts at the model's own inputs
            for name, array in zip(names, arrays):
                writer.add(part.group, name, index, array)
        written = set()
        for key, values in firings.items():
            name = part.input_name(key)
            # A mark that fired twice has no single tensor, and two marks
            # under one name have no single input: the errors come at the
            # end, with the counts of every sample.
            if name is not None and len(values) == 1 and name not in written:
                _check_group_name(part, name, key)
                writer.add(part.group, name, index, values[0])
                written.add(name)


def _check_group_name(part: PartitionPlan, name: str, key: MarkKey) -> None:
    if "/" in name or name in (".", ""):
        raise CalibrationError(
            f"{part.describe()}: input '{name}' (mark {marker_of(key)} '{key[3]}') cannot be "
            f"an HDF5 group name; rename it with start_name_map")


def _check_partition(part: PartitionPlan, counts: List[Dict[MarkKey, int]],
                     order: List[MarkKey], model_inputs: List[str],
                     expected: Optional[Sequence[str]], with_ends: bool) -> PartitionData:
    """Every start marker fed the partition, each of its marks once per
    sample, under distinct names (and the names the cut file has)."""
    samples = len(counts)
    inputs: Dict[str, MarkKey] = {}
    for marker in part.start:
        keys = [k for k in order if part.start_marker(k) == marker]
        if not keys:
            raise CalibrationError(
                f"{part.describe()}: start marker '{marker}' selected no mark while PyTorch "
                f"ran {samples} sample(s), so the partition's input(s) there received no "
                f"tensor; check the marker against the model's marks and that the rewriters "
                f"placing it are imported (custom_imports)")
        for key in keys:
            name = part.input_name(key)
            _check_fired_once(part, f"input '{name}'", key, counts)
            if name in inputs and inputs[name] != key:
                raise CalibrationError(
                    f"{part.describe()}: marks {marker_of(inputs[name])} '{inputs[name][3]}' "
                    f"and {marker_of(key)} '{key[3]}' both feed input '{name}'; rename one "
                    f"with start_name_map")
            inputs[name] = key
    names = list(inputs) if part.start else list(model_inputs)
    if expected is not None:
        for name in expected:
            if name not in names:
                raise CalibrationError(
                    f"{part.describe()}: input '{name}' received no tensor: no mark its start "
                    f"markers ({', '.join(part.start) or 'the model inputs'}) select fired "
                    f"under that name (they fed {', '.join(names) or 'nothing'}); an input "
                    f"that no start mark covers cannot be calibrated: add a start marker "
                    f"for it")
        names = list(expected)
    if with_ends:
        for key in [k for k in order if part.end_marker(k)]:
            _check_fired_once(part, f"output '{key[3]}'", key, counts)
    return PartitionData(index=part.index, save_file=part.save_file, group=part.group,
                         alias=part.alias, input_names=names)


def _check_fired_once(part: PartitionPlan, what: str, key: MarkKey,
                      counts: List[Dict[MarkKey, int]]) -> None:
    per_sample = [c.get(key, 0) for c in counts]
    if all(c == 1 for c in per_sample):
        return
    total, odd = describe_counts(per_sample)
    raise CalibrationError(
        f"{part.describe()}: {what} (mark {marker_of(key)} '{key[3]}') fired {total} "
        f"time(s) over {len(counts)} sample(s) ({odd}); a partition boundary must fire "
        f"exactly once per run of the model to give one tensor per sample: move the mark "
        f"out of loops and data-dependent branches")


def _describe(writer: CalibFileWriter, deploy: DeployConfig, plan: CalibrationPlan,
              partitions: List[PartitionData], names: List[str], markers: List[str],
              samples: int) -> None:
    writer.describe_group(END2END_GROUP, input_names=names)
    for part, data in zip(plan.partitions, partitions):
        writer.describe_group(part.group, save_file=part.save_file, start=part.start,
                              end=part.end, input_names=data.input_names)
        if part.alias != part.group:
            writer.link(part.alias, part.group)
    writer.describe_file(deploy_cfg=deploy.path or "", markers=markers,
                         num_samples=samples)
