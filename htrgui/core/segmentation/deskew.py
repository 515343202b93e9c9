"""Skew: estimate the dominant text angle of a page and rotate images and points by it."""

from __future__ import annotations

import cv2
import numpy as np


def _sharpness(ink_small: np.ndarray, angle: float) -> float:
    """How sharply the row sums of the ink peak when the page is rotated by ``angle``: text lines align best."""
    h, w = ink_small.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    rot = cv2.warpAffine(ink_small, m, (w, h), flags=cv2.INTER_NEAREST)
    rows = rot.sum(axis=1, dtype=np.float64)
    return float(np.sum(np.diff(rows) ** 2))


def estimate_skew(ink: np.ndarray, max_angle: float, scale: float) -> float:
    """Angle in degrees (counter-clockwise, OpenCV's sign) that straightens the text lines of ``ink``.

    Searches a coarse then a fine grid of angles on a reduced copy (text scale ``scale`` brought to about
    4 px, enough for line-level alignment). Returns 0.0 for pages with too little ink to tell.
    """
    if max_angle <= 0 or ink.sum() < 200:
        return 0.0
    f = min(1.0, 4.0 / max(scale, 1.0))
    h, w = ink.shape
    small = cv2.resize(ink.astype(np.float32), (max(8, int(w * f)), max(8, int(h * f))), interpolation=cv2.INTER_AREA)
    best, best_score = 0.0, _sharpness(small, 0.0)
    step = 1.0
    for a in np.arange(-max_angle, max_angle + 1e-6, step):
        s = _sharpness(small, float(a))
        if s > best_score * 1.0001:
            best, best_score = float(a), s
    for a in np.arange(best - step, best + step + 1e-6, 0.25):
        s = _sharpness(small, float(a))
        if s > best_score * 1.0001:
            best, best_score = float(a), s
    return best


def rotation(shape: tuple[int, int], angle: float) -> np.ndarray:
    """The 2x3 affine matrix rotating an image of ``shape`` (h, w) by ``angle`` degrees about its centre."""
    h, w = shape
    return cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)


def rotate_image(img: np.ndarray, angle: float, fill: int = 0) -> np.ndarray:
    """``img`` rotated by ``angle`` degrees about its centre, same size, corners filled with ``fill``."""
    h, w = img.shape[:2]
    return cv2.warpAffine(img, rotation((h, w), angle), (w, h), flags=cv2.INTER_NEAREST, borderValue=fill)


def rotate_mask(mask: np.ndarray, angle: float) -> np.ndarray:
    """A boolean mask rotated by ``angle`` degrees about its centre, same size, corners empty."""
    return rotate_image(mask.astype(np.uint8), angle).astype(bool)


def unrotate_points(xy: np.ndarray, shape: tuple[int, int], angle: float) -> np.ndarray:
    """Map (N, 2) points of the rotated image back to the original image."""
    inv = cv2.invertAffineTransform(rotation(shape, angle))
    pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    return pts @ inv[:, :2].T + inv[:, 2]
