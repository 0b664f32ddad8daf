"""The calibration file: mmdeploy's HDF5 layout, written all at once or not at all.

Layout (what mmdeploy writes and its backends read)::

    calib_data/end2end/<model input name>/<sample index>      the full model's inputs
    calib_data/<save_file stem>/<input name>/<sample index>   partition i's inputs
    calib_data/partition<i>  ->  calib_data/<save_file stem>  a hard link: one group, two names

mmdeploy writes ``partition<i>``, its TensorRT build looks up the save_file
stem; with both names every reader finds the same datasets. The file is
written under a temporary name beside its destination and renamed onto it
only by ``commit()``, so a failed or interrupted run leaves the previous
file (or none) in place.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np

ROOT_GROUP = "calib_data"
END2END_GROUP = "end2end"


def require_h5py():
    """Imports h5py, or says how to install it (exit code 7 in torch2onnx)."""
    try:
        import h5py
    except ImportError as e:
        from ..preprocess import MissingDependencyError

        raise MissingDependencyError(
            f"calibration data is written with h5py, which this Python cannot import "
            f"({e}); install it: apt-get install python3-h5py (Debian's Python) or "
            f"pip install h5py") from e
    return h5py


def partition_alias(index: int) -> str:
    """The name mmdeploy gives partition ``index``'s group."""
    return f"partition{index}"


class CalibFileWriter:
    """Use as a context manager::

        with CalibFileWriter("calib.h5") as writer:
            writer.add("end2end", "input", 0, array)
            writer.commit()   # renames the finished file onto calib.h5

    Leaving the block without ``commit()`` removes the temporary file.
    """

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.temp_path: Optional[Path] = None
        self._file: Any = None

    def __enter__(self) -> "CalibFileWriter":
        h5py = require_h5py()
        # Beside the destination, so that commit is a rename on one filesystem.
        self.temp_path = self.path.parent / f".{self.path.name}.{secrets.token_hex(4)}.tmp"
        self._file = h5py.File(self.temp_path, "w-")
        self._file.require_group(ROOT_GROUP)
        return self

    def __exit__(self, *exc_info) -> None:
        self._close()
        if self.temp_path is not None:
            self.temp_path.unlink(missing_ok=True)
            self.temp_path = None

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _root(self):
        assert self._file is not None, "use CalibFileWriter as a context manager"
        return self._file[ROOT_GROUP]

    def add(self, group: str, name: str, index: int, array: np.ndarray) -> None:
        """Stores one sample's tensor as ``calib_data/group/name/index``,
        with its dtype and shape."""
        self._root().require_group(group).require_group(name).create_dataset(
            str(index), data=array)

    def describe_group(self, group: str, **attrs: Any) -> None:
        """Creates ``group`` if needed and sets attributes on it."""
        _set_attrs(self._root().require_group(group), attrs)

    def link(self, alias: str, group: str) -> None:
        """Makes ``calib_data/alias`` a second name of ``calib_data/group``."""
        root = self._root()
        root[alias] = root.require_group(group)

    def describe_file(self, **attrs: Any) -> None:
        """Sets attributes on the file itself."""
        assert self._file is not None
        _set_attrs(self._file, attrs)

    def commit(self) -> Path:
        """Closes the file and renames it onto its destination."""
        self._close()
        assert self.temp_path is not None, "commit() once, inside the block"
        os.replace(self.temp_path, self.path)
        self.temp_path = None
        return self.path


def _set_attrs(obj: Any, attrs: Dict[str, Any]) -> None:
    h5py = require_h5py()
    for key, value in attrs.items():
        if isinstance(value, (list, tuple)):
            # An explicit string dtype: an empty list would otherwise be float64.
            value = np.array(list(value), dtype=h5py.string_dtype())
        obj.attrs[key] = value
