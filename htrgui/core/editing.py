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

import numpy as np

from htrgui.core.document import PERSON, Page, Point, TextLine, TextRegion, new_id
from htrgui.core.errors import HtrError
from htrgui.core.geometry import (band_polygon, baseline_y, clip, cut_polygon, extent, hull, inside, polygon_around,
                                  reach, typical_extent, union_outline)

__all__ = [
    "Edit", "EditError", "add_line", "add_region", "delete_line", "delete_region", "split_line", "merge_lines",
    "move_point", "recompute_polygon", "set_region_type", "move_line", "move_region", "sort_lines",
    "fit_region", "polygon_around", "set_text", "set_status", "apply_recognition", "RecognitionReport", "change",
    "open_to_model", "lines_to_read",
]

#: Line fields an edit may change (text fields included: a merge joins texts).
_LINE_FIELDS = ("polygon", "baseline", "text", "confidence", "char_confidences", "status", "source", "type",
                "text_changed")


class EditError(HtrError):
    """An edit that cannot be made (names the line or region and why)."""


@dataclass
class _State:
    """Everything an edit may touch, captured shallowly (point lists copied, objects kept by reference).

    ``regions`` is None for an edit of some lines' fields only (text, status): the structure is not captured,
    so typing in a line of a page of hundreds of lines copies one line's fields, not the page.
    """

    regions: list[TextRegion] | None
    region_fields: list[tuple[TextRegion, list[TextLine], list[Point], str]]
    line_fields: list[tuple[TextLine, dict]]


def _line_values(line: TextLine) -> dict:
    values = {k: getattr(line, k) for k in _LINE_FIELDS}
    values["polygon"] = list(line.polygon)
    values["baseline"] = list(line.baseline)
    if line.char_confidences is not None:
        values["char_confidences"] = list(line.char_confidences)
    return values


def _capture(page: Page) -> _State:
    regions = list(page.regions)
    rf, lf = [], []
    for r in regions:
        rf.append((r, list(r.lines), list(r.polygon), r.type))
        lf += [(line, _line_values(line)) for line in r.lines]
    return _State(regions, rf, lf)


def _capture_lines(lines: list[TextLine]) -> _State:
    return _State(None, [], [(line, _line_values(line)) for line in lines])


def _restore(page: Page, state: _State) -> None:
    if state.regions is not None:
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
    #: What the operation reports besides the change (``apply_recognition``: its :class:`RecognitionReport`).
    result: object = field(default=None, repr=False)

    @property
    def lines_only(self) -> bool:
        """True when only fields of the ``changed`` lines changed (no line or region added, removed or moved)."""
        return self.before.regions is None

    def undo(self) -> None:
        _restore(self.page, self.before)

    def redo(self) -> None:
        _restore(self.page, self.after)


def _finish(label: str, page: Page, before: _State, **ids: list[str]) -> Edit:
    return Edit(label, page, before, _capture(page), **ids)


def _check_baseline(baseline: list[Point], what: str) -> list[Point]:
    """Sorted left to right, at least two distinct points."""
    pts = sorted(baseline, key=lambda p: (p[0], p[1]))
    if len(set(pts)) < 2 or pts[0][0] == pts[-1][0]:
        raise EditError(f"{what}: a baseline needs two points at different x")
    return pts


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
    poly = clip(page, polygon)
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
    base = _check_baseline(clip(page, baseline), "new line")
    if polygon is None:
        up, down = typical_extent(page)
        poly = polygon_around(page, base, up, down)
    else:
        poly = clip(page, polygon)
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
    y = round(baseline_y(line.baseline, x))
    left_base = [p for p in line.baseline if p[0] < x] + [(x, y)]
    right_base = [(x + 1, y)] + [p for p in line.baseline if p[0] > x + 1]
    if len(set(right_base)) < 2 or right_base[0][0] == right_base[-1][0]:
        raise EditError(f"line {line_id}: split point x={x} leaves nothing on the right")
    left_poly = clip(page, cut_polygon(line.polygon, x + 0.5, keep_left=True))
    right_poly = clip(page, cut_polygon(line.polygon, x + 0.5, keep_left=False))
    up, down = extent(line) if len(line.polygon) >= 3 else typical_extent(page)
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
    poly = union_outline(page, [left.polygon, right.polygon], gap + 4)
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
    new = clip(page, [point])[0]
    if which == "baseline":
        lo = pts[index - 1][0] + 1 if index > 0 else 0
        hi = pts[index + 1][0] - 1 if index + 1 < len(pts) else page.width - 1
        if lo > hi:
            raise EditError(f"{object_id}: baseline point {index} has no room to move")
        new = (min(max(new[0], lo), hi), new[1])
    before = _capture(page)
    if which == "baseline":
        own_reach = reach(page, target)
    pts[index] = new
    setattr(target, which, pts)
    if which == "baseline" and not inside(target.polygon, target.baseline):
        # the baseline left its polygon: redraw the polygon around it (one edit, one undo)
        target.polygon = band_polygon(page, found[0], target, *own_reach)
    return _finish(f"move {which} point", page, before, changed=[object_id])


def recompute_polygon(page: Page, line_id: str, up: float | None = None, down: float | None = None) -> Edit:
    """Redraw a line's polygon as a band around its baseline (after the baseline was edited).

    The band keeps the line's current reach above and below the baseline unless ``up``/``down`` are given
    (the page's typical reach when the line has none), and stops short of the nearest line above and below
    in the same region so it does not swallow them.
    """
    region, line = _line(page, line_id)
    own_up, own_down = reach(page, line)
    poly = band_polygon(page, region, line, float(up if up is not None else own_up),
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
    region.polygon = hull(page, pts)
    return _finish("fit region", page, before, changed=[region.id])


# -- text and status: what a person or a model does to the reading of lines ---------------------------------

def _lines_edit(label: str, page: Page, lines: list[TextLine], change_them) -> Edit:
    """Capture ``lines``, run ``change_them()``, and keep as changed only the lines that did change."""
    before = _capture_lines(lines)
    result = change_them()
    after = _capture_lines(lines)
    moved = [i for i, ((_, a), (_, b)) in enumerate(zip(before.line_fields, after.line_fields)) if a != b]
    before.line_fields = [before.line_fields[i] for i in moved]
    after.line_fields = [after.line_fields[i] for i in moved]
    return Edit(label, page, before, after, changed=[lines[i].id for i in moved], result=result)


def set_text(page: Page, line_id: str, text: str, *, keep_status: bool = False) -> Edit:
    """A person's text for a line. Typing marks the line verified (the person read it); ``keep_status`` is for
    edits that are not a reading, such as replace-all (an emptied line becomes ``empty``)."""
    line = _line(page, line_id)[1]
    status = (line.status if text else "empty") if keep_status else None
    return _lines_edit("edit text", page, [line], lambda: line.set_text(text, source=PERSON, status=status))


def set_status(page: Page, line_ids: list[str], status: str) -> Edit:
    """Mark lines verified, or back to predicted (empty when they have no text), without changing their text.
    Ids not on the page are skipped. A person confirming an empty line is empty still verifies it."""
    lines = [found[1] for found in map(page.find_line, line_ids) if found is not None]

    def change_them() -> None:
        for line in lines:
            line.status = status if status == "verified" else ("predicted" if line.text else "empty")

    return _lines_edit("verify" if status == "verified" else "unverify", page, lines, change_them)


def open_to_model(line: TextLine) -> bool:
    """THE verified-line rule: a model may read and write a line unless a person verified it. Every path that
    picks lines to recognise (``tasks.recognize``, ``Recognizer.page_lines``) or writes model output
    (:func:`apply_recognition`) asks this, so the rule lives here only."""
    return line.status != "verified"


def lines_to_read(lines) -> list[TextLine]:
    """The lines a recognition job reads: those :func:`open_to_model` allows, in their order."""
    return [line for line in lines if open_to_model(line)]


@dataclass
class RecognitionReport:
    """What applying recognition results to one page did."""

    changed: list[tuple[str, str, str]]  # (line id, old text, new text)
    kept_verified: int
    unchanged: int


def apply_recognition(page: Page, results: dict[str, tuple[str, float | None, list[float] | None]],
                      model_id: str) -> Edit:
    """Write model output (line id -> text, confidence, character confidences) into the page, never over a
    line a person verified. The edit's ``result`` is the :class:`RecognitionReport`."""
    lines = [line for line in lines_to_read(page.lines()) if line.id in results]

    def change_them() -> RecognitionReport:
        changed, same = [], 0
        for line in lines:
            text, conf, char_confs = results[line.id]
            if text == line.text:
                same += 1
            else:
                changed.append((line.id, line.text, text))
            line.set_text(text, source=model_id, status="predicted" if text else "empty",
                          confidence=conf, char_confidences=char_confs)
        # verified lines are counted whether or not the model was asked about them
        return RecognitionReport(changed, sum(line.status == "verified" for line in page.lines()), same)

    return _lines_edit("recognise", page, lines, change_them)


def change(page: Page, label: str, mutate) -> Edit:
    """Any change ``mutate(page)`` makes to the regions and lines (such as replacing the segmentation), as an
    edit; objects keep their identity through undo and redo like every other edit. ``result``: what
    ``mutate`` returned."""
    before = _capture(page)
    result = mutate(page)
    edit = _finish(label, page, before)
    edit.result = result
    return edit
