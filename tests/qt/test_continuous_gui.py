"""The model learns while you correct, in the window (issue 17): off by default; on, a round runs as a
background job with the shipped model on a real page, a better version is put in use, shown in the status
bar and offered for the lines nobody verified (verified lines untouched); any job the user asks for stops
the round and starts at once; exporting holds it; Cancel skips it; the menu rolls back."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")
torch = pytest.importorskip("torch")

from htrgui.core.progress import Progress  # noqa: E402
from htrgui.core.training.continuous import LearningPolicy, project_history_folder  # noqa: E402

pytestmark = pytest.mark.gui



def _ticking(seconds: float):
    """A job that works for ``seconds`` in small steps and stops when cancelled (a real generator)."""

    def run(token):
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            token.check()
            time.sleep(0.01)
            yield Progress(0, None, "working")

    return run


def test_a_background_job_gives_way_to_the_job_asked_for(qtbot):
    from htrgui.qt.jobs import JobBusy, JobRunner

    runner = JobRunner()
    events = []
    runner.job_started.connect(lambda t: events.append(("started", t)))
    runner.job_ended.connect(lambda t, outcome, _m: events.append((outcome, t)))
    runner.run("learning", _ticking(60), background=True, on_cancelled=lambda: events.append(("callback", "")))
    assert runner.background and not runner.blocking
    with pytest.raises(JobBusy):
        runner.run("another background job", _ticking(1), background=True)
    worker = runner.run("recognising", _ticking(0.2))
    assert runner.queued and runner.blocking and not worker.is_running()
    with pytest.raises(JobBusy):  # one job waits at most
        runner.run("segmenting", _ticking(0.2))
    qtbot.waitUntil(lambda: ("finished", "recognising") in events, timeout=10_000)
    # the learning stopped, then the job asked for started at once (never idle in between), then ended
    assert events == [("started", "learning"), ("cancelled", "learning"), ("started", "recognising"),
                      ("callback", ""), ("finished", "recognising")]
    assert not runner.busy


def _open(window, project, qtbot):
    window.settings.device = "cpu"
    window.settings.language_model = "none"  # greedy: the recognition below stays short on one thread
    window.learner.policy = LearningPolicy(max_steps=24)
    assert window.open_path(project.folder)


def test_learning_while_correcting_keeps_a_better_version_and_offers_it(qtbot, window, verified_project,
                                                                       one_thread):
    # two copies of one real LECTAUREP page: 50 verified lines on one, 10 on the other (the rest predicted)
    project = verified_project({"a": 50, "b": 10})
    assert not window.settings.continuous_learning and not window.actions.continuous.isChecked()
    _open(window, project, qtbot)
    window.actions.continuous.trigger()  # Model ▸ Learn while I correct
    assert window.settings.continuous_learning
    qtbot.waitUntil(lambda: window.runner.background, timeout=60_000)
    assert window.runner.title == "Model learning"
    assert window.actions.recognize_page.isEnabled()  # the learning never greys out the user's jobs
    with qtbot.waitSignal(window.learner.offer_made, timeout=300_000) as offered:
        pass
    folder = project_history_folder(project.folder)
    assert (folder / "v1.pt").is_file() and window.learner.history.current == 1
    text = window.learner.label.text()
    assert text.startswith("model v1: held-out CER ") and " -> " in text and text.endswith("%")
    assert window.jobs.model_name() == str(folder / "v1.pt")

    # yes: the lines nobody verified are read again with v1; the verified ones are kept as they were
    verified_before = {i: {ln.id: ln.text for ln in window.session.page(i).lines() if ln.status == "verified"}
                       for i in range(2)}
    box = offered.args[0]
    unverified = sum(1 for i in range(2) for ln in window.session.page(i).lines()
                     if ln.status != "verified" and ln.text)
    assert unverified == 95 - 50 + 95 - 10
    assert "nobody verified" in box.text() and f"{unverified} line(s)" in box.text() and "2 page(s)" in box.text()
    with qtbot.waitSignal(window.runner.job_ended, timeout=300_000,
                          check_params_cb=lambda title, *_: title == "Recognising"):
        box.accept()
    for i in range(2):
        page = window.session.page(i)
        assert {ln.id: ln.text for ln in page.lines() if ln.status == "verified"} == verified_before[i]
    reports = window.jobs.last_report
    assert sum(r.kept_verified for r in reports.values()) == 60
    assert sum(len(r.changed) + r.unchanged for r in reports.values()) == unverified

    # Model ▸ Roll back the model: the model chosen in the preferences again
    window.learner.fill_rollback_menu(window.rollback_menu)
    actions = window.rollback_menu.actions()
    assert actions[0].text().startswith("The model you chose") and actions[1].text().startswith("v1: ")
    assert actions[1].isChecked() and not actions[0].isChecked()
    actions[0].trigger()
    assert window.jobs.model_name() == "" and window.learner.history.current == 0
    assert "back to" in window.learner.label.text()
    assert (folder / "v1.pt").is_file()  # kept: it can be put back
    window.actions.continuous.trigger()
    assert not window.settings.continuous_learning


def test_the_users_jobs_and_exports_stop_the_round_and_cancel_skips_it(qtbot, window, verified_project,
                                                                      one_thread):
    project = verified_project({"a": 50, "b": 10})
    _open(window, project, qtbot)
    window.learner.policy = LearningPolicy(max_steps=100_000)  # a round that would take long
    window.learner.set_enabled(True)
    qtbot.waitUntil(lambda: window.runner.background, timeout=60_000)
    assert window.actions.cancel_job.isEnabled() and window.actions.recognize_page.isEnabled()

    # the user recognises a page: the round stops and recognition starts at once
    ended = []
    window.learner.round_ended.connect(ended.append)
    window.actions.recognize_page.trigger()
    qtbot.waitUntil(lambda: window.runner.title == "Recognising", timeout=60_000)
    assert ended == [None]
    qtbot.waitUntil(lambda: not window.runner.busy or window.runner.background, timeout=300_000)
    # ... and when the lane is free again, the round starts again (it was not the user's Cancel)
    qtbot.waitUntil(lambda: window.runner.background, timeout=60_000)

    # exporting holds it
    window.actions.export.trigger()
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=60_000)
    qtbot.wait(300)
    assert not window.runner.busy
    window.export_dialog.reject()
    qtbot.waitUntil(lambda: window.runner.background, timeout=60_000)

    # the status bar's Cancel: no new round before more lines are verified
    window.status.cancel_button.click()
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=60_000)
    qtbot.wait(500)
    assert not window.runner.busy and not list(project_history_folder(project.folder).glob("*.pt"))


def test_the_preference_is_saved(qtbot):
    from htrgui.qt.dialogs.preferences import PreferencesDialog
    from htrgui.qt.settings import Settings, load_settings

    settings = Settings()
    assert settings.continuous_learning is False  # off by default
    dialog = PreferencesDialog(None, settings)
    qtbot.addWidget(dialog)
    assert not dialog.continuous.isChecked()
    dialog.continuous.setChecked(True)
    dialog.accept()
    assert load_settings().continuous_learning is True


def test_the_offer_counts_unverified_lines_in_the_io_lane(qtbot, window, verified_project):
    """The lines a better version would read again are counted in a job (a project's pages read there, not on
    the GUI thread), pages with unsaved changes as they are now."""
    project = verified_project({"a": 50, "b": 10})  # 95 lines each, the rest "predicted"
    assert window.open_path(project.folder)
    session = window.session
    assert not session.loaded(1)  # no event loop turn yet: the page list has not read it either
    line = next(ln for ln in session.page(0).lines() if ln.status != "verified")
    line.set_text(line.text + " !")  # verified by a person, not saved yet
    session.touch(0, line.id)
    found = []
    window.learner.unverified_pages(lambda indices, lines: found.append((indices, lines)))
    assert not session.loaded(1) and not found  # nothing read here
    qtbot.waitUntil(lambda: bool(found), timeout=20000)
    assert found == [([0, 1], 95 - 51 + 95 - 10)]
    assert session.loaded(1) and session.page(1).counts().verified == 10  # the page read in the job is kept


def test_improve_the_model_starts_from_the_version_learnt_and_its_result_replaces_it(qtbot, window,
                                                                                     verified_project):
    """A version learnt while correcting is in use: the one click starts from it (not from the preferences'
    model), and the model it makes, once put in use, is what recognition and the next rounds use."""
    import shutil

    from htrgui.core.recognition.library import resolve_model
    from htrgui.core.training.continuous import ModelHistory, ModelVersion
    from htrgui.core.training.finetune import FinetuneResult

    project = verified_project({"a": 50, "b": 10})
    folder = project_history_folder(project.folder)
    history = ModelHistory.load(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(resolve_model(None), folder / "v1.pt")  # a learnt version (a real checkpoint file)
    history.add(ModelVersion(1, "v1.pt", 0.2, 0.3, 50, 10, ["b"], "2026-12-06", 0))
    _open(window, project, qtbot)
    learnt = str(folder / "v1.pt")
    assert window.learner.history.current == 1 and window.jobs.model_name() == learnt

    window.jobs.finetune()
    dialog = window.jobs.finetune_dialog
    qtbot.addWidget(dialog)
    assert dialog._base() == learnt
    assert "learnt for this project" in dialog.base_label.text() and "v1.pt" in dialog.base_label.text()

    # the run's result, a better model file, is put in use with the dialog's button
    new = project.folder.parent / "improved.pt"
    shutil.copyfile(resolve_model(None), new)
    dialog.result = FinetuneResult(0.3, 0.2, True, str(new), ["b"], 50, 1.0, "better")
    dialog.use_new_model()
    assert window.settings.default_model == str(new) and window.jobs.model_name() == str(new)
    reloaded = ModelHistory.load(folder)
    assert reloaded.base == str(new) and reloaded.current == 0  # the next rounds start from it
    window.learner.fill_rollback_menu(window.rollback_menu)
    texts = [a.text() for a in window.rollback_menu.actions()]
    assert texts[0] == "The model you chose (improved)" and texts[1].startswith("v1: ")
    dialog.close()
