"""Line tools in the real window on a real page: draw, split, merge, delete, move points, recompute polygon,
reading order, region type; each one undoable, and the saved PAGE file follows."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from htrgui.core.io import read_document
from htrgui.qt.page_items import HandleItem

pytestmark = pytest.mark.gui


def snapshot(page):
    return [(r.id, r.type, [(ln.id, list(ln.baseline), list(ln.polygon), ln.text) for ln in r.lines])
            for r in page.regions]


@pytest.fixture
def opened(qtbot, window, transcribed):
    assert window.open_path(transcribed)
    return window


def click_scene(qtbot, view, x, y, double=False):
    pos = view.mapFromScene(x, y)
    if double:
        qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    else:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def test_split_then_merge_then_undo_everything(qtbot, opened):
    w, session = opened, opened.session
    page = session.page(0)
    original = snapshot(page)
    line = next(iter(page.lines()))
    n = page.counts().lines
    xs = [p[0] for p in line.baseline]
    mid = (xs[0] + xs[-1]) // 2
    w.view.fit_width()
    w.actions.tool_split.trigger()
    y = line.baseline[len(line.baseline) // 2][1] - 5
    click_scene(qtbot, w.view, mid, y)
    assert page.counts().lines == n + 1
    assert len(w.editor.line_ids()) == n + 1
    left = page.find_line(line.id)[1]
    assert max(p[0] for p in left.baseline) <= mid + 1
    # the new right part follows the left in reading order; merge them back
    new_id = w.editor.line_ids()[w.editor.line_ids().index(line.id) + 1]
    w.actions.tool_select.trigger()
    w.view.select_lines([line.id, new_id])
    w.actions.merge_lines.trigger()
    assert page.counts().lines == n
    assert max(p[0] for p in page.find_line(line.id)[1].baseline) >= xs[-1] - 1
    session.undo_stack.undo()
    session.undo_stack.undo()
    assert snapshot(page) == original


def test_split_outside_the_line_is_refused_with_a_message(qtbot, opened):
    w, session = opened, opened.session
    line = next(iter(session.page(0).lines()))
    messages = []
    w.controller.message.connect(messages.append)
    before = session.undo_stack.count()
    w.tools.split(line.id, max(p[0] for p in line.baseline) + 50)
    assert session.undo_stack.count() == before
    assert messages and line.id in messages[-1]


def test_draw_a_line_with_the_mouse(qtbot, opened):
    w, session = opened, opened.session
    page = session.page(0)
    n = page.counts().lines
    w.view.setFocus()
    qtbot.keyClick(w.view, Qt.Key.Key_D)  # the draw tool's shortcut, only while the view has the focus
    assert w.view.tool == "draw"
    y = page.height - 120
    click_scene(qtbot, w.view, 200, y)
    click_scene(qtbot, w.view, 600, y + 4)
    click_scene(qtbot, w.view, 900, y, double=True)
    assert w.view.tool == "select"
    assert page.counts().lines == n + 1
    new = [ln for ln in page.lines() if not ln.text][-1]
    assert new.baseline[0][0] <= 205 and new.baseline[-1][0] >= 895
    assert len(new.polygon) >= 3
    assert w.editor.current_line_id() == new.id
    session.undo_stack.undo()
    assert page.counts().lines == n


def test_drag_a_baseline_point_recompute_delete_and_order(qtbot, opened):
    w, session = opened, opened.session
    page = session.page(0)
    ids = [ln.id for ln in page.lines()]
    line = page.find_line(ids[1])[1]
    w.view.select_lines([ids[1]])
    handles = [i for i in w.view.scene().items() if isinstance(i, HandleItem) and i.kind == "baseline"]
    assert len(handles) == len(line.baseline)
    first = min(handles, key=lambda h: h.number)
    x, y = line.baseline[0]
    first.setPos(x, y - 5)  # as a drag does (upwards: inside the polygon), then the release
    first._on_release(first)
    assert page.find_line(ids[1])[1].baseline[0] == (x, y - 5)

    old_polygon = list(page.find_line(ids[1])[1].polygon)
    w.actions.recompute_polygon.trigger()
    assert page.find_line(ids[1])[1].polygon != old_polygon

    region = next(r for r in page.regions if len(r.lines) >= 3)
    a, b = region.lines[0].id, region.lines[1].id
    w.view.select_lines([b])
    w.actions.line_up.trigger()
    assert [ln.id for ln in region.lines][:2] == [b, a]
    messages = []
    w.controller.message.connect(messages.append)
    w.actions.line_up.trigger()  # already first in its region: refused, nothing changes
    assert [ln.id for ln in region.lines][:2] == [b, a] and messages

    w.view.select_lines([ids[2]])
    w.view.setFocus()
    qtbot.keyClick(w.view, Qt.Key.Key_Delete)
    assert page.find_line(ids[2]) is None

    w.view.select_lines([ids[3]])
    w.tools.set_region_type([ids[3]], "marginalia")
    assert page.find_line(ids[3])[0].type == "marginalia"

    session.save_dirty()
    saved = read_document(session.entries[0].xml_path)
    assert saved.find_line(ids[2]) is None
    assert saved.find_line(ids[1])[1].baseline[0] == (x, y - 5)
    assert saved.find_line(ids[3])[0].type == "marginalia"

    while session.undo_stack.canUndo():
        session.undo_stack.undo()
    assert page.find_line(ids[2]) is not None
    assert page.find_line(ids[1])[1].baseline[0] == (x, y)
    assert [ln.id for ln in page.lines()] == ids
    assert [ln.id for ln in region.lines][:2] == [a, b]
