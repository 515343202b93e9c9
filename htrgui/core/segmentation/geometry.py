"""Geometry of lines on a page for the editing operations: clipping, bands around baselines, cutting and
uniting polygons. Points are integer (x, y) pixels inside the page image."""

from __future__ import annotations

import cv2
import numpy as np

from htrgui.core.document import Page, Point, TextLine, TextRegion

#: Where the boundary between two stacked lines sits, as a fraction of their baseline distance below the
#: upper one (the segmenter's value: descenders take less room than ascenders plus the x-height).
SPLIT = 0.32


def clip(page: Page, pts: list[Point] | list[tuple[float, float]]) -> list[Point]:
    """Round to integers and keep inside the image; consecutive duplicates dropped."""
    out: list[Point] = []
    for x, y in pts:
        p = (int(min(max(round(x), 0), page.width - 1)), int(min(max(round(y), 0), page.height - 1)))
        if not out or out[-1] != p:
            out.append(p)
    return out


def baseline_y(baseline: list[Point], x: float) -> float:
    xs = [p[0] for p in baseline]
    ys = [p[1] for p in baseline]
    return float(np.interp(x, xs, ys))


def extent(line: TextLine) -> tuple[float, float]:
    """How far the line's polygon reaches above and below its baseline (medians over the polygon's points)."""
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


def polygon_around(page: Page, baseline: list[Point], up: float, down: float) -> list[Point]:
    """A band from ``up`` pixels above to ``down`` below a baseline: top left to right, bottom right to left.

    The ends reach one pixel beyond the baseline so that the baseline lies strictly inside.
    """
    top = [(x, y - up) for x, y in baseline]
    bottom = [(x, y + down) for x, y in reversed(baseline)]
    top[0] = (top[0][0] - 1, top[0][1])
    top[-1] = (top[-1][0] + 1, top[-1][1])
    bottom[0] = (bottom[0][0] + 1, bottom[0][1])
    bottom[-1] = (bottom[-1][0] - 1, bottom[-1][1])
    poly = clip(page, top + bottom)
    if len(poly) < 4:  # a line on the image's edge: fall back to its box
        xs = [p[0] for p in baseline]
        ys = [p[1] for p in baseline]
        poly = clip(page, [(min(xs) - 1, min(ys) - up), (max(xs) + 1, min(ys) - up),
                            (max(xs) + 1, max(ys) + down), (min(xs) - 1, max(ys) + down)])
    return poly


def cut_polygon(poly: list[Point], x: float, keep_left: bool) -> list[tuple[float, float]]:
    """The part of a polygon left (or right) of the vertical line at ``x`` (Sutherland-Hodgman, one edge)."""
    def inside(p: tuple[float, float]) -> bool:
        return p[0] <= x if keep_left else p[0] >= x

    out: list[tuple[float, float]] = []
    n = len(poly)
    for k in range(n):
        cur, nxt = poly[k], poly[(k + 1) % n]
        if inside(cur):
            out.append(cur)
        if inside(cur) != inside(nxt) and nxt[0] != cur[0]:
            t = (x - cur[0]) / (nxt[0] - cur[0])
            out.append((x, cur[1] + t * (nxt[1] - cur[1])))
    return out


def union_outline(page: Page, polygons: list[list[Point]], bridge: int) -> list[Point]:
    """Outline of the union of polygons, gaps up to ``bridge`` pixels closed (drawn, then traced)."""
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


def hull(page: Page, points: list[Point]) -> list[Point]:
    hull = cv2.convexHull(np.array(points, dtype=np.int32).reshape(-1, 1, 2)).reshape(-1, 2)
    return clip(page, [(int(x), int(y)) for x, y in hull])


def band_polygon(page: Page, region: TextRegion, line: TextLine, up: float, down: float) -> list[Point]:
    """A polygon ``up`` above and ``down`` below the line's baseline, stopping short of the nearest lines
    above and below in the same region (at the same split as the segmenter) so it does not swallow them."""
    ys = np.array([p[1] for p in line.baseline], dtype=float)
    xs = np.array([p[0] for p in line.baseline], dtype=float)
    ups, downs = np.full(len(xs), up), np.full(len(xs), down)
    for other in region.lines:
        if other is line or len(other.baseline) < 2:
            continue
        ox = [p[0] for p in other.baseline]
        cover = (xs >= ox[0]) & (xs <= ox[-1])
        if not cover.any():
            continue
        d = ys - np.array([baseline_y(other.baseline, x) for x in xs])
        ups = np.where(cover & (d > 0), np.minimum(ups, (1 - SPLIT) * d), ups)
        downs = np.where(cover & (d < 0), np.minimum(downs, SPLIT * -d), downs)
    ups, downs = np.maximum(ups, 2), np.maximum(downs, 2)
    n = len(xs)
    top = [(x - (i == 0) + (i == n - 1), y - u) for i, (x, y, u) in enumerate(zip(xs, ys, ups))]
    bottom = [(x + (i == n - 1) - (i == 0), y + d) for i, (x, y, d) in enumerate(zip(xs, ys, downs))]
    poly = clip(page, top + bottom[::-1])
    return poly if len(poly) >= 4 else polygon_around(page, line.baseline, up, down)


def reach(page: Page, line: TextLine) -> tuple[float, float]:
    """The line's own reach above and below its baseline, or the page's typical one."""
    cur_up, cur_down = extent(line)
    typ_up, typ_down = typical_extent(page)
    return (cur_up or typ_up), (cur_down or typ_down)


def inside(polygon: list[Point], points: list[Point]) -> bool:
    contour = np.array(polygon, dtype=np.int32).reshape(-1, 1, 2)
    return len(polygon) >= 3 and all(cv2.pointPolygonTest(contour, (float(x), float(y)), False) >= 0
                                     for x, y in points)
