"""Cut a line image out of a page for the recogniser.

The crop is the line polygon's bounding box with everything outside the polygon (the neighbouring lines'
ascenders and descenders) replaced by white. The paper tone inside the polygon is mapped to white as well
(:func:`paper_to_white`, which the trainer applies to line images of ``.ln`` lists too), so a yellowed or
dark scan looks like the lines the model was trained on. The result is scaled to a fixed
height keeping the aspect ratio (a 30:1 archival line stays 30:1, up to ``max_width``).
"""

from __future__ import annotations

import numpy as np

from htrgui.core.document import TextLine
from htrgui.core.geometry import crop_outline
from htrgui.core.recognition.config import HEIGHT

MAX_WIDTH = 4096


def crop_polygon(gray: np.ndarray, polygon: list[tuple[int, int]]) -> np.ndarray:
    """Bounding box of ``polygon`` in the uint8 page, outside the polygon white, paper tone mapped to white."""
    import cv2

    h, w = gray.shape[:2]
    pts = np.asarray(polygon, dtype=np.int32)
    x0, y0 = max(0, int(pts[:, 0].min())), max(0, int(pts[:, 1].min()))
    x1, y1 = min(w, int(pts[:, 0].max()) + 1), min(h, int(pts[:, 1].max()) + 1)
    if x1 <= x0 or y1 <= y0:
        return np.full((1, 1), 255, dtype=np.uint8)
    box = gray[y0:y1, x0:x1]
    mask = np.zeros(box.shape, dtype=np.uint8)
    cv2.fillPoly(mask, [pts - np.array([x0, y0], dtype=np.int32)], 255)
    out = paper_to_white(box, mask > 0)
    out[mask == 0] = 255
    return out


def paper_to_white(gray: np.ndarray, region: np.ndarray | None = None) -> np.ndarray:
    """``gray`` (uint8) scaled so its paper tone becomes white: a yellowed or dark scan looks like the lines
    the model was trained on. The paper tone is the 90th percentile of the pixels in ``region`` (a bool
    mask; all pixels by default): most pixels of a line are paper, even on dark scans. No pixel: white."""
    inside = gray[region] if region is not None else gray
    if inside.size == 0:
        return np.full(gray.shape, 255, dtype=np.uint8)
    paper = float(np.percentile(inside, 90))
    scale = 255.0 / max(paper, 1.0)
    return np.clip(gray.astype(np.float32) * scale, 0, 255).astype(np.uint8)


def resize_to_height(img: np.ndarray, height: int = HEIGHT, max_width: int = MAX_WIDTH,
                     min_width: int = 1) -> np.ndarray:
    """Scale to ``height`` keeping the aspect ratio; wider than ``max_width`` is squeezed to it, narrower
    than ``min_width`` stretched. Every line image (page crop, ``.ln`` image, synthetic line) goes through here."""
    import cv2

    h, w = img.shape[:2]
    new_w = max(min_width, min(max_width, int(round(w * height / max(h, 1)))))
    interp = cv2.INTER_AREA if h > height else cv2.INTER_CUBIC
    return cv2.resize(img, (new_w, height), interpolation=interp)


def crop_line(gray_page: np.ndarray, line: TextLine, height: int = HEIGHT, max_width: int = MAX_WIDTH) -> np.ndarray:
    """The line as a uint8 image of shape (height, W): dark ink on white, aspect ratio kept."""
    if gray_page.ndim != 2 or gray_page.dtype != np.uint8:
        raise ValueError(f"expected a 2-D uint8 grayscale page, got {gray_page.dtype} {gray_page.shape}")
    return resize_to_height(crop_polygon(gray_page, crop_outline(line, gray_page.shape[0])), height, max_width)
