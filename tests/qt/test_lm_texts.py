"""The project language model's verified lines are gathered in the recognition job, not on the GUI thread: the
window copies only the pages with changes not saved yet; the saved pages are read in the job, once per save."""

from __future__ import annotations

import pytest

from htrgui.core.recognition.lm import verified_texts
from htrgui.core.tasks.recognize import VerifiedTexts, verified_texts_of

pytestmark = pytest.mark.gui


def test_verified_lines_of_saved_pages_are_read_in_the_job(qtbot, window, verified_project):
    project = verified_project({"a": 50, "b": 10})  # a real LECTAUREP page twice, 50 and 10 lines verified
    assert window.open_path(project.folder)
    session = window.session
    pages = [session.page(0), session.page(1)]  # both in memory: the old code walked them on the GUI thread
    line = next(ln for ln in pages[1].lines() if ln.status != "verified" and ln.text)
    line.set_text(line.text + " (corrigé)")  # verified by a person, not saved yet
    session.touch(1, line.id)
    assert line.status == "verified" and session.dirty == {1}
    texts, files = window.jobs._verified()
    # here: the one page with unsaved changes (its 11 verified lines), nothing of page 0
    assert sorted(texts) == sorted(verified_texts([pages[1]])) and len(texts) == 11
    listed = files()  # what the job reads: page 0's saved file only
    assert listed == [project.entries[0].xml_path]
    known = VerifiedTexts()
    gathered = verified_texts_of(listed, texts, known)
    assert sorted(gathered) == sorted(verified_texts(pages)) and len(gathered) == 61 and known.reads == 1
    # the next recognition reads no file again, unless it was saved since
    assert verified_texts_of(listed, texts, known) == gathered and known.reads == 1
    first = next(ln for ln in pages[0].lines() if ln.status == "verified")
    first.set_text("", status="empty")
    session.touch(0, first.id)
    session.save_dirty()
    texts, files = window.jobs._verified()
    assert texts == [] and set(files()) == {e.xml_path for e in project.entries}
    assert len(verified_texts_of(files(), texts, known)) == 60 and known.reads == 3
