"""Edit operations on the segmentation of a page: what a user does to fix lines and regions.

Each operation changes the page at once and returns an :class:`Edit`: ``edit.undo()`` puts the page back
exactly as it was, ``edit.redo()`` applies the change again (the GUI wraps both in a ``QUndoCommand``).
Objects keep their identity through undo and redo (a view holding a ``TextLine`` keeps a valid reference),
ids stay unique on the page, coordinates stay integers inside the image and baselines run left to right.
Invalid requests (unknown id, a split point outside the line ...) raise :class:`EditError` and change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np

from htrgui.core.document import Page, Point, TextLine, TextRegion, new_id
from htrgui.core.errors import HtrError

__all__ = [
    "Edit", "EditError", "add_line", "add_region", "delete_line", "delete_region", "split_line", "merge_lines",
    "move_point", "recompute_polygon", "set_region_type", "move_line", "move_region", "sort_lines",
    "fit_region", "polygon_around",
]

#: Line fields an edit may change (text fields included: a merge joins texts).
_LINE_FIELDS = ("polygon", "baseline", "text", "confidence", "char_confidences", "status", "source", "type",
                "text_changed")


class EditError(HtrError):
    """An edit that cannot be made (names the line or region and why)."""


@dataclass
class _State:
    """Everything an edit may touch, captured shallowly (point lists copied, objects kept by reference)."""

    regions: list[TextRegion]
    region_fields: list[tuple[TextRegion, list[TextLine], list[Point], str]]
    line_fields: list[tuple[TextLine, dict]]


def _capture(page: Page) -> _State:
    regions = list(page.regions)
    rf, lf = [], []
    for r in regions:
        rf.append((r, list(r.lines), list(r.polygon), r.type))
        for line in r.lines:
            values = {k: getattr(line, k) for k in _LINE_FIELDS}
            values["polygon"] = list(line.polygon)
            values["baseline"] = list(line.baseline)
            if line.char_confidences is not None:
                values["char_confidences"] = list(line.char_confidences)
            lf.append((line, values))
    return _State(regions, rf, lf)


def _restore(page: Page, state: _State) -> None:
    page.regions[:] = state.regions
    for region, lines, polygon, rtype in state.region_fields:
        region.lines[:] = lines
        region.polygon = list(polygon)
        region.type = rtype
    for line, values in state.line_fields:
        for k, v in values.items():
            setattr(line, k, list(v) if isinstance(v, list) else v)


@dataclass
class Edit:
    """A change made to a page: ``undo()`` reverts it, ``redo()`` makes it again.

    ``added`` / ``removed`` / ``changed``: ids of the lines and regions concerned (to refresh views).
    """

    label: str
    page: Page
    before: _State = field(repr=False)
    after: _State = field(repr=False)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    def undo(self) -> None:
        _restore(self.page, self.before)

    def redo(self) -> None:
        _restore(self.page, self.after)


def _finish(label: str, page: Page, before: _State, **ids: list[str]) -> Edit:
    return Edit(label, page, before, _capture(page), **ids)


# -- small geometry helpers ---------------------------------------------------------------------------------

def _clip(page: Page, pts: list[Point] | list[tuple[float, float]]) -> list[Point]:
    """Round to integers and keep inside the image; consecutive duplicates dropped."""
    out: list[Point] = []
    for x, y in pts:
        p = (int(min(max(round(x), 0), page.width - 1)), int(min(max(round(y), 0), page.height - 1)))
        if not out or out[-1] != p:
            out.append(p)
    return out


def _check_baseline(baseline: list[Point], what: str) -> list[Point]:
    """Sorted left to right, at least two distinct points."""
    pts = sorted(baseline, key=lambda p: (p[0], p[1]))
    if len(set(pts)) < 2 or pts[0][0] == pts[-1][0]:
        raise EditError(f"{what}: a baseline needs two points at different x")
    return pts


def _baseline_y(baseline: list[Point], x: float) -> float:
    xs = [p[0] for p in baseline]
    ys = [p[1] for p in baseline]
    return float(np.interp(x, xs, ys))


def _extent(line: TextLine) -> tuple[float, float]:
    """How far the line's polygon reaches above and below its baseline (medians over the polygon's points)."""
    if len(line.polygon) < 3 or len(line.baseline) < 2:
        return 0.0, 0.0
    ups, downs = [], []
    for x, y in line.polygon:
        d = y - _baseline_y(line.baseline, x)
        (ups if d < 0 else downs).append(abs(d))
    return (float(max(ups)) if ups else 0.0), (float(max(downs)) if downs else 0.0)


def _typical_extent(page: Page) -> tuple[float, float]:
    """Median reach above and below the baseline of the page's lines (a new line looks like its neighbours)."""
    ext = [_extent(line) for line in page.lines()]
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
    poly = _clip(page, top + bottom)
    if len(poly) < 4:  # a line on the image's edge: fall back to its box
        xs = [p[0] for p in baseline]
        ys = [p[1] for p in baseline]
        poly = _clip(page, [(min(xs) - 1, min(ys) - up), (max(xs) + 1, min(ys) - up),
                            (max(xs) + 1, max(ys) + down), (min(xs) - 1, max(ys) + down)])
    return poly


def _cut_polygon(poly: list[Point], x: float, keep_left: bool) -> list[tuple[float, float]]:
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


def _union_outline(page: Page, polygons: list[list[Point]], bridge: int) -> list[Point]:
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
    return _clip(page, [(int(x + x0), int(y + y0)) for x, y in biggest])


def _hull(page: Page, points: list[Point]) -> list[Point]:
    hull = cv2.convexHull(np.array(points, dtype=np.int32).reshape(-1, 1, 2)).reshape(-1, 2)
    return _clip(page, [(int(x), int(y)) for x, y in hull])


def _line(page: Page, line_id: str) -> tuple[TextRegion, TextLine]:
    found = page.find_line(line_id)
    if found is None:
        raise EditError(f"line {line_id}: not on this page")
    return found


def _region(page: Page, region_id: str) -> TextRegion:
    region = page.find_region(region_id)
    if region is None:
        raise EditError(f"region {region_id}: not on this page")
    return region


def _fresh_id(page: Page, prefix: str) -> str:
    used = page.ids()
    while True:
        ident = new_id(prefix)
        if ident not in used:
            return ident


# -- the operations -----------------------------------------------------------------------------------------

def add_region(page: Page, polygon: list[Point], type: str = "paragraph", index: int | None = None) -> Edit:
    """A new, empty region with ``polygon`` at reading-order position ``index`` (default: last)."""
    poly = _clip(page, polygon)
    if len(poly) < 3:
        raise EditError("new region: a polygon needs at least three points inside the image")
    before = _capture(page)
    region = TextRegion(id=_fresh_id(page, "r"), polygon=poly, type=type)
    page.regions.insert(len(page.regions) if index is None else index, region)
    return _finish("add region", page, before, added=[region.id])


def add_line(page: Page, region_id: str, baseline: list[Point], polygon: list[Point] | None = None,
             index: int | None = None) -> Edit:
    """A new empty line in a region. Without ``polygon``, a band around the baseline as tall as the page's
    other lines. Without ``index``, it goes where its height puts it among the region's lines."""
    region = _region(page, region_id)
    base = _check_baseline(_clip(page, baseline), "new line")
    if polygon is None:
        up, down = _typical_extent(page)
        poly = polygon_around(page, base, up, down)
    else:
        poly = _clip(page, polygon)
        if len(poly) < 3:
            raise EditError("new line: a polygon needs at least three points inside the image")
    before = _capture(page)
    line = TextLine(id=_fresh_id(page, "l"), polygon=poly, baseline=base)
    if index is None:
        y = np.mean([p[1] for p in base])
        index = sum(1 for other in region.lines if np.mean([p[1] for p in other.baseline]) <= y)
    region.lines.insert(index, line)
    return _finish("add line", page, before, added=[line.id], changed=[region.id])


def delete_line(page: Page, line_id: str) -> Edit:
    """Remove a line (its text goes with it; undo brings both back)."""
    region, line = _line(page, line_id)
    before = _capture(page)
    region.lines.remove(line)
    return _finish("delete line", page, before, removed=[line.id], changed=[region.id])


def delete_region(page: Page, region_id: str) -> Edit:
    """Remove a region and all its lines."""
    region = _region(page, region_id)
    before = _capture(page)
    page.regions.remove(region)
    return _finish("delete region", page, before, removed=[region.id] + [ln.id for ln in region.lines])


def split_line(page: Page, line_id: str, x: int) -> Edit:
    """Cut a line in two at column ``x``: the left part keeps the id and the text (a split cannot know
    where the text divides; the user retypes), the right part is a new empty line placed just after it."""
    region, line = _line(page, line_id)
    xs = [p[0] for p in line.baseline]
    if not xs[0] < x < xs[-1]:
        raise EditError(f"line {line_id}: split point x={x} is not inside the baseline ({xs[0]}..{xs[-1]})")
    y = round(_baseline_y(line.baseline, x))
    left_base = [p for p in line.baseline if p[0] < x] + [(x, y)]
    right_base = [(x + 1, y)] + [p for p in line.baseline if p[0] > x + 1]
    if len(set(right_base)) < 2 or right_base[0][0] == right_base[-1][0]:
        raise EditError(f"line {line_id}: split point x={x} leaves nothing on the right")
    left_poly = _clip(page, _cut_polygon(line.polygon, x + 0.5, keep_left=True))
    right_poly = _clip(page, _cut_polygon(line.polygon, x + 0.5, keep_left=False))
    up, down = _extent(line) if len(line.polygon) >= 3 else _typical_extent(page)
    if len(left_poly) < 3:
        left_poly = polygon_around(page, left_base, up, down)
    if len(right_poly) < 3:
        right_poly = polygon_around(page, right_base, up, down)
    before = _capture(page)
    right = TextLine(id=_fresh_id(page, "l"), polygon=right_poly, baseline=right_base, type=line.type)
    line.baseline = left_base
    line.polygon = left_poly
    region.lines.insert(region.lines.index(line) + 1, right)
    return _finish("split line", page, before, added=[right.id], changed=[line.id, region.id])


def merge_lines(page: Page, first_id: str, second_id: str) -> Edit:
    """Join two lines into the first: baselines joined left to right, polygons united, texts joined with a
    space (left text first). The second line goes away. Confidences are dropped (they no longer fit)."""
    if first_id == second_id:
        raise EditError(f"line {first_id}: cannot merge a line with itself")
    r1, a = _line(page, first_id)
    r2, b = _line(page, second_id)
    left, right = (a, b) if a.baseline[0][0] <= b.baseline[0][0] else (b, a)
    base = sorted(set(left.baseline) | set(right.baseline))
    # where the two baselines overlap horizontally, keep the points of the longer one only
    if left.baseline[-1][0] >= right.baseline[0][0]:
        keep = left if (left.baseline[-1][0] - left.baseline[0][0]) >= (right.baseline[-1][0] - right.baseline[0][0]) else right
        other = right if keep is left else left
        lo, hi = keep.baseline[0][0], keep.baseline[-1][0]
        base = sorted(set(keep.baseline) | {p for p in other.baseline if p[0] < lo or p[0] > hi})
    gap = max(0, right.baseline[0][0] - left.baseline[-1][0])
    poly = _union_outline(page, [left.polygon, right.polygon], gap + 4)
    text = " ".join(t for t in (left.text, right.text) if t)
    before = _capture(page)
    a.baseline = _check_baseline(base, f"line {first_id}")
    a.polygon = poly
    if text != a.text:
        status = "verified" if a.status == b.status == "verified" else ("predicted" if text else "empty")
        a.set_text(text, source=a.source or b.source, status=status)
    r2.lines.remove(b)
    return _finish("merge lines", page, before, removed=[b.id], changed=[a.id, r1.id, r2.id])


def move_point(page: Page, object_id: str, which: Literal["baseline", "polygon"], index: int,
               point: Point) -> Edit:
    """Move one point of a line's baseline or polygon, or of a region's polygon (``which="polygon"``).

    A baseline point cannot pass its neighbours: baselines stay left to right. When a baseline point leaves
    the line's polygon, the polygon is redrawn around the baseline (as :func:`recompute_polygon` does).
    """
    found = page.find_line(object_id)
    target = found[1] if found else page.find_region(object_id)
    if target is None:
        raise EditError(f"{object_id}: no such line or region on this page")
    if which not in ("baseline", "polygon") or (which == "baseline" and not isinstance(target, TextLine)):
        raise EditError(f"{object_id}: has no {which}")
    pts = list(getattr(target, which))
    if not 0 <= index < len(pts):
        raise EditError(f"{object_id}: {which} has no point {index} (it has {len(pts)})")
    new = _clip(page, [point])[0]
    if which == "baseline":
        lo = pts[index - 1][0] + 1 if index > 0 else 0
        hi = pts[index + 1][0] - 1 if index + 1 < len(pts) else page.width - 1
        if lo > hi:
            raise EditError(f"{object_id}: baseline point {index} has no room to move")
        new = (min(max(new[0], lo), hi), new[1])
    before = _capture(page)
    if which == "baseline":
        reach = _reach(page, target)
    pts[index] = new
    setattr(target, which, pts)
    if which == "baseline" and not _inside(target.polygon, target.baseline):
        # the baseline left its polygon: redraw the polygon around it (one edit, one undo)
        target.polygon = _band(page, found[0], target, *reach)
    return _finish(f"move {which} point", page, before, changed=[object_id])


def _band(page: Page, region: TextRegion, line: TextLine, up: float, down: float) -> list[Point]:
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
        d = ys - np.array([_baseline_y(other.baseline, x) for x in xs])
        ups = np.where(cover & (d > 0), np.minimum(ups, 0.68 * d), ups)
        downs = np.where(cover & (d < 0), np.minimum(downs, 0.32 * -d), downs)
    ups, downs = np.maximum(ups, 2), np.maximum(downs, 2)
    n = len(xs)
    top = [(x - (i == 0) + (i == n - 1), y - u) for i, (x, y, u) in enumerate(zip(xs, ys, ups))]
    bottom = [(x + (i == n - 1) - (i == 0), y + d) for i, (x, y, d) in enumerate(zip(xs, ys, downs))]
    poly = _clip(page, top + bottom[::-1])
    return poly if len(poly) >= 4 else polygon_around(page, line.baseline, up, down)


def _reach(page: Page, line: TextLine) -> tuple[float, float]:
    """The line's own reach above and below its baseline, or the page's typical one."""
    cur_up, cur_down = _extent(line)
    typ_up, typ_down = _typical_extent(page)
    return (cur_up or typ_up), (cur_down or typ_down)


def _inside(polygon: list[Point], points: list[Point]) -> bool:
    contour = np.array(polygon, dtype=np.int32).reshape(-1, 1, 2)
    return len(polygon) >= 3 and all(cv2.pointPolygonTest(contour, (float(x), float(y)), False) >= 0
                                     for x, y in points)


def recompute_polygon(page: Page, line_id: str, up: float | None = None, down: float | None = None) -> Edit:
    """Redraw a line's polygon as a band around its baseline (after the baseline was edited).

    The band keeps the line's current reach above and below the baseline unless ``up``/``down`` are given
    (the page's typical reach when the line has none), and stops short of the nearest line above and below
    in the same region so it does not swallow them.
    """
    region, line = _line(page, line_id)
    own_up, own_down = _reach(page, line)
    poly = _band(page, region, line, float(up if up is not None else own_up),
                 float(down if down is not None else own_down))
    before = _capture(page)
    line.polygon = poly
    return _finish("recompute polygon", page, before, changed=[line.id])


def set_region_type(page: Page, region_id: str, type: str) -> Edit:
    """Change a region's type (``paragraph``, ``marginalia``, ``heading`` ... or any other string)."""
    region = _region(page, region_id)
    if not type or any(c.isspace() for c in type):
        raise EditError(f"region {region_id}: a type is one word, got {type!r}")
    before = _capture(page)
    region.type = type
    return _finish("change region type", page, before, changed=[region.id])


def move_line(page: Page, line_id: str, index: int, region_id: str | None = None) -> Edit:
    """Put a line at position ``index`` of its region's reading order, or of another region's
    (``region_id``). The region polygons are not changed."""
    region, line = _line(page, line_id)
    target = _region(page, region_id) if region_id else region
    count = len(target.lines) - (1 if target is region else 0)
    if not 0 <= index <= count:
        raise EditError(f"line {line_id}: position {index} is outside 0..{count}")
    before = _capture(page)
    region.lines.remove(line)
    target.lines.insert(index, line)
    return _finish("move line", page, before, changed=sorted({line.id, region.id, target.id}))


def move_region(page: Page, region_id: str, index: int) -> Edit:
    """Put a region at position ``index`` of the page's reading order."""
    region = _region(page, region_id)
    if not 0 <= index < len(page.regions):
        raise EditError(f"region {region_id}: position {index} is outside 0..{len(page.regions) - 1}")
    before = _capture(page)
    page.regions.remove(region)
    page.regions.insert(index, region)
    return _finish("move region", page, before, changed=[region.id])


def sort_lines(page: Page, region_id: str) -> Edit:
    """Order a region's lines top to bottom (by the mean height of their baselines)."""
    region = _region(page, region_id)
    before = _capture(page)
    region.lines.sort(key=lambda ln: (float(np.mean([p[1] for p in ln.baseline])), ln.baseline[0][0]))
    return _finish("sort lines", page, before, changed=[region.id])


def fit_region(page: Page, region_id: str) -> Edit:
    """Redraw a region's polygon as the convex hull of its lines (after lines were added or moved)."""
    region = _region(page, region_id)
    pts = [p for line in region.lines for p in line.polygon]
    if len(pts) < 3:
        raise EditError(f"region {region_id}: has no lines to fit around")
    before = _capture(page)
    region.polygon = _hull(page, pts)
    return _finish("fit region", page, before, changed=[region.id])
