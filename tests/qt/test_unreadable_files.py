"""Files in a project folder that are not readable scans are shown as such, with the reason; a truncated scan
gives a message, not a traceback; the window title names the project once."""

from __future__ import annotations

import shutil
import pytest

from htrgui.core.project import Project

SCAN = "poilus/batch-1/TestamentsDePoilus_will_AD78_0005-1"  # a real will of 12 lines

pytestmark = pytest.mark.gui


@pytest.fixture
def mixed(shared_data, tmp_path):
    """One real scan, a 0-byte scan, a text file named like a JPEG, and a real scan cut in half."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    real = (shared_data / SCAN).with_suffix(".jpg")
    shutil.copy(real, folder / "a_good.jpg")
    (folder / "b_empty.jpg").write_bytes(b"")
    (folder / "c_notes.jpg").write_text("these are my notes, not a scan", encoding="utf-8")
    data = real.read_bytes()
    (folder / "d_truncated.jpg").write_bytes(data[: len(data) // 2])
    return folder


def test_project_exposes_unreadable_files(mixed):
    project = Project.open(mixed)
    assert [e.name for e in project.entries] == ["a_good", "d_truncated"]  # the header of d still reads
    names = {path.name: reason for path, reason in project.unreadable}
    assert set(names) == {"b_empty.jpg", "c_notes.jpg"}
    assert all(reason for reason in names.values())


def test_page_list_shows_unreadable_files_with_the_reason(qtbot, window, mixed):
    assert window.open_path(mixed)
    texts = [window.page_list.item(i).text() for i in range(window.page_list.count())]
    assert len(texts) == 4
    bad = [t for t in texts if "b_empty.jpg" in t or "c_notes.jpg" in t]
    assert len(bad) == 2 and all("cannot be read" in t for t in bad)
    assert "empty" in bad[0].lower() or "not an image" in bad[0].lower()
    # they cannot be made current, so no job or editor ever sees them
    item = next(window.page_list.item(i) for i in range(window.page_list.count())
                if "b_empty" in window.page_list.item(i).text())
    assert not item.flags() & item.flags().ItemIsSelectable
    assert window.windowTitle() == "mixed"


def test_truncated_scan_gives_a_message_not_a_traceback(qtbot, window, mixed, capfd):
    from test_jobs_wiring import run_action

    assert window.open_path(mixed)
    index = window.session.entries.index(next(e for e in window.session.entries if e.name == "d_truncated"))
    window.session.set_current(index)
    # the reason stays in the status bar (it was overwritten by "0 lines, 0 verified"), once the decode failed
    qtbot.waitUntil(lambda: "truncated" in window.statusBar().currentMessage(), timeout=10000)
    errors = []
    window.runner.job_ended.connect(lambda _t, result, msg: errors.append((result, msg)))
    outcome = run_action(qtbot, window, window.actions.segment_page)
    assert outcome != "finished"
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert any("truncated" in (msg or "") or "damaged" in (msg or "") for _r, msg in errors)
