"""Editing operations: each changes the page as asked, keeps it valid, and undoes/redoes exactly."""

from __future__ import annotations

import copy
import dataclasses

import pytest
from seghelpers import check_geometry
from segsynth import text_page

from htrgui.core import editing as ed
from htrgui.core.document import Page
from htrgui.core.geometry import extent
from htrgui.core.segmentation import segment_page


@pytest.fixture(scope="module")
def segmented():
    img, _ = text_page(5)
    page = Page(image_filename="synthetic.png", width=img.shape[1], height=img.shape[0])
    page.regions = segment_page(img)
    assert sum(len(r.lines) for r in page.regions) == 5
    return page


@pytest.fixture
def page(segmented):
    return copy.deepcopy(segmented)


def _state(page: Page):
    return dataclasses.asdict(page)


def _roundtrip(page: Page, edit: ed.Edit, before: dict) -> None:
    """undo restores the exact state, redo the edited one, and object identity survives both."""
    after = _state(page)
    lines_after = {ln.id: ln for ln in page.lines()}
    edit.undo()
    assert _state(page) == before
    edit.redo()
    assert _state(page) == after
    for line in page.lines():
        assert lines_after[line.id] is line
    check_geometry(page.regions, page.width, page.height, max_overlap=1.0)


def _lines(page):
    return list(page.lines())


def test_split_then_merge(page):
    line = _lines(page)[0]
    line.set_text("first line", source="person")
    before = _state(page)
    x0, x1 = line.baseline[0][0], line.baseline[-1][0]
    edit = ed.split_line(page, line.id, (x0 + x1) // 2)
    assert len(_lines(page)) == 6 and edit.added
    right = page.find_line(edit.added[0])[1]
    assert line.baseline[-1][0] < right.baseline[0][0]
    assert line.text == "first line" and right.text == ""
    assert max(p[0] for p in line.polygon) <= (x0 + x1) // 2 + 1
    _roundtrip(page, edit, before)

    before = _state(page)
    merge = ed.merge_lines(page, line.id, right.id)
    assert len(_lines(page)) == 5 and merge.removed == [right.id]
    assert line.baseline[0][0] == x0 and line.baseline[-1][0] == x1
    assert line.text == "first line"
    _roundtrip(page, merge, before)


def test_merge_joins_texts_and_drops_confidences(page):
    a, b = _lines(page)[:2]
    a.set_text("alpha", source="model:x", confidence=0.9, char_confidences=[0.9] * 5)
    b.set_text("beta", source="model:x", confidence=0.8, char_confidences=[0.8] * 4)
    ed.merge_lines(page, a.id, b.id)
    assert a.text == "alpha beta" and a.char_confidences is None and a.status == "predicted"
    assert page.find_line(b.id) is None


def test_add_and_delete(page):
    before = _state(page)
    region = page.regions[0]
    first = region.lines[0]
    y = first.baseline[0][1] - 40
    edit = ed.add_line(page, region.id, [(300, y), (100, y)])  # drawn right to left
    new = page.find_line(edit.added[0])[1]
    assert new.baseline[0][0] < new.baseline[-1][0]  # stored left to right
    assert region.lines.index(new) == 0  # placed by its height
    assert new.id not in before and len(set(page.ids())) == len(page.ids())
    _roundtrip(page, edit, before)

    before = _state(page)
    edit = ed.delete_line(page, new.id)
    assert page.find_line(new.id) is None
    _roundtrip(page, edit, before)

    before = _state(page)
    edit = ed.add_region(page, [(10, 10), (200, 10), (200, 60), (10, 60)], type="marginalia")
    assert page.regions[-1].type == "marginalia"
    _roundtrip(page, edit, before)

    before = _state(page)
    gone = page.regions[0]
    edit = ed.delete_region(page, gone.id)
    assert page.find_region(gone.id) is None and all(page.find_line(ln.id) is None for ln in gone.lines)
    _roundtrip(page, edit, before)


def test_move_point_keeps_baseline_left_to_right_and_inside_image(page):
    before = _state(page)
    line = _lines(page)[1]
    y0 = line.baseline[0][1]
    edit = ed.move_point(page, line.id, "baseline", 0, (10**6, y0 - 20))
    x, y = line.baseline[0]
    assert x < line.baseline[1][0] and y == y0 - 20  # cannot pass its neighbour
    _roundtrip(page, edit, before)
    before = _state(page)
    last = len(line.baseline) - 1
    y1 = line.baseline[-1][1]
    edit = ed.move_point(page, line.id, "baseline", last, (10**6, y1 + 25))
    assert line.baseline[-1] == (page.width - 1, y1 + 25)  # clipped to the image
    assert max(p[0] for p in line.polygon) == page.width - 1  # the polygon grew to keep the baseline inside
    _roundtrip(page, edit, before)
    before = _state(page)
    edit = ed.move_point(page, line.id, "polygon", 2, (5, 5))
    assert line.polygon[2] == (5, 5)
    _roundtrip(page, edit, before)


def test_recompute_polygon_follows_the_baseline(page):
    line = _lines(page)[2]
    old_up, old_down = extent(line)
    ed.move_point(page, line.id, "baseline", len(line.baseline) - 1,
                  (line.baseline[-1][0], line.baseline[-1][1] + 15))
    before = _state(page)
    edit = ed.recompute_polygon(page, line.id)
    up, down = extent(line)
    assert up <= old_up + 16 and down <= old_down + 16
    _roundtrip(page, edit, before)  # includes: every baseline point inside its polygon


def test_region_type_and_reordering(page):
    before = _state(page)
    region = page.regions[0]
    edit = ed.set_region_type(page, region.id, "marginalia")
    assert region.type == "marginalia"
    _roundtrip(page, edit, before)

    before = _state(page)
    ids = [ln.id for ln in region.lines]
    edit = ed.move_line(page, ids[0], len(ids) - 1)
    assert [ln.id for ln in region.lines] == ids[1:] + ids[:1]
    _roundtrip(page, edit, before)

    before = _state(page)
    edit = ed.sort_lines(page, region.id)
    assert [ln.id for ln in region.lines] == ids
    _roundtrip(page, edit, before)

    ed.add_region(page, [(10, 10), (200, 10), (200, 60), (10, 60)])
    before = _state(page)
    last = page.regions[-1].id
    edit = ed.move_region(page, last, 0)
    assert page.regions[0].id == last
    _roundtrip(page, edit, before)

    before = _state(page)
    edit = ed.move_line(page, ids[0], 0, region_id=last)
    assert page.regions[0].lines[0].id == ids[0]
    edit2 = ed.fit_region(page, last)
    assert len(page.regions[0].polygon) >= 3
    edit2.undo()
    _roundtrip(page, edit, before)


def test_bad_requests_change_nothing(page):
    before = _state(page)
    line = _lines(page)[0]
    with pytest.raises(ed.EditError, match="not on this page"):
        ed.delete_line(page, "l_missing")
    with pytest.raises(ed.EditError, match="not inside the baseline"):
        ed.split_line(page, line.id, line.baseline[-1][0] + 10)
    with pytest.raises(ed.EditError, match="itself"):
        ed.merge_lines(page, line.id, line.id)
    with pytest.raises(ed.EditError, match="two points"):
        ed.add_line(page, page.regions[0].id, [(50, 50), (50, 80)])
    with pytest.raises(ed.EditError, match="no point"):
        ed.move_point(page, line.id, "baseline", 99, (0, 0))
    with pytest.raises(ed.EditError, match="outside"):
        ed.move_region(page, page.regions[0].id, 7)
    with pytest.raises(ed.EditError, match="one word"):
        ed.set_region_type(page, page.regions[0].id, "")
    assert _state(page) == before
