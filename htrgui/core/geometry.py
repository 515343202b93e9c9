"""Every polygon and baseline rule in one place.

Points are integer ``(x, y)`` pixels of the page image (floats only in between). The readers parse point
lists here, the writers make polygons exportable here, the recogniser asks here which outline of a line to
cut, the segmenter and the editing operations build their line bands here (with the same split between
stacked lines), and the GUI asks here which region a drawn baseline belongs to.

Sections: parsing and clipping, boxes, bands around baselines, stacked lines, cutting and uniting, regions.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

from htrgui.core.document import Page, Point, TextLine, TextRegion

#: Where the boundary between two stacked lines sits, as a fraction of their baseline distance below the
#: upper one: descenders take less room than ascenders plus the x-height of the lower line. The segmenter
#: and the editing operations both cut here, so a recomputed polygon matches a segmented one.
SPLIT = 0.32


# ------------------------------------------------------------------------------ parsing and clipping

def parse_points(text: str | None) -> list[Point] | None:
    """Parse a point list in any common spelling (``x,y x,y``, ``x y x y``, floats) to integer points.

    Returns None when the text is missing or unusable (odd number of values, not numbers, NaN).
    Consecutive duplicate points are dropped (they make degenerate edges).
    """
    if text is None:
        return None
    cleaned = text.replace(",", " ").strip()
    if not cleaned:
        return None
    tokens = cleaned.split()
    if len(tokens) % 2:
        return None
    try:
        values = [float(t) for t in tokens]
    except ValueError:
        return None
    if any(not math.isfinite(v) for v in values):
        return None
    pts: list[Point] = []
    for x, y in zip(values[0::2], values[1::2]):
        p = (int(round(x)), int(round(y)))
        if not pts or pts[-1] != p:
            pts.append(p)
    return pts


def parse_polygon(text: str | None) -> list[Point] | None:
    """:func:`parse_points` for a polygon: a closing point that repeats the first one is dropped."""
    pts = parse_points(text)
    if pts and len(pts) > 1 and pts[0] == pts[-1]:
        pts.pop()
    return pts


def clip_points(points: Iterable[tuple[float, float]], width: int, height: int) -> list[Point]:
    """Integer points moved inside the image grid ``[0, width-1] x [0, height-1]``.

    Also turns numpy or float coordinates (from segmentation or editing) into the plain ints PAGE needs.
    """
    return [(min(max(int(round(x)), 0), width - 1), min(max(int(round(y)), 0), height - 1)) for x, y in points]


def clip(page: Page, pts: Iterable[tuple[float, float]]) -> list[Point]:
    """:func:`clip_points` inside the page's image, consecutive duplicates dropped."""
    out: list[Point] = []
    for p in clip_points(pts, page.width, page.height):
        if not out or out[-1] != p:
            out.append(p)
    return out


def polygon_for_export(points: list[Point]) -> list[Point]:
    """A polygon with at least 4 points (OCR-D refuses fewer), without a repeated closing point.

    Missing points are added as edge midpoints, so the shape is unchanged.
    """
    pts = list(points)
    if len(pts) > 1 and pts[0] == pts[-1]:
        pts.pop()
    if len(pts) == 1:
        x, y = pts[0]
        pts = [(x, y), (x + 1, y), (x + 1, y + 1), (x, y + 1)]
    elif len(pts) == 2:
        (x0, y0), (x1, y1) = pts
        x0, x1 = sorted((x0, x1))
        y0, y1 = sorted((y0, y1))
        pts = [(x0, y0), (max(x1, x0 + 1), y0), (max(x1, x0 + 1), max(y1, y0 + 1)), (x0, max(y1, y0 + 1))]
    while len(pts) < 4:
        # split the longest edge
        i = max(range(len(pts)), key=lambda k: _dist2(pts[k], pts[(k + 1) % len(pts)]))
        a, b = pts[i], pts[(i + 1) % len(pts)]
        pts.insert(i + 1, ((a[0] + b[0]) // 2, (a[1] + b[1]) // 2))
    return pts


def _dist2(a: Point, b: Point) -> int:
    return (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2


# ------------------------------------------------------------------------------ boxes

def bounds(points: Sequence[tuple[float, float]]) -> tuple:
    """``(x0, y0, x1, y1)``: the smallest and largest coordinates of the points."""
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def box_polygon(x0, y0, x1, y1) -> list:
    """The rectangle as a 4-point polygon: top left, top right, bottom right, bottom left."""
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def bbox_polygon(points: Sequence[Point]) -> list[Point]:
    """The axis-aligned rectangle around the points, as a 4-point polygon."""
    return box_polygon(*bounds(points))


def convex_hull(points: Sequence[Point]) -> list[Point]:
    """The convex hull of the points (integer points, OpenCV's order)."""
    import cv2

    hull = cv2.convexHull(np.array(points, dtype=np.int32).reshape(-1, 1, 2)).reshape(-1, 2)
    return [(int(x), int(y)) for x, y in hull]


def inside(polygon: Sequence[Point], points: Iterable[Point]) -> bool:
    """True when every point lies inside the polygon or on its edge (a polygon needs three points)."""
    import cv2

    contour = np.array(polygon, dtype=np.int32).reshape(-1, 1, 2)
    return len(polygon) >= 3 and all(cv2.pointPolygonTest(contour, (float(x), float(y)), False) >= 0
                                     for x, y in points)


# ------------------------------------------------------------------------------ bands around baselines

def baseline_y(baseline: Sequence[Point], x: float) -> float:
    """The baseline's height at column ``x`` (linear between its points, flat beyond its ends)."""
    xs = [p[0] for p in baseline]
    ys = [p[1] for p in baseline]
    return float(np.interp(x, xs, ys))


def band(baseline: Sequence[tuple[float, float]], up: float, down: float) -> list[tuple[float, float]]:
    """The plain band from ``up`` above to ``down`` below a baseline: top left to right, bottom right to left."""
    return [(x, y - up) for x, y in baseline] + [(x, y + down) for x, y in reversed(baseline)]


def baseline_from_polygon(polygon: Sequence[Point]) -> list[Point]:
    """A horizontal baseline for a line that has none: across the polygon, a fifth of its height above the bottom."""
    x0, y0, x1, y1 = bounds(polygon)
    y = y1 - (y1 - y0) // 5
    return [(x0, y), (max(x1, x0 + 1), y)]


def polygon_from_baseline(baseline: Sequence[Point], height: int = 40) -> list[Point]:
    """A band above (and a little below) the baseline for a line read from a file without a polygon."""
    n = len(baseline)
    poly = band(baseline, height, max(height // 4, 1))
    return [(x, max(y, 0)) for x, y in poly[:n]] + poly[n:]  # the top stays inside the image


def crop_outline(line: TextLine, page_h: int) -> list[Point]:
    """The outline the recogniser cuts: the line's own polygon, or a band around its baseline when the polygon
    is missing or flat (ascenders 3 %, descenders 1.2 % of the page height: rough, but the model sees ink)."""
    poly = [tuple(map(int, p)) for p in line.polygon]
    if len(poly) >= 3:
        x0, y0, x1, y1 = bounds(poly)
        if x1 > x0 and y1 > y0:
            return poly
    if len(line.baseline) >= 2:
        up, down = max(8, int(0.03 * page_h)), max(4, int(0.012 * page_h))
        return band([tuple(map(int, p)) for p in line.baseline], up, down)
    raise ValueError(f"line {line.id} has neither a polygon nor a baseline")


def polygon_around(page: Page, baseline: list[Point], up: float, down: float) -> list[Point]:
    """A band from ``up`` pixels above to ``down`` below a baseline: top left to right, bottom right to left.

    The ends reach one pixel beyond the baseline so that the baseline lies strictly inside.
    """
    poly = band(baseline, up, down)
    n = len(baseline)
    poly[0] = (poly[0][0] - 1, poly[0][1])            # top left
    poly[n - 1] = (poly[n - 1][0] + 1, poly[n - 1][1])  # top right
    poly[n] = (poly[n][0] + 1, poly[n][1])            # bottom right
    poly[-1] = (poly[-1][0] - 1, poly[-1][1])         # bottom left
    poly = clip(page, poly)
    if len(poly) < 4:  # a line on the image's edge: fall back to its box
        x0, y0, x1, y1 = bounds(baseline)
        poly = clip(page, box_polygon(x0 - 1, y0 - up, x1 + 1, y1 + down))
    return poly


def extent(line: TextLine) -> tuple[float, float]:
    """How far the line's polygon reaches above and below its baseline (the farthest polygon points)."""
    if len(line.polygon) < 3 or len(line.baseline) < 2:
        return 0.0, 0.0
    ups, downs = [], []
    for x, y in line.polygon:
        d = y - baseline_y(line.baseline, x)
        (ups if d < 0 else downs).append(abs(d))
    return (float(max(ups)) if ups else 0.0), (float(max(downs)) if downs else 0.0)


def typical_extent(page: Page) -> tuple[float, float]:
    """Median reach above and below the baseline of the page's lines (a new line looks like its neighbours)."""
    ext = [extent(line) for line in page.lines()]
    ext = [e for e in ext if e[0] > 0 and e[1] > 0]
    if not ext:
        h = max(8.0, page.height / 60)
        return h, h / 3
    return float(np.median([e[0] for e in ext])), float(np.median([e[1] for e in ext]))


def reach(page: Page, line: TextLine) -> tuple[float, float]:
    """The line's own reach above and below its baseline, or the page's typical one."""
    cur_up, cur_down = extent(line)
    typ_up, typ_down = typical_extent(page)
    return (cur_up or typ_up), (cur_down or typ_down)


# ------------------------------------------------------------------------------ stacked lines

def stacked_band(xs: np.ndarray, base: np.ndarray, up: float, down: float,
                 neighbours: Iterable[tuple[float, float, np.ndarray]], floor: float) -> np.ndarray:
    """Polygon (N, 2) of a line sampled at columns ``xs`` with baseline heights ``base``: top points left to
    right, then bottom points right to left.

    It reaches ``up`` above and ``down`` below the baseline, capped column by column at the :data:`SPLIT`
    between this line and each neighbour ``(x0, x1, its baseline at xs)`` that covers the column, never
    thinner than ``floor`` (the baseline must lie inside). Both ends reach one pixel further out so the
    baseline's end points are strictly inside. The segmenter and the editing operations both build lines here.
    """
    ups = np.full(len(xs), up, dtype=float)
    downs = np.full(len(xs), down, dtype=float)
    for x0, x1, other in neighbours:
        cover = (xs >= x0) & (xs <= x1)
        d = base - other  # > 0: the neighbour is above
        above = cover & (d > 0)
        below = cover & (d < 0)
        ups[above] = np.minimum(ups[above], (1 - SPLIT) * d[above])
        downs[below] = np.minimum(downs[below], SPLIT * -d[below])
    ups = np.maximum(ups, floor)
    downs = np.maximum(downs, floor)
    top = np.stack([xs, base - ups], axis=1).astype(float)
    bottom = np.stack([xs, base + downs], axis=1)[::-1].astype(float)
    top[0, 0] -= 1
    bottom[-1, 0] -= 1
    top[-1, 0] += 1
    bottom[0, 0] += 1
    return np.concatenate([top, bottom], axis=0)


def band_polygon(page: Page, region: TextRegion, line: TextLine, up: float, down: float) -> list[Point]:
    """A polygon ``up`` above and ``down`` below the line's baseline, stopping short of the nearest lines
    above and below in the same region (at the segmenter's split) so it does not swallow them."""
    ys = np.array([p[1] for p in line.baseline], dtype=float)
    xs = np.array([p[0] for p in line.baseline], dtype=float)
    neighbours = [(other.baseline[0][0], other.baseline[-1][0],
                   np.array([baseline_y(other.baseline, x) for x in xs]))
                  for other in region.lines if other is not line and len(other.baseline) >= 2]
    poly = clip(page, stacked_band(xs, ys, up, down, neighbours, floor=2))
    return poly if len(poly) >= 4 else polygon_around(page, line.baseline, up, down)


# ------------------------------------------------------------------------------ cutting and uniting

def cut_polygon(poly: Sequence[Point], x: float, keep_left: bool) -> list[tuple[float, float]]:
    """The part of a polygon left (or right) of the vertical line at ``x`` (Sutherland-Hodgman, one edge)."""
    def keep(p: tuple[float, float]) -> bool:
        return p[0] <= x if keep_left else p[0] >= x

    out: list[tuple[float, float]] = []
    n = len(poly)
    for k in range(n):
        cur, nxt = poly[k], poly[(k + 1) % n]
        if keep(cur):
            out.append(cur)
        if keep(cur) != keep(nxt) and nxt[0] != cur[0]:
            t = (x - cur[0]) / (nxt[0] - cur[0])
            out.append((x, cur[1] + t * (nxt[1] - cur[1])))
    return out


def union_outline(page: Page, polygons: list[list[Point]], bridge: int) -> list[Point]:
    """Outline of the union of polygons, gaps up to ``bridge`` pixels closed (drawn, then traced)."""
    import cv2

    pts = np.array([p for poly in polygons for p in poly], dtype=np.int32)
    x0, y0 = pts.min(axis=0) - bridge - 2
    x1, y1 = pts.max(axis=0) + bridge + 2
    canvas = np.zeros((int(y1 - y0 + 1), int(x1 - x0 + 1)), dtype=np.uint8)
    for poly in polygons:
        cv2.fillPoly(canvas, [np.array(poly, dtype=np.int32) - [x0, y0]], 1)
    if bridge > 0:
        canvas = cv2.morphologyEx(canvas, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (bridge, 1)))
    contours, _ = cv2.findContours(canvas, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    biggest = max(contours, key=cv2.contourArea).reshape(-1, 2)
    return clip(page, [(int(x + x0), int(y + y0)) for x, y in biggest])


def hull(page: Page, points: Sequence[Point]) -> list[Point]:
    """The convex hull of the points, inside the page."""
    return clip(page, convex_hull(points))


# ------------------------------------------------------------------------------ regions

def region_for(page: Page, baseline: Sequence[Point]) -> str | None:
    """The region a new baseline belongs to: the one containing its middle, else the nearest; None if none."""
    import cv2

    mid = np.mean(np.asarray(baseline, dtype=np.float32), axis=0)
    best, best_d = None, None
    for region in page.regions:
        if len(region.polygon) < 3:
            continue
        poly = np.asarray(region.polygon, dtype=np.float32).reshape(-1, 1, 2)
        d = -cv2.pointPolygonTest(poly, (float(mid[0]), float(mid[1])), True)  # <= 0 inside
        if best_d is None or d < best_d:
            best, best_d = region.id, d
    return best


def region_around(baseline: Sequence[Point], page: Page, margin: int = 40) -> list[Point]:
    """A rectangle around a baseline (twice the margin above, once below), for a new region on a page that
    has none."""
    x0, y0, x1, y1 = bounds(baseline)
    return box_polygon(max(0, x0 - margin), max(0, y0 - 2 * margin),
                       min(page.width - 1, x1 + margin), min(page.height - 1, y1 + margin))
