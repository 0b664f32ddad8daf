"""Which marked tensor feeds which partition input, and which group holds it.

A partition's inputs are the tensors entering the marks its start markers
select, named as the partition pass names them: ``start_name_map`` looked up
by the mark's name, then by ``"<marker>:<name>"``, else the mark's own name.
A partition without start markers starts at the model's own inputs.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .._partition import canonical_marker
from ..scope import MarkKey
from .errors import CalibrationError
from .h5file import END2END_GROUP, partition_alias


def marker_of(key: MarkKey) -> str:
    """The canonical marker ``func[func_id]:type`` of a recorded mark."""
    func, func_id, io_type, _ = key
    return f"{func}[{func_id}]:{io_type}"


def _as_list(value: Any) -> List[str]:
    return [value] if isinstance(value, str) else list(value or [])


@dataclass(frozen=True)
class PartitionPlan:
    """One partition_cfg entry, as calibration sees it."""
    index: int
    save_file: str
    start: List[str]
    end: List[str]
    start_name_map: Dict[str, str] = field(default_factory=dict)

    @property
    def group(self) -> str:
        """The group that holds the data: the save_file stem (TensorRT's lookup)."""
        return Path(self.save_file).stem

    @property
    def alias(self) -> str:
        """The second name of the group: ``partition<i>`` (mmdeploy's)."""
        return partition_alias(self.index)

    def describe(self) -> str:
        return f"partition {self.index} (save_file '{self.save_file}')"

    def start_marker(self, key: MarkKey) -> Optional[str]:
        """The start marker (as written in the config) selecting ``key``, if any."""
        return _matching(self.start, key)

    def end_marker(self, key: MarkKey) -> Optional[str]:
        return _matching(self.end, key)

    def input_name(self, key: MarkKey) -> Optional[str]:
        """The partition input ``key`` feeds, or None when no start marker selects it."""
        marker = self.start_marker(key)
        if marker is None:
            return None
        name = key[3]
        mapping = self.start_name_map
        return mapping.get(name) or mapping.get(f"{marker}:{name}") or name


@functools.lru_cache(maxsize=None)
def _canonical(text: str) -> str:
    # Asked once per marker, not once per firing of every mark.
    return canonical_marker(text)


def _matching(markers: Sequence[str], key: MarkKey) -> Optional[str]:
    wanted = marker_of(key)
    for text in markers:
        if _canonical(text) == wanted:
            return text
    return None


class CalibrationPlan:
    """Every partition of a deploy config, and the full model's input names."""

    def __init__(self, partition_cfgs: Sequence[Mapping[str, Any]],
                 input_names: Sequence[str]) -> None:
        self.input_names = list(input_names)
        self.partitions = [
            PartitionPlan(index=i, save_file=str(cfg["save_file"]),
                          start=_as_list(cfg.get("start")), end=_as_list(cfg.get("end")),
                          start_name_map=dict(cfg.get("start_name_map") or {}))
            for i, cfg in enumerate(partition_cfgs)]
        self._check_group_names()

    def _check_group_names(self) -> None:
        """Every group and alias names one partition, and none is 'end2end'."""
        owners: Dict[str, PartitionPlan] = {}
        for part in self.partitions:
            for name in dict.fromkeys((part.group, part.alias)):
                other = owners.setdefault(name, part)
                if name == END2END_GROUP or other is not part:
                    owner = ("the full model's inputs" if name == END2END_GROUP
                             else other.describe())
                    raise CalibrationError(
                        f"{part.describe()}: its calibration group 'calib_data/{name}' is "
                        f"also the group of {owner}; give the partition another save_file")

    def wants(self, key: MarkKey, with_ends: bool) -> bool:
        """Whether a firing of ``key`` is kept: it feeds a partition input, or
        (``with_ends``) it is an end mark, what verification compares with."""
        return any(p.start_marker(key) or (with_ends and p.end_marker(key))
                   for p in self.partitions)

    def model_input_names(self, count: int) -> List[str]:
        """The names of a sample's ``count`` tensors (onnx_config.input_names)."""
        if count > len(self.input_names):
            raise ValueError(
                f"a calibration sample holds {count} tensors but onnx_config.input_names "
                f"names {len(self.input_names)} ({', '.join(self.input_names)}); name every "
                f"model input in the deploy config")
        return self.input_names[:count]


def describe_counts(counts: Sequence[int]) -> Tuple[int, str]:
    """The total of per-sample firing counts, and the samples where a mark
    did not fire exactly once (``"sample 1: 0 times, sample 3: 2 times"``)."""
    odd = [f"sample {k}: {c} time{'s' if c != 1 else ''}" for k, c in enumerate(counts) if c != 1]
    shown = ", ".join(odd[:5]) + (f", ... ({len(odd)} samples)" if len(odd) > 5 else "")
    return sum(counts), shown
