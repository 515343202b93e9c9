"""Line images to model input: float batches, white padding, width buckets."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from htrgui.core.recognition.config import HEIGHT


def line_to_array(img: np.ndarray) -> np.ndarray:
    """uint8 (64, W) line -> float32 in [0, 1], white = 1."""
    if img.ndim != 2 or img.shape[0] != HEIGHT:
        raise ValueError(f"expected a line image of height {HEIGHT}, got shape {img.shape}")
    return img.astype(np.float32) / 255.0


def batch_lines(lines: Sequence[np.ndarray], multiple: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack line images into (B, 1, 64, Wmax) padded with white, and their widths (B,): the one batch builder
    of recognition, validation and training (which pads to ``training.data.TRAIN_MULTIPLE``)."""
    widths = [int(img.shape[1]) for img in lines]
    wmax = -(-max(widths) // multiple) * multiple
    batch = np.ones((len(lines), 1, HEIGHT, wmax), dtype=np.float32)
    for i, img in enumerate(lines):
        batch[i, 0, :, : img.shape[1]] = line_to_array(img)
    return torch.from_numpy(batch), torch.tensor(widths, dtype=torch.long)


def width_buckets(widths: Sequence[int], batch_size: int, max_pixels: int | None = None) -> list[list[int]]:
    """Indices grouped into batches of similar width (sorted), so little compute goes to padding.

    ``max_pixels`` caps batch_size * widest width, keeping memory bounded for very long lines.
    """
    order = sorted(range(len(widths)), key=lambda i: widths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        wide = widths[i]  # sorted: the newcomer is the widest
        if current and (len(current) >= batch_size or (max_pixels and wide * (len(current) + 1) > max_pixels)):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches
