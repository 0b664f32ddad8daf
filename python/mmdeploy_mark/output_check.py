"""The check every model torch2onnx publishes passes first:
``onnx.checker.check_model(path, full_check=True)`` — the ONNX checker with
the model's external data resolved against its directory, then strict shape
inference with type checks. The partition pass checks what it writes the
same way in C++ (check_output.h); this module checks, with the onnx package
Python runs, the models a run stages before they are published.
"""
from __future__ import annotations

import os
from typing import Iterable

import onnx

from .partition import PartitionError


class InvalidOutputError(PartitionError):
    """A model a run was about to publish fails the ONNX checker; nothing
    was published."""


def check_model_file(path: str, name: str) -> None:
    """Raises InvalidOutputError naming ``name`` when the ONNX file at
    ``path`` fails ``onnx.checker.check_model(full_check=True)``.

    Runs the two halves of the full check itself: onnx 1.12's full check of
    a path writes the inferred model back over the file.
    """
    try:
        onnx.checker.check_model(os.fspath(path))
        model = onnx.load(os.fspath(path), load_external_data=False)
        onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
        raise InvalidOutputError(
            f"{name} fails the ONNX checker, so nothing was published: {e}") from None


def check_model_files(paths: Iterable[str], names: Iterable[str]) -> None:
    """check_model_file for each (path, name) pair, in order."""
    for path, name in zip(paths, names):
        check_model_file(path, name)
