"""Scans as Qt images: the page image, line strips and thumbnails.

Decoding goes through the core's ``imaging.load_image`` (EXIF orientation, multi-page TIFF, PDF, size limit)
so the pixels the window shows are the pixels the document's coordinates refer to.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from htrgui.core.document import TextLine

STRIP_HEIGHT = 44
STRIP_MARGIN = 6


def gray_qimage(gray: np.ndarray) -> QImage:
    """A deep copy of a (H, W) uint8 array as a grayscale QImage."""
    gray = np.ascontiguousarray(gray)
    h, w = gray.shape[:2]
    return QImage(gray.data, w, h, gray.strides[0], QImage.Format.Format_Grayscale8).copy()


def load_gray(path: Path, page_index: int = 0) -> np.ndarray:
    """The page as a (H, W) uint8 array (raises ``ImageError`` naming the file)."""
    from htrgui.core.imaging import load_image

    return load_image(path, page_index, mode="L")


def decode_page(path: Path, page_index: int = 0) -> tuple[np.ndarray, QImage]:
    """The page as gray levels and as a QImage (may run off the GUI thread: QImage, unlike QPixmap, may)."""
    gray = load_gray(path, page_index)
    return gray, gray_qimage(gray)


def line_strip(gray: np.ndarray, line: TextLine, height: int = STRIP_HEIGHT, max_width: int = 1400) -> QImage:
    """The line's bounding box cut from the page, scaled to ``height`` pixels for the editor."""
    x0, y0, x1, y1 = line.bbox()
    h, w = gray.shape[:2]
    x0, y0 = max(0, x0 - STRIP_MARGIN), max(0, y0 - STRIP_MARGIN)
    x1, y1 = min(w, x1 + STRIP_MARGIN), min(h, y1 + STRIP_MARGIN)
    if x1 <= x0 or y1 <= y0:
        return QImage()
    image = gray_qimage(gray[y0:y1, x0:x1])
    image = image.scaledToHeight(height, Qt.TransformationMode.SmoothTransformation)
    if image.width() > max_width:
        image = image.scaledToWidth(max_width, Qt.TransformationMode.SmoothTransformation)
    return image


def rgb_qimage(rgb: np.ndarray) -> QImage:
    """A deep copy of a (H, W, 3) uint8 array as an RGB QImage."""
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888).copy()


def thumbnail(path: Path, page_index: int = 0, size: int = 96) -> QImage:
    """A small colour preview, decoded by the core (EXIF orientation, TIFF pages, PDF, size limit) at reduced
    scale; a blank image when the file cannot be read. The core's PIL decoder, not Qt's image plugins: one
    decoder for every page the app reads, and none of Qt's in a worker thread (one crashed there in CI)."""
    from htrgui.core.imaging import load_image

    try:
        return rgb_qimage(load_image(path, page_index, "RGB", max_side=size))
    except Exception:  # noqa: BLE001 - a thumbnail that cannot be made is just left blank
        return QImage()
