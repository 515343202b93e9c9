"""Double-page spreads and two-column pages: a scan of two facing pages (an opened register or book), or a
page written in two columns, is segmented part by part.

Each page of a spread has its own skew and often its own hand and size of writing; seen as one, the larger
writing sets the scale and the smaller page's lines are lost, and a deskew angle between the two fits
neither. Two pages meet at a gutter: a band of columns without ink from top to bottom, with text on both
sides. Two columns of one page are parted by such a band too, and seen as one their lines are joined
across it whenever it is narrower than the widest gap a line may have.
"""

from __future__ import annotations

import cv2
import numpy as np

from htrgui.core.document import TextRegion

#: Each side of a gutter holds at least this share of the scan's ink (a note in a margin is no page).
SIDE_SHARE = 0.1
#: The gutter lies in this middle part of the width.
MIDDLE = (0.3, 0.7)
#: Two sides whose text scales differ by less than this factor may be one sheet; a line ending at most
#: ``REACH`` x H before the gutter's band, and one starting at most as far after it, at heights within
#: ``SAME_HEIGHT`` x H of each other, are one line running across.
SAME_SCALE = 1.5
REACH = 4.0
SAME_HEIGHT = 0.7
#: ... unless more lines than this do so.
MAX_ACROSS = 3


def min_gutter(shape: tuple[int, int], spread_aspect: float, spread_gap: float, column_gap: float) -> float:
    """Narrowest band (x H) that parts a scan of ``shape`` (rows, columns): ``spread_gap`` on a scan at least
    ``spread_aspect`` times as wide as high (two facing pages; 0: never), else ``column_gap`` (two
    columns of one page, a wider band than a spread's: single pages show bands of up to 2 H between
    short lines and margin notes); 0 for none."""
    h, w = shape
    return spread_gap if spread_aspect > 0 and w >= spread_aspect * h else column_gap


def gutter(ink: np.ndarray, scale: float, min_width: float) -> tuple[int, int] | None:
    """Where two pages or two columns meet in ``ink`` (a cleaned ink mask, text scale ``scale`` px): the
    middle column and the width of the band without ink, or None.

    The band is the widest run of columns without ink (specks left out) in the middle of the width, at
    least ``min_width`` x ``scale`` wide (0: never found), with at least :data:`SIDE_SHARE` of the ink on
    each side.
    """
    h, w = ink.shape
    if min_width <= 0 or scale <= 0:
        return None
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    # specks (dust, bleed-through dots) must not break the band; letters and strokes are larger
    big = (stats[:, cv2.CC_STAT_WIDTH] >= 0.5 * scale) | (stats[:, cv2.CC_STAT_HEIGHT] >= 0.5 * scale)
    big[0] = False
    cols = big[labels].sum(axis=0)
    total = cols.sum()
    if total == 0:
        return None
    lo, hi = int(MIDDLE[0] * w), int(MIDDLE[1] * w)
    empty = np.concatenate([[False], cols[lo:hi] == 0, [False]])
    edges = np.flatnonzero(np.diff(empty.astype(np.int8)))
    if len(edges) == 0:
        return None
    starts, ends = edges[0::2], edges[1::2]
    k = int(np.argmax(ends - starts))
    if ends[k] - starts[k] < min_width * scale:
        return None
    cut = lo + int((starts[k] + ends[k]) // 2)
    left = cols[:cut].sum()
    if min(left, total - left) < SIDE_SHARE * total:
        return None
    return cut, int(ends[k] - starts[k])


def runs_across(left: list[TextRegion], right: list[TextRegion], cut: float, reach: float, tol: float) -> bool:
    """Whether writing runs on across ``cut`` (one sheet whose words happen to leave a band free, an
    envelope across a fold): most lines ending within ``reach`` of it on the left, or starting within
    ``reach`` of it on the right (whichever are fewer), have a line on the other side at the same height
    (within ``tol``), and at most :data:`MAX_ACROSS` do."""
    ends = [ln.baseline[-1] for r in left for ln in r.lines if ln.baseline[-1][0] >= cut - reach]
    starts = [ln.baseline[0] for r in right for ln in r.lines if ln.baseline[0][0] <= cut + reach]
    if not ends or not starts:
        return False
    few, many = (ends, starts) if len(ends) <= len(starts) else (starts, ends)
    ys = np.array([y for _, y in many], dtype=np.float64)
    paired = sum(1 for _, y in few if np.abs(ys - y).min() <= tol)
    # a band left free by chance crosses a few lines; one free through many lines at the same place is
    # the gutter of two pages written alike (their lines at the same heights) or a gap between columns
    return max(1, (len(few) + 1) // 2) <= paired <= MAX_ACROSS
