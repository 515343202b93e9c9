"""The window decodes with the project's verified lines: what pages 1-2 taught is used on page 3."""

from __future__ import annotations

import pytest

from htrgui.core.text import edit_distance, normalize
from tests.qt.test_day import run_job

pytestmark = pytest.mark.gui

#: Two pages of one will (a loan's terms, dates, names): the phase-14 model misreads 7 of page 2's 15 lines,
#: several where its beam holds the right reading (the pages of the `transcribed` fixture no longer have such
#: lines: their misreadings are missing end punctuation and words the polygons cut).
WILL = ["poilus/batch-1/TestamentsDePoilus_will_AD78_0084-0", "poilus/batch-1/TestamentsDePoilus_will_AD78_0084-1"]


def test_recognition_learns_from_the_projects_verified_lines(qtbot, window, shared_data, tmp_path):
    """Real scans, the shipped model: once a person has verified lines reading as this page's lines do, the
    window's next recognition of the page reads differently, and no further from the truth."""
    from tests.qt.conftest import copy_pages

    session, actions = window.session, window.actions
    assert window.open_path(copy_pages(shared_data, tmp_path / "will", WILL, with_xml=True))
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
    # a person verifies lines of page 0 that read as the lines of page 1 do, the misread ones first (say, a
    # formula repeated): a few lines weigh little in the mix (lm.PROJECT_HALF_CHARS), so every line of page 0,
    # page 1's texts over again (one pass of a few lines moves little)
    page0 = session.page(0)
    lines0 = list(page0.lines())
    told = wrong + [lid for lid in truth if lid not in wrong and truth[lid].strip()]
    told = (told * len(lines0))[: len(lines0)]
    for line, lid in zip(lines0, told):
        line.set_text(truth[lid])
        session.touch(0, line.id)
    assert all(line.status == "verified" for line in lines0[: len(told)])
    texts, files = window.jobs._verified()
    assert {truth[lid] for lid in told[: len(lines0)]} <= set(texts)
    taught = recognise_page_1("project")
    changed = [lid for lid in wrong if taught[lid] != plain[lid]]
    assert changed
    # and no further from the truth, in characters or in words (where the beam holds no right reading, as at
    # some line ends, nothing can be promoted; how much the project's lines help is measured by
    # benchmarks/adaptation.py and benchmarks/decoding.py, not here)
    dist = lambda read: sum(edit_distance(normalize(read[lid]), normalize(truth[lid])) for lid in wrong)  # noqa: E731
    words = lambda read: sum(edit_distance(normalize(read[lid]).split(), normalize(truth[lid]).split())  # noqa: E731
                             for lid in wrong)
    assert words(taught) <= words(plain) and dist(taught) <= dist(plain)
    # and the preference turns it off: the shipped language model alone reads as before
    assert recognise_page_1("model") == plain


def test_the_word_list_preference_is_checked_saved_and_a_vanished_file_reported(qtbot, window, transcribed,
                                                                               tmp_path):
    """Preferences refuse a word list they cannot read (the dialog stays open, nothing saved) and keep one they
    can; a word list gone by the time pages are recognised is left out, the pages are read all the same and
    the status bar says why."""
    from htrgui.qt.dialogs import errors
    from htrgui.qt.dialogs.preferences import PreferencesDialog
    from htrgui.qt.settings import load_settings

    settings = window.settings
    assert settings.language_text == ""  # none by default
    dialog = PreferencesDialog(window, settings)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.word_list.currentData() == "" and not dialog.language_text.isEnabled()
    dialog.word_list.setCurrentIndex(dialog.word_list.findData("file"))
    assert dialog.language_text.isEnabled()
    dialog.accept()  # "a file of yours" with no file named is refused
    assert dialog.isVisible() and any("no file named" in box.text() for box in errors._shown())
    for box in errors._shown():
        box.close()
    dialog.language_text.setText(str(tmp_path / "nowhere.txt"))
    dialog.accept()
    assert dialog.isVisible() and settings.language_text == ""
    assert any("nowhere.txt" in box.text() for box in errors._shown())
    for box in errors._shown():
        box.close()
    words = tmp_path / "words.txt"
    words.write_text("dernières\nvolontés\nlègue\n", encoding="utf-8")
    dialog.language_text.setText(str(words))
    dialog.accept()
    assert not dialog.isVisible() and settings.language_text == str(words)
    assert load_settings().language_text == str(words)
    # the English word list shipped with htrgui: kept by its name, shown as chosen when the dialog reopens
    again = PreferencesDialog(window, settings)
    qtbot.addWidget(again)
    assert again.word_list.currentData() == "file" and again.language_text.text() == str(words)
    again.word_list.setCurrentIndex(again.word_list.findData("english"))
    assert not again.language_text.isEnabled()
    again.show()
    again.accept()
    assert not again.isVisible() and load_settings().language_text == "english"
    third = PreferencesDialog(window, settings)
    qtbot.addWidget(third)
    assert third.word_list.currentData() == "english" and third.language_text.text() == ""
    settings.language_text = str(words)

    words.unlink()  # moved away since
    session, actions = window.session, window.actions
    assert window.open_path(transcribed)
    for line in session.page(0).lines():
        line.set_text("", status="empty")
    session.touch(0)
    window.settings.language_model = "model"
    session.set_current(0)
    assert run_job(qtbot, window, actions.recognize_page.trigger, timeout=300000) == "finished"
    assert all(line.text for line in session.page(0).lines())
    message = window.statusBar().currentMessage()
    assert message.startswith("Recognised 1 page(s)") and "word list was left out" in message
    assert "words.txt" in message
