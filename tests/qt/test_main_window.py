"""The main window on real pages: open, show, select, type, verify, undo, autosave, reopen, search, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from htrgui.core.io import read_document
from htrgui.qt.page_items import LineItem

pytestmark = pytest.mark.gui


def open_and_settle(qtbot, window, folder: Path) -> None:
    assert window.open_path(folder)
    # the page list fills its thumbnails and states as its I/O jobs bring them
    qtbot.waitUntil(lambda: all(window.page_list.state(i) for i in range(window.page_list.count())), timeout=10000)


def view_line_ids(window) -> list[str]:
    return [i.line_id for i in window.view.scene().items() if isinstance(i, LineItem)]


def test_open_folder_shows_pages_regions_and_lines(qtbot, window, transcribed):
    open_and_settle(qtbot, window, transcribed)
    images = sorted(transcribed.glob("*.jpg"))
    assert window.page_list.count() == len(images)
    for i, entry in enumerate(window.session.entries):
        truth = read_document(Path(entry.image_path).with_suffix(".xml"))
        assert window.page_list.state(i) == truth.counts().state
        window.session.set_current(i)
        assert sorted(view_line_ids(window)) == sorted(line.id for line in truth.lines())
        assert window.editor.line_ids() == [line.id for line in truth.lines()]
        shown = [window.editor.rows[lid].edit.text() for lid in window.editor.line_ids()]
        assert shown == [line.text for line in truth.lines()]
        # every row shows an image strip cut from the scan, once it is decoded (off the GUI thread)
        qtbot.waitUntil(lambda: all(not window.editor.rows[lid].image.pixmap().isNull()
                                    for lid in window.editor.line_ids()), timeout=10000)


def test_selection_follows_between_view_and_editor(qtbot, window, transcribed):
    open_and_settle(qtbot, window, transcribed)
    ids = window.editor.line_ids()
    window.view.select_lines([ids[3]])
    window.view.selection_changed.emit([ids[3]])  # as a click in the view does
    assert window.editor.current_line_id() == ids[3]
    window.editor.select_line(ids[5])
    assert window.view.selected_ids() == [ids[5]]


def test_typing_navigation_undo_autosave_and_reopen(qtbot, window, transcribed):
    open_and_settle(qtbot, window, transcribed)
    session = window.session
    ids = window.editor.line_ids()
    window.editor.select_line(ids[0])
    edit = window.editor.rows[ids[0]].edit
    original = edit.text()
    edit.moveCursor(edit.textCursor().MoveOperation.End)
    qtbot.keyClicks(edit, " amen")
    assert session.page(0).find_line(ids[0])[1].text == original + " amen"
    # five keystrokes are one undo step
    assert session.undo_stack.count() == 1
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert window.editor.current_line_id() == ids[1]
    qtbot.keyClick(window.editor.rows[ids[1]].edit, Qt.Key.Key_Up)
    assert window.editor.current_line_id() == ids[0]

    # the autosave writes the project's own PAGE file after the burst, never the imported ALTO
    alto_before = (transcribed / f"{session.entries[0].image_path.stem}.xml").read_bytes()
    with qtbot.waitSignal(session.saved, timeout=5000):
        pass
    saved = read_document(session.entries[0].xml_path)
    assert saved.find_line(ids[0])[1].text == original + " amen"
    assert (transcribed / f"{session.entries[0].image_path.stem}.xml").read_bytes() == alto_before

    # Ctrl+Z from inside the text field goes to the window's undo stack
    qtbot.keyClick(window.editor.rows[ids[0]].edit, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert session.page(0).find_line(ids[0])[1].text == original
    assert window.editor.rows[ids[0]].edit.text() == original
    session.save_dirty()
    assert read_document(session.entries[0].xml_path).find_line(ids[0])[1].text == original

    # PageDown goes to the next page, with the cursor in its first line
    qtbot.keyClick(window.editor.rows[ids[0]].edit, Qt.Key.Key_PageDown)
    assert session.current == 1
    assert window.editor.current_line_id() == window.editor.line_ids()[0]


def test_verify_by_key_and_reopen_finds_everything(qtbot, window, transcribed):
    open_and_settle(qtbot, window, transcribed)
    session = window.session
    ids = window.editor.line_ids()
    window.controller.verify(ids, status="predicted")  # as if a model had read them
    assert session.page(0).counts().verified == 0
    window.editor.select_line(ids[2])
    qtbot.keyClick(window.editor.rows[ids[2]].edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert session.page(0).find_line(ids[2])[1].status == "verified"
    assert window.editor.current_line_id() == ids[3]
    qtbot.waitUntil(lambda: "verified 1/" in window.page_list.item(0).text(), timeout=5000)  # next turn
    window.close()

    from htrgui.qt.main_window import MainWindow

    again = MainWindow()
    qtbot.addWidget(again)
    assert again.open_path(transcribed)
    page = again.session.page(0)
    assert [line.status for line in page.lines()].count("verified") == 1
    assert page.find_line(ids[2])[1].status == "verified"
    again.close()


def test_search_and_replace_across_pages_is_one_undo_step(qtbot, window, transcribed):
    open_and_settle(qtbot, window, transcribed)
    session = window.session
    texts = [line.text for i in range(2) for line in session.page(i).lines()]
    # a word of the real transcription found in several lines
    words = [w for t in texts for w in set(t.split()) if len(w) > 2 and w.isalpha()]
    word = max(set(words), key=lambda w: sum(w.casefold() in t.casefold() for t in texts))
    n = sum(word.casefold() in t.casefold() for t in texts)
    assert n >= 2
    window.actions.find.trigger()
    window.search.find_edit.setText(word.casefold())
    window.search.replace_edit.setText("§§")
    assert window.search.find_next()
    current = session.page(session.current).find_line(window.editor.current_line_id())[1]
    assert word.casefold() in current.text.casefold()
    assert window.search.replace_all() == n
    after = [line.text for i in range(2) for line in session.page(i).lines()]
    assert sum("§§" in t for t in after) == n
    assert not any(word.casefold() in t.casefold() for t in after)
    session.undo_stack.undo()
    assert [line.text for i in range(2) for line in session.page(i).lines()] == texts


def test_bad_inputs_give_messages_not_tracebacks(qtbot, window, tmp_path, transcribed):
    from htrgui.qt.dialogs.errors import open_error_boxes

    assert not window.open_path(tmp_path / "does-not-exist")
    boxes = open_error_boxes()
    assert boxes and "does-not-exist" in boxes[-1].text()
    for box in boxes:
        box.close()
    (transcribed / "broken.jpg").write_bytes(b"not a jpeg at all")
    assert window.open_path(transcribed)
    assert window.session.project.skipped and "broken.jpg" in window.session.project.skipped[0]
    assert window.page_list.count() == 3  # two pages, and the broken file shown as unreadable
    assert "broken.jpg" in window.page_list.item(2).text() and "cannot be read" in window.page_list.item(2).text()
    # a damaged PAGE file of one page does not stop the others from opening
    window.session.close()
    page_dir = transcribed / "page"
    page_dir.mkdir(exist_ok=True)
    stem = sorted(transcribed.glob("*_0005-1.jpg"))[0].stem
    (page_dir / f"{stem}.xml").write_text("<PcGts><Page", encoding="utf-8")
    assert window.open_path(transcribed)
    qtbot.waitUntil(lambda: all(window.page_list.state(i) for i in range(window.page_list.count())), timeout=10000)
    states = [window.page_list.state(i) for i in range(window.page_list.count())]
    assert "error" in states and states.count("error") == 1
