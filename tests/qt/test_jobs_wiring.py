"""Segmentation through the window's job runner: in a worker, applied page by page, undoable, cancellable."""

from __future__ import annotations

import pytest

from htrgui.core.io import read_document

pytestmark = pytest.mark.gui


def run_action(qtbot, window, action, timeout=60000) -> str:
    """Trigger an action that starts a job and wait for the job's end; returns the outcome."""
    outcome = []
    window.runner.job_ended.connect(lambda _title, result, _msg: outcome.append(result))
    action.trigger()
    qtbot.waitUntil(lambda: bool(outcome), timeout=timeout)
    return outcome[0]


def test_segment_page_then_undo_redo_and_saved(qtbot, window, scans):
    assert window.open_path(scans)
    session = window.session
    assert session.page(0).counts().lines == 0
    assert run_action(qtbot, window, window.actions.segment_page) == "finished"
    n = session.page(0).counts().lines
    assert n > 0
    assert len(window.editor.line_ids()) == n
    assert len(window.view.selected_ids()) == 0 and window.view.page is session.page(0)
    assert window.page_list.state(0) == "segmented"
    with qtbot.waitSignal(session.saved, timeout=5000):
        pass
    assert read_document(session.entries[0].xml_path).counts().lines == n
    session.undo_stack.undo()
    assert session.page(0).counts().lines == 0 and window.editor.line_ids() == []
    session.undo_stack.redo()
    assert session.page(0).counts().lines == n


def test_undo_and_redo_keep_the_pages_own_objects(qtbot, window, scans):
    """One undo mechanism over core edits: a view or editor holding a line keeps a valid reference through
    undo and redo of segmentation, typing, verifying and recognition (the old snapshot command deep-copied
    the regions, so after an undo the page held copies and a held TextLine was no longer on the page)."""
    from htrgui.qt.commands import recognition_command, status_command, text_command

    assert window.open_path(scans)
    session = window.session
    assert run_action(qtbot, window, window.actions.segment_page) == "finished"
    page = session.page(0)
    regions, lines = list(page.regions), list(page.lines())
    held = lines[1]
    stack = session.undo_stack
    for key in "abc":  # three keystrokes, one undo step
        stack.push(text_command(session, 0, held.id, "ab"[: "abc".index(key)] + key))
    stack.push(status_command(session, 0, [lines[0].id], "verified"))
    stack.push(recognition_command(session, 0, {lines[0].id: ("model", 0.9, None),
                                                lines[2].id: ("model", 0.9, None)}, "model:test"))
    assert held.text == "abc" and held.status == "verified" and lines[0].text == ""  # verified: kept
    assert lines[2].text == "model" and stack.command(stack.count() - 1).result.kept_verified == 2
    for _ in range(4):  # recognition, verify, the typing, the segmentation
        stack.undo()
    assert page.regions == [] and held.text == ""
    for _ in range(4):
        stack.redo()
    assert session.page(0) is page
    assert len(page.regions) == len(regions) and all(a is b for a, b in zip(page.regions, regions))
    assert list(page.lines()) == lines and all(a is b for a, b in zip(page.lines(), lines))
    assert page.find_line(held.id)[1] is held
    assert held.text == "abc" and lines[2].text == "model"


def test_segment_all_skips_segmented_pages_and_cancel_keeps_finished_pages(qtbot, window, scans):
    assert window.open_path(scans)
    session = window.session
    assert run_action(qtbot, window, window.actions.segment_page) == "finished"
    first = [line.id for line in session.page(0).lines()]
    # "segment all" leaves page 0 alone (it has lines) and does page 1
    assert run_action(qtbot, window, window.actions.segment_all) == "finished"
    assert [line.id for line in session.page(0).lines()] == first
    assert session.page(1).counts().lines > 0
    assert not window.runner.busy

    # cancelled right after the first page's result: that page is kept, the next is not applied
    session.undo_stack.undo()
    session.undo_stack.undo()
    assert session.page(0).counts().lines == 0 and session.page(1).counts().lines == 0
    window.jobs.segmentation_applied.connect(lambda _index: window.actions.cancel_job.trigger())
    assert run_action(qtbot, window, window.actions.segment_all) == "cancelled"
    assert session.page(0).counts().lines > 0
    assert session.page(1).counts().lines == 0
    assert not window.runner.busy and window.actions.segment_page.isEnabled()


def test_opening_another_folder_stops_the_job_and_drops_its_results(qtbot, window, scans, transcribed):
    assert window.open_path(scans)
    outcome = []
    window.runner.job_ended.connect(lambda _t, result, _m: outcome.append(result))
    window.actions.segment_all.trigger()
    assert window.open_path(transcribed)  # while the job runs
    qtbot.waitUntil(lambda: bool(outcome), timeout=60000)
    assert outcome[0] in ("cancelled", "finished")
    # the ground truth of the new project is untouched by the old project's segmentation
    for i, entry in enumerate(window.session.entries):
        truth = read_document(entry.image_path.with_suffix(".xml"))
        assert [ln.id for ln in window.session.page(i).lines()] == [ln.id for ln in truth.lines()]
    assert window.session.undo_stack.count() == 0


def test_segment_again_reads_the_pages_it_asks_about_off_the_gui_thread(qtbot, window, transcribed, monkeypatch):
    """"Segment again?" needs to know which selected pages have lines: a page not in memory is read in the I/O
    lane first (about 34 ms a page on the GUI thread), then the question counts it; "No" starts nothing."""
    from PySide6.QtWidgets import QMessageBox

    from htrgui.qt import job_wiring

    asked = []

    def answer(_parent, _title, text, *args, **kwargs):
        asked.append(text)
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(job_wiring.QMessageBox, "question", answer)
    assert window.open_path(transcribed)
    session = window.session
    # no event loop turn yet: the page list has not read page 1 either
    assert session.loaded(0) and not session.loaded(1)
    assert window.jobs.segment([0, 1])
    assert not session.loaded(1) and not asked  # not read here: the question waits for the I/O lane
    qtbot.waitUntil(lambda: bool(asked), timeout=20000)
    assert asked == ["2 page(s) already have lines. Segmenting again replaces them and their text (you can undo "
                     "it). Continue?"]
    assert session.loaded(1) and session.page(1).counts().lines == 7  # the page read in the job is kept
    assert not window.runner.busy and session.undo_stack.count() == 0  # "No": nothing started


def test_a_page_switch_builds_only_the_rows_that_fit_then_the_others(qtbot, window, verified_project):
    """Switching to a page of 95 real lines builds the editor rows that fill the view at once and the rest in
    later turns; the previous page's rows are deleted after the switch, not during it."""
    from shiboken6 import isValid

    project = verified_project({"a": 50, "b": 10})
    assert window.open_path(project.folder)
    editor = window.editor
    qtbot.waitUntil(lambda: len(editor.rows) == 95, timeout=20000)
    old = next(iter(editor.rows.values()))
    window.session.set_current(1)
    visible = editor.viewport().height() // 80 + 1
    assert 0 < len(editor.rows) <= min(visible, 12) < 20  # 20 at once made the switch stall the window
    assert isValid(old)  # deleted in a later turn
    qtbot.waitUntil(lambda: len(editor.rows) == 95 and not isValid(old), timeout=20000)
    assert editor.line_ids() == [ln.id for ln in window.session.page(1).lines()]


def test_closing_a_project_gives_its_frozen_objects_back_to_the_collector(qtbot, window, verified_project):
    """Pages read by jobs are frozen out of the collector's reach (no full collection stalls the window);
    closing the project unfreezes them, so garbage cycles frozen meanwhile do not stay for the session."""
    import gc
    import weakref

    from htrgui.qt.jobs import settle_memory

    project = verified_project({"a": 5})
    assert window.open_path(project.folder)
    qtbot.waitUntil(lambda: window.session.loaded(0), timeout=20000)

    class Node:
        pass

    cycle = Node()
    cycle.me = cycle          # garbage only a full collection can free
    ref = weakref.ref(cycle)
    settle_memory()           # what a job does as the pages come in
    del cycle
    gc.collect()
    assert ref() is not None and gc.get_freeze_count() > 0  # frozen: out of reach while the project is open
    window.session.close()
    assert gc.get_freeze_count() == 0 and ref() is None
