"""The window decodes with the project's verified lines: what pages 1-2 taught is used on page 3."""

from __future__ import annotations

import pytest

from htrgui.core.text import edit_distance, normalize
from tests.qt.test_day import run_job

pytestmark = pytest.mark.gui


def test_recognition_learns_from_the_projects_verified_lines(qtbot, window, transcribed):
    """Real scans, the shipped model: once a person has verified lines reading as this page's lines do, the
    window's next recognition of the page reads differently, and closer to the truth."""
    session, actions = window.session, window.actions
    assert window.open_path(transcribed)
    truth = {line.id: line.text for line in session.page(1).lines()}
    for page in (0, 1):  # the eScriptorium transcriptions come in verified: start from scans nobody checked
        for line in session.page(page).lines():
            line.set_text("", status="empty")
        session.touch(page)
    assert window.settings.language_model == "project"   # the default

    def recognise_page_1(choice: str) -> dict[str, str]:
        window.settings.language_model = choice
        session.set_current(1)
        assert run_job(qtbot, window, actions.recognize_page.trigger, timeout=300000) == "finished"
        return {line.id: line.text for line in session.page(1).lines()}

    plain = recognise_page_1("model")
    wrong = [lid for lid, text in plain.items() if normalize(text) != normalize(truth[lid])]
    assert wrong
    # a person verifies lines of page 0 that read as the misread lines of page 1 do (say, a formula repeated)
    page0 = session.page(0)
    lines0 = list(page0.lines())
    for line, lid in zip(lines0, wrong):
        line.set_text(truth[lid])
        session.touch(0, line.id)
    assert all(line.status == "verified" for line in lines0[: len(wrong)])
    texts, files = window.jobs._verified()
    assert {truth[lid] for lid in wrong[: len(lines0)]} <= set(texts)
    taught = recognise_page_1("project")
    changed = [lid for lid in wrong if taught[lid] != plain[lid]]
    assert changed
    dist = lambda read: sum(edit_distance(normalize(read[lid]), normalize(truth[lid])) for lid in wrong)  # noqa: E731
    assert dist(taught) < dist(plain)
    # and the preference turns it off: the shipped language model alone reads as before
    assert recognise_page_1("model") == plain
