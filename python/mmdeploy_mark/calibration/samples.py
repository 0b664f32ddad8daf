"""Calibration samples for torch2onnx: every image of a directory, or seeded
random tensors, each shaped exactly as the export input."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, List, Optional, Sequence

import torch

from ..preprocess import ImagePreprocess, make_input
from .errors import CalibrationInputError

# What --calib-images takes from its directory; other files are skipped.
IMAGE_SUFFIXES = (".bmp", ".jpeg", ".jpg", ".png", ".ppm", ".pgm", ".tif", ".tiff", ".webp")
RANDOM_SEED = 0


def image_files(directory: str) -> List[Path]:
    """The images of ``directory`` (not its subdirectories), sorted by name.

    Raises:
        FileNotFoundError: the directory does not exist.
        CalibrationInputError: it holds no image.
    """
    root = Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(f"--calib-images '{directory}' is not a directory of images")
    files = sorted(p for p in root.iterdir()
                   if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                   and not p.name.startswith("."))
    if not files:
        raise CalibrationInputError(
            f"--calib-images '{directory}' holds no image ({', '.join(IMAGE_SUFFIXES)}); "
            f"put the calibration images there or use --calib-samples N")
    return files


def image_samples(files: Sequence[Path], shape_hw: Sequence[int], device: str,
                  preprocess: Optional[ImagePreprocess] = None) -> Iterator[torch.Tensor]:
    """Each image preprocessed as the export input (make_input), one at a time."""
    for path in files:
        try:
            yield make_input(str(path), (int(shape_hw[0]), int(shape_hw[1])), device,
                             preprocess)
        except ValueError as e:
            raise CalibrationInputError(f"calibration image: {e}") from e


def random_samples(count: int, shape: Sequence[int], device: str,
                   seed: int = RANDOM_SEED) -> Iterator[torch.Tensor]:
    """``count`` uniform random tensors of ``shape`` from one seeded generator
    (so the first equals the export's 'random' input, and runs repeat)."""
    generator = torch.Generator().manual_seed(seed)
    for _ in range(count):
        yield torch.rand(*shape, generator=generator).to(device)
