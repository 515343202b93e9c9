"""Smaller promises of the window: confidence highlighting, the next-uncertain walk across the project,
special characters, zoom, drag and drop, remembered geometry and recent projects, the dark look."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from htrgui.qt.commands import recognition_command
from htrgui.qt.line_editor import LOW_CONFIDENCE

pytestmark = pytest.mark.gui


def predict(window, index: int, results: dict) -> None:
    """Apply model output (line id -> (text, confidences)) to a page the way the recognition job does."""
    full = {lid: (text, min(confs), confs) for lid, (text, confs) in results.items()}
    window.session.undo_stack.push(recognition_command(window.session, index, full, "model:test"))


def test_low_confidence_characters_are_highlighted(qtbot, window, transcribed):
    assert window.open_path(transcribed)
    ids = window.editor.line_ids()
    confs = [0.95, 0.3, 0.9, 0.1, 0.2, 0.99, 0.4]
    window.controller.verify([ids[0]], status="predicted")  # the ground truth came verified
    predict(window, 0, {ids[0]: ("abcdefg", confs)})
    row = window.editor.rows[ids[0]]
    assert row.edit.text() == "abcdefg"
    # one mark per run of unsure characters: b, de, g
    marked = sorted((sel.cursor.selectionStart(), sel.cursor.selectionEnd()) for sel in row.edit.extraSelections())
    assert marked == [(1, 2), (3, 5), (6, 7)]
    assert {i for a, b in marked for i in range(a, b)} == {i for i, c in enumerate(confs) if c < LOW_CONFIDENCE}
    # a person's edit drops the model's confidences, and the highlight with them
    row.edit.moveCursor(row.edit.textCursor().MoveOperation.End)
    qtbot.keyClicks(row.edit, "f")
    assert row.edit.extraSelections() == []


def test_next_uncertain_walks_the_least_sure_lines_across_pages(qtbot, window, transcribed):
    assert window.open_path(transcribed)
    s = window.session
    first = [ln.id for ln in s.page(0).lines()]
    second = [ln.id for ln in s.page(1).lines()]
    window.controller.verify(first, status="predicted")
    s.set_current(1)
    window.controller.verify(second, status="predicted")
    # three lines the model was unsure of, on both pages; the others sure
    predict(window, 1, {lid: ("x", [0.99]) for lid in second})
    predict(window, 0, {lid: ("x", [0.99]) for lid in first})
    predict(window, 1, {second[2]: ("y", [0.2])})
    predict(window, 0, {first[4]: ("y", [0.1]), first[1]: ("y", [0.4])})
    visited = []
    for _ in range(3):
        window.actions.next_uncertain.trigger()
        visited.append((s.current, window.editor.current_line_id()))
    assert visited == [(0, first[4]), (1, second[2]), (0, first[1])]
    # once verified, a line leaves the walk
    window.controller.verify([first[4]])
    s.set_current(1)
    window.actions.next_uncertain.trigger()
    assert (s.current, window.editor.current_line_id()) == (1, second[2])


def test_special_character_goes_into_the_current_line(qtbot, window, transcribed):
    if window.char_panel is None:
        pytest.skip("the special characters panel is not built")
    assert window.open_path(transcribed)
    ids = window.editor.line_ids()
    window.editor.select_line(ids[1])
    row = window.editor.rows[ids[1]]
    row.edit.moveCursor(row.edit.textCursor().MoveOperation.End)
    before = row.edit.text()
    window.char_panel.char_chosen.emit("ꝑ")
    assert row.edit.text() == before + "ꝑ"
    assert window.session.page(0).find_line(ids[1])[1].text == before + "ꝑ"


def test_wheel_zooms_and_fit_buttons(qtbot, window, transcribed):
    assert window.open_path(transcribed)
    view = window.view
    fitted = view.zoom_level()
    centre = QPointF(view.viewport().rect().center())
    event = QWheelEvent(centre, view.mapToGlobal(centre.toPoint()), QPoint(0, 0), QPoint(0, 120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), event)
    assert view.zoom_level() == pytest.approx(fitted * 1.25)
    window.actions.fit_width.trigger()
    assert view.zoom_level() * view.page.width <= view.viewport().width() + 1
    assert view.zoom_level() * view.page.width >= view.viewport().width() - 8
    window.actions.fit_page.trigger()
    assert view.zoom_level() == pytest.approx(fitted, rel=0.02)


def test_drop_a_folder_opens_it(qtbot, window, transcribed):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(transcribed))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert window.session.is_open and window.page_list.count() == 2


def test_geometry_docks_and_recent_projects_are_remembered(qtbot, window, transcribed):
    from htrgui.qt.main_window import MainWindow

    assert window.open_path(transcribed)
    window.resize(701, 503)  # inside the offscreen screen (restoring keeps a window on its screen)
    window.pages_dock.hide()
    window.close()
    again = MainWindow()
    qtbot.addWidget(again)
    assert (again.width(), again.height()) == (701, 503)
    assert again.pages_dock.isHidden()
    recent = [a.text() for a in again.recent_menu.actions()]
    assert recent == [str(transcribed.resolve())]
    again.recent_menu.actions()[0].trigger()
    assert again.session.is_open and again.page_list.count() == 2
    again.close()


def _icon_lightness(action) -> float:
    """Mean lightness of the icon's drawn (opaque) pixels."""
    image = action.icon().pixmap(32, 32).toImage()
    values = [image.pixelColor(x, y) for x in range(32) for y in range(32)]
    drawn = [c.lightness() for c in values if c.alpha() > 200]
    assert drawn, "the icon draws nothing"
    return sum(drawn) / len(drawn)


def test_dark_look(qtbot, window):
    from PySide6.QtGui import QPalette

    from htrgui.qt.theme import apply_theme

    app = QApplication.instance()
    try:
        assert apply_theme(app, "dark") == "dark"
        assert app.palette().color(QPalette.ColorRole.Window).lightness() < 80
        assert apply_theme(app, "light") == "light"
        assert app.palette().color(QPalette.ColorRole.Window).lightness() > 160
        # switched from the preferences while the window is open: the toolbar icons follow the look
        window.settings.theme = "light"
        window.apply_settings()
        dark_icons = _icon_lightness(window.actions.open_folder)
        window.settings.theme = "dark"
        window.apply_settings()
        assert app.palette().color(QPalette.ColorRole.Window).lightness() < 80
        assert _icon_lightness(window.actions.open_folder) > dark_icons + 100
    finally:
        apply_theme(app, "light")


def test_verify_page_and_undo(qtbot, window, transcribed):
    assert window.open_path(transcribed)
    page = window.session.page(0)
    ids = [ln.id for ln in page.lines()]
    window.controller.verify(ids, status="predicted")
    assert page.counts().verified == 0
    window.actions.verify_page.trigger()
    assert page.counts().verified == len(ids)
    qtbot.waitUntil(lambda: window.page_list.state(0) == "verified", timeout=5000)  # counted on the next turn
    window.actions.undo.trigger()
    assert page.counts().verified == 0


def test_multi_page_tiff_pages_are_shown(qtbot, window, shared_data, tmp_path):
    from PIL import Image

    from htrgui.qt.page_items import LineItem

    folder = tmp_path / "tiff"
    folder.mkdir()
    stems = ("poilus/batch-1/TestamentsDePoilus_will_AD78_0005-1", "poilus/batch-1/TestamentsDePoilus_will_AD78_0037-0")
    scans = [Image.open(shared_data / f"{stem}.jpg") for stem in stems]
    scans[0].save(folder / "book.tif", save_all=True, append_images=scans[1:], compression="tiff_lzw")
    assert window.open_path(folder)
    assert window.page_list.count() == 2
    window.session.set_current(1)
    shown = window.view.scene().sceneRect()
    assert (int(shown.width()), int(shown.height())) == scans[1].size
    # the image is decoded off the GUI thread and shown when ready
    qtbot.waitUntil(lambda: window.controller.gray is not None, timeout=10000)
    assert window.controller.gray.shape == (scans[1].size[1], scans[1].size[0])
    # and it can be segmented like any page
    outcome = []
    window.runner.job_ended.connect(lambda _t, result, _m: outcome.append(result))
    window.actions.segment_page.trigger()
    qtbot.waitUntil(lambda: bool(outcome), timeout=60000)
    assert outcome == ["finished"]
    lines = window.session.page(1).counts().lines
    assert lines > 0 and sum(isinstance(i, LineItem) for i in window.view.scene().items()) == lines
