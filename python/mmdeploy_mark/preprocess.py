"""The export input: an image file turned into the tensor the model expects,
or a seeded random tensor.

One rule for every caller (the export input, calibration images): the image
is read as RGB, resized to the deploy config's input shape, put in the
model's channel order and normalized with its mean and std. By default that
is RGB scaled to [0, 1]; an OpenMMLab model config says otherwise in its
``data_preprocessor`` (see :meth:`ImagePreprocess.from_data_preprocessor`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch

__all__ = ["ImagePreprocess", "UnreadableInputError", "MissingDependencyError", "make_input"]


class UnreadableInputError(ValueError):
    """An input file exists but cannot be read as what it should be."""


class MissingDependencyError(RuntimeError):
    """Something the run needs is missing from this machine."""


@dataclass(frozen=True)
class ImagePreprocess:
    """How pixels (0..255) become model input: ``(pixel - mean) / std`` per
    channel, channels in RGB order (``rgb``) or BGR."""

    mean: Tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: Tuple[float, float, float] = (255.0, 255.0, 255.0)
    rgb: bool = True

    @classmethod
    def from_data_preprocessor(cls, cfg: Optional[Mapping[str, Any]],
                               where: str = "model config") -> "ImagePreprocess":
        """From an OpenMMLab ``data_preprocessor`` dict (mmengine's
        ImgDataPreprocessor semantics: images are loaded BGR; ``bgr_to_rgb``
        or ``rgb_to_bgr`` swaps the channels before normalization; no
        mean/std means no normalization).

        Raises:
            ValueError: mean or std is not three numbers, or std has a zero.
        """
        cfg = dict(cfg or {})
        swap = bool(cfg.get("bgr_to_rgb", False) or cfg.get("rgb_to_bgr", False))
        mean = _three(cfg.get("mean"), 0.0, "mean", where)
        std = _three(cfg.get("std"), 1.0, "std", where)
        if any(s == 0 for s in std):
            raise ValueError(f"{where}: data_preprocessor.std has a zero: {list(std)}")
        return cls(mean=mean, std=std, rgb=swap)

    def __call__(self, rgb_pixels: np.ndarray) -> np.ndarray:
        """[H, W, 3] RGB uint8 -> [1, 3, H, W] float32."""
        pixels = rgb_pixels.astype(np.float32)
        if not self.rgb:
            pixels = pixels[..., ::-1]
        mean = np.asarray(self.mean, dtype=np.float32)
        std = np.asarray(self.std, dtype=np.float32)
        return np.ascontiguousarray(((pixels - mean) / std).transpose(2, 0, 1)[None])


def _three(value: Any, default: float, key: str, where: str) -> Tuple[float, float, float]:
    if value is None:
        return (default, default, default)
    if not isinstance(value, Sequence) or len(value) != 3 or not all(
            isinstance(v, (int, float)) for v in value):
        raise ValueError(f"{where}: data_preprocessor.{key} must be three numbers (one per "
                         f"channel), got {value!r}")
    return tuple(float(v) for v in value)  # type: ignore[return-value]


def make_input(img: str, shape_hw: Tuple[int, int], device: str,
               preprocess: Optional[ImagePreprocess] = None) -> torch.Tensor:
    """The export input: ``'random'`` (uniform in [0, 1), seeded) or an image
    file, resized to ``shape_hw`` and preprocessed.

    Raises:
        FileNotFoundError: the image does not exist.
        UnreadableInputError: the image cannot be read.
        MissingDependencyError: Pillow is not installed.
    """
    height, width = shape_hw
    if img == "random":
        generator = torch.Generator().manual_seed(0)
        return torch.rand(1, 3, height, width, generator=generator).to(device)
    path = Path(img)
    if not path.is_file():
        raise FileNotFoundError(f"image '{img}' does not exist (or pass 'random')")
    try:
        from PIL import Image
    except ImportError as e:
        raise MissingDependencyError(
            "reading images needs Pillow (pip install pillow, or apt-get install "
            "python3-pil); or pass 'random'") from e
    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB").resize((width, height)))
    except OSError as e:
        raise UnreadableInputError(f"cannot read image '{img}': {e}") from e
    return torch.from_numpy((preprocess or ImagePreprocess())(pixels)).to(device)
