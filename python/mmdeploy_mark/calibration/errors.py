"""The errors of calibration, each with its own exit code in torch2onnx."""
from __future__ import annotations


class CalibrationError(RuntimeError):
    """The PyTorch run cannot give one tensor per sample to every partition
    input: a mark fired a different number of times than there are samples,
    a start marker selected no mark, or an input received no tensor. The
    message names the partition and the input."""


class CalibrationInputError(ValueError):
    """The calibration images cannot be used: no image in the directory, or
    one that cannot be read. The message names the file."""
