"""Synthetic pages with known lines: text drawn with OpenCV's script font at known baselines."""

from __future__ import annotations

import cv2
import numpy as np

WORDS = ["lorem", "ipsum", "dolor", "sit", "amet", "quod", "erat", "demonstrandum", "testament", "soldat",
         "mairie", "paris", "notaire", "juillet"]


def text_page(n_lines: int = 6, width: int = 1200, spacing: int = 90, scale: float = 1.6, seed: int = 0,
              background: np.ndarray | None = None) -> tuple[np.ndarray, list[list[tuple[int, int]]]]:
    """A white (or given) page with ``n_lines`` lines of script text; returns the image and the true
    baselines (left and right end of each line's ink)."""
    rng = np.random.default_rng(seed)
    height = spacing * (n_lines + 2)
    img = np.full((height, width), 255, np.uint8) if background is None else background.copy()
    baselines = []
    for k in range(n_lines):
        y = spacing * (k + 1) + spacing // 2
        x = 60
        x_end = x
        while True:
            word = WORDS[int(rng.integers(len(WORDS)))]
            (tw, _), _ = cv2.getTextSize(word, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, scale, 2)
            if x + tw > width - 60:
                break
            cv2.putText(img, word, (x, y), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, scale, 20, 2, cv2.LINE_AA)
            x_end = x + tw
            x += tw + int(scale * 18)
        baselines.append([(60, y), (x_end, y)])
    return img, baselines
