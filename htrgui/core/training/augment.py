"""Line image augmentations on uint8 grey crops (dark ink on white, height 64), each driven by a seeded RNG.

The paper's three (projective warp, erosion/dilation, brightness/contrast; model.md 6.7) plus what helps on
archival scans: elastic warp, blur, sensor noise and ink fading. Every function takes a
``numpy.random.Generator`` so a run is reproducible from its seed; nothing touches global RNG state.
Augmentation is applied to the line before batch padding, so the white padding is never warped.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


def projective(img: np.ndarray, rng: np.random.Generator, amount: float = 8.0) -> np.ndarray:
    """Random perspective: corners move horizontally or vertically by up to ``amount`` px.

    The warp goes onto a canvas that holds all four moved corners (so no ascender, descender or first or
    last letter is cut off), which is then scaled back to the input height, aspect ratio kept."""
    h, w = img.shape
    horizontal = rng.random() < 0.5
    dw, dh = (amount, 0.0) if horizontal else (0.0, amount)
    src = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    jitter = np.stack([rng.uniform(-dw, dw, 4) if dw else np.zeros(4),
                       rng.uniform(-dh, dh, 4) if dh else np.zeros(4)], axis=1).astype(np.float32)
    dst = src + jitter
    # the canvas holds the crop's own frame and every moved corner: corners moved inwards leave white as
    # before, corners moved outwards enlarge it instead of being cut off
    dst -= np.minimum(dst.min(axis=0), 0)
    cw = int(np.ceil(max(dst[:, 0].max(), w - 1))) + 1
    ch = int(np.ceil(max(dst[:, 1].max(), h - 1))) + 1
    m = cv2.getPerspectiveTransform(src, dst)
    out = cv2.warpPerspective(img, m, (cw, ch), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                              borderValue=255)
    if ch == h:
        return out
    new_w = max(8, int(round(cw * h / ch)))
    return cv2.resize(out, (new_w, h), interpolation=cv2.INTER_AREA if ch > h else cv2.INTER_LINEAR)


def morphology(img: np.ndarray, rng: np.random.Generator, max_kernel: int = 2) -> np.ndarray:
    """Thicker or thinner strokes. On dark ink, ``erode`` (min filter) thickens and ``dilate`` thins."""
    kernel = np.ones((int(rng.integers(1, max_kernel + 1)), int(rng.integers(1, max_kernel + 1))), np.uint8)
    if kernel.size == 1:
        return img
    return cv2.erode(img, kernel) if rng.random() < 0.5 else cv2.dilate(img, kernel)


def brightness_contrast(img: np.ndarray, rng: np.random.Generator, strength: float = 0.4) -> np.ndarray:
    """ColorJitter-like brightness and contrast factors in [1-strength, 1+strength]."""
    b = rng.uniform(1 - strength, 1 + strength)
    c = rng.uniform(1 - strength, 1 + strength)
    x = img.astype(np.float32) * b
    x = (x - x.mean()) * c + x.mean()
    return np.clip(x, 0, 255).astype(np.uint8)


def elastic(img: np.ndarray, rng: np.random.Generator, alpha: float = 2.5, sigma: float = 6.0) -> np.ndarray:
    """Smooth random displacement (up to a few px), like handwriting's natural wobble."""
    h, w = img.shape
    dx = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), sigma)
    dy = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), sigma)
    # Normalise so ``alpha`` is the largest displacement in pixels, whatever sigma does to the amplitude.
    scale = alpha / max(float(np.abs(dx).max()), float(np.abs(dy).max()), 1e-6)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(img, xs + dx * scale, ys + dy * scale, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                     borderValue=255)


def blur(img: np.ndarray, rng: np.random.Generator, max_sigma: float = 1.2) -> np.ndarray:
    """Gaussian blur (out-of-focus scans, low-resolution microfilm)."""
    return cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, max_sigma))


def noise(img: np.ndarray, rng: np.random.Generator, max_std: float = 12.0) -> np.ndarray:
    """Additive Gaussian sensor noise."""
    x = img.astype(np.float32) + rng.normal(0.0, rng.uniform(2.0, max_std), img.shape).astype(np.float32)
    return np.clip(x, 0, 255).astype(np.uint8)


def ink_fading(img: np.ndarray, rng: np.random.Generator, max_fade: float = 0.6) -> np.ndarray:
    """Ink that fades unevenly along the line: dark pixels move toward the paper tone by a smooth amount."""
    h, w = img.shape
    knots = rng.uniform(0.0, max_fade, max(2, w // 64 + 2)).astype(np.float32)
    fade = cv2.resize(knots[None, :], (w, h), interpolation=cv2.INTER_LINEAR)
    paper = float(np.percentile(img, 90))
    x = img.astype(np.float32)
    x = x + (paper - x).clip(min=0) * fade
    return np.clip(x, 0, 255).astype(np.uint8)


def width_scale(img: np.ndarray, rng: np.random.Generator, spread: float = 0.15) -> np.ndarray:
    """Narrower or wider writing: rescale the width by a factor in [1-spread, 1+spread]."""
    h, w = img.shape
    new_w = max(8, int(round(w * rng.uniform(1 - spread, 1 + spread))))
    return cv2.resize(img, (new_w, h), interpolation=cv2.INTER_AREA if new_w < w else cv2.INTER_LINEAR)


@dataclass(frozen=True)
class AugmentConfig:
    """Probability of each transform per line; 0 switches one off."""

    projective: float = 0.5
    morphology: float = 0.5
    brightness_contrast: float = 0.5
    elastic: float = 0.2
    blur: float = 0.15
    noise: float = 0.15
    ink_fading: float = 0.15
    width_scale: float = 0.3

    @classmethod
    def off(cls) -> "AugmentConfig":
        return cls(*(0.0,) * 8)


_ORDER = (("width_scale", width_scale), ("projective", projective), ("elastic", elastic),
          ("morphology", morphology), ("ink_fading", ink_fading), ("blur", blur),
          ("brightness_contrast", brightness_contrast), ("noise", noise))


def augment(img: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig = AugmentConfig()) -> np.ndarray:
    """Apply each transform with its probability, geometry first, photometry last. Height is kept."""
    out = img
    for name, fn in _ORDER:
        if rng.random() < getattr(cfg, name):
            out = fn(out, rng)
    return out
