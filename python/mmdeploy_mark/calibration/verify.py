"""Checks the calibration file against PyTorch: sample k of a partition's
calibration inputs, fed to the partition in onnxruntime, reproduces what
PyTorch computed at that partition's end marks for sample k.

The inputs are read back from the written file (under ``partition<i>``, the
name mmdeploy writes), so what is checked is what an int8 build will read.
One table row per model output, over all samples: the largest error, and
the samples that fail.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ..partition import ModelLike, list_marks
from ..pipeline import (Comparison, Verification, VerificationError, _as_list, _selected,
                        _session)
from .capture import References
from .h5file import END2END_GROUP, ROOT_GROUP, partition_alias, require_h5py


def verify_calibration(calib_file: str, marked_model: ModelLike,
                       partition_files: Sequence[str],
                       partition_cfgs: Sequence[Dict[str, Any]], references: References,
                       *, full_model: Optional[str] = None, atol: float = 1e-4,
                       rtol: float = 1e-3, into: Optional[Verification] = None) -> Verification:
    """Adds to ``into`` (or a new Verification) one row per output of the full
    model (when given) and of every partition, comparing onnxruntime fed
    with the calibration data against ``references``.

    Raises:
        VerificationError: the file lacks an input's data, or onnxruntime
            rejects a sample (e.g. a static partition and samples of other
            sizes).
    """
    h5py = require_h5py()
    result = into if into is not None else Verification()
    marks = list_marks(marked_model)
    with h5py.File(calib_file, "r") as f:
        root = f[ROOT_GROUP]
        samples = int(f.attrs["num_samples"])
        if full_model is not None:
            _compare(result, full_model, root, END2END_GROUP, samples,
                     lambda k, i, name: _at(references.outputs[k], i), atol, rtol)
        for index, (path, cfg) in enumerate(zip(partition_files, partition_cfgs)):
            ends = _selected(marks, _as_list(cfg["end"]))
            keys = [(m.func, m.func_id, m.type, m.name) for m in ends]
            _compare(result, path, root, partition_alias(index), samples,
                     lambda k, i, name, keys=keys: references.ends[k].get(_at(keys, i)),
                     atol, rtol)
    return result


def _at(values: Sequence[Any], i: int) -> Any:
    return values[i] if i < len(values) else None


def _compare(result: Verification, model_path: str, root: Any, group_name: str,
             samples: int, expected_at, atol: float, rtol: float) -> None:
    name = Path(model_path).name
    session = _session(model_path)
    group = root[group_name]
    inputs = [i.name for i in session.get_inputs()]
    missing = [i for i in inputs if i not in group]
    if missing:
        raise VerificationError(f"{name}: the calibration file has no data for inputs "
                                f"{missing} in calib_data/{group_name}")
    outputs = [o.name for o in session.get_outputs()]
    per_output: List[Verification] = [Verification() for _ in outputs]
    for k in range(samples):
        feed = {i: group[i][str(k)][()] for i in inputs}
        try:
            got = session.run(None, feed)
        except Exception as e:  # onnxruntime's own exception types vary by version
            shapes = {i: v.shape for i, v in feed.items()}
            raise VerificationError(f"{name}: onnxruntime rejects calibration sample {k} "
                                    f"(shapes {shapes}): {e}") from e
        for i, (out, value) in enumerate(zip(outputs, got)):
            expected = expected_at(k, i, out)
            if expected is None:
                raise VerificationError(f"{name}: PyTorch computed no tensor for output "
                                        f"'{out}' in calibration sample {k}")
            per_output[i].add(name, out, value, np.asarray(expected), atol, rtol)
    where = f"{name} (calibration, {samples} samples)"
    for out, rows in zip(outputs, per_output):
        failing = [k for k, row in enumerate(rows.rows) if not row.ok]
        label = out if not failing else f"{out} (fails at samples {failing[:10]})"
        result.rows.append(Comparison(where, label,
                                      max(r.max_abs_error for r in rows.rows), not failing))
