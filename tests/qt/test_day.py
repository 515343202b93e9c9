"""An archivist's whole day in the real main window, offscreen: open a folder of real scans, segment,
recognise (with a tiny model made here), correct and verify by key presses, undo, re-recognise without losing
verified lines, fine-tune, export, close, reopen and find everything as it was; cancel a running job; and the
event loop never freezes while recognition or fine-tuning runs."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QElapsedTimer, Qt, QTimer

from htrgui.core.io import read_document

pytestmark = pytest.mark.gui

MAX_BLOCK_MS = 100  # what a person perceives as instant
MAX_HITCH_MS = 250  # the one exception allowed: see LoopProbe.verdict


class LoopProbe:
    """A 5 ms timer that records how late it fires: the longest gap is the longest the event loop was blocked."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self.when: list[float] = []
        self._clock = QElapsedTimer()
        self._timer = QTimer()
        self._timer.setInterval(5)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._clock.start()
        self._timer.start()

    def _tick(self) -> None:
        self.gaps.append(self._clock.restart())
        self.when.append(time.monotonic())

    def worst(self, n: int = 5) -> list[tuple[float, float]]:
        """The ``n`` longest gaps as (seconds since start, gap ms), to say when the loop was blocked."""
        t0 = self.when[0] if self.when else 0.0
        return sorted(((round(t - t0, 3), g) for t, g in zip(self.when, self.gaps)), key=lambda x: -x[1])[:n]

    def stop(self) -> None:
        self._timer.stop()

    def verdict(self, during: str) -> str | None:
        """None when the loop never froze: every gap under MAX_BLOCK_MS but at most one, and that one under
        MAX_HITCH_MS. The one is tolerated because clean-clone CI runs on a shared 2-core machine showed a single
        114-172 ms gap as a job started, never more; work on the GUI thread (a model load, a training step, a
        page recognised) costs far more than that, and more than once. Sampling the GUI thread's stack every
        3 ms (2026-12-07, both cores busy with training) put that gap on the job's start: copying the pages
        with unsaved changes for the job (the segmentation just run left both unsaved) and starting its
        thread; the other long gaps of that loaded machine caught the GUI thread idle in the event loop, that
        is waiting for a core. (The untrained test model is unsure of every character: each line's highlight
        was one selection per character, now one per run.) Otherwise the message that says when the loop was
        blocked and for how long."""
        slow = [g for g in self.gaps if g >= MAX_BLOCK_MS]
        if not slow or (len(slow) == 1 and slow[0] < MAX_HITCH_MS):
            return None
        return f"event loop blocked during {during}: {len(slow)} gaps over {MAX_BLOCK_MS} ms, worst {self.worst()}"


def test_the_probe_allows_one_short_hitch_never_a_freeze(qtbot):
    """LoopProbe.verdict's rule on recorded gaps (ms): the timing itself is what test_a_whole_day measures."""
    probe = LoopProbe()
    for gaps, froze in (([5] * 50, False), ([5] * 50 + [150], False), ([99] * 20, False),
                        ([5, 150, 5, 150], True), ([5, 300], True), ([5] * 50 + [100, 100], True)):
        probe.gaps, probe.when = gaps, [i * 0.005 for i in range(len(gaps))]
        assert (probe.verdict("a test") is not None) == froze, gaps


def run_job(qtbot, window, trigger, timeout=120000) -> str:
    outcome = []
    window.runner.job_ended.connect(lambda _t, result, _m: outcome.append(result))
    trigger()
    qtbot.waitUntil(lambda: bool(outcome), timeout=timeout)
    return outcome[0]


def texts(session, index):
    """What a person would check on a page: every line's text, status, geometry, and the reading order."""
    page = session.page(index)
    return [(line.id, line.text, line.status, list(line.baseline), list(line.polygon), region.type)
            for region in page.regions for line in region.lines]


def test_a_whole_day(qtbot, window, scans, tiny_model, tmp_path):
    session, actions = window.session, window.actions
    window.settings.default_model = str(tiny_model)

    # morning: open the folder while the window loads torch and the engines in the background
    assert window.open_path(scans)
    qtbot.waitUntil(window.warmed_up, timeout=60000)
    assert window.page_list.count() == 2
    assert run_job(qtbot, window, actions.segment_all.trigger) == "finished"
    assert all(session.page(i).counts().lines > 0 for i in range(2))

    # recognise everything while a timer checks the window never freezes
    probe = LoopProbe()
    probe.start()
    assert run_job(qtbot, window, actions.recognize_all.trigger) == "finished"
    probe.stop()
    assert len(probe.gaps) > 10
    assert (froze := probe.verdict("recognition")) is None, froze
    for i in range(2):
        counts = session.page(i).counts()
        assert counts.predicted > 0 and counts.verified == 0
        assert all(line.source == "model:tiny-test" for line in session.page(i).lines() if line.text)

    # correct the first line by typing, verify the third with Ctrl+Enter, all by keyboard
    session.set_current(0)
    ids = window.editor.line_ids()
    window.editor.select_line(ids[0])
    edit = window.editor.rows[ids[0]].edit
    edit.selectAll()
    qtbot.keyClicks(edit, "Ceci est mon testament")
    assert session.page(0).find_line(ids[0])[1].text == "Ceci est mon testament"
    assert session.page(0).find_line(ids[0])[1].status == "verified"
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    qtbot.keyClick(window.editor.rows[ids[1]].edit, Qt.Key.Key_Down)
    assert window.editor.current_line_id() == ids[2]
    qtbot.keyClick(window.editor.rows[ids[2]].edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert session.page(0).find_line(ids[2])[1].status == "verified"
    assert window.editor.current_line_id() == ids[3]

    # undo the verification, redo it
    qtbot.keyClick(window.editor.rows[ids[3]].edit, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert session.page(0).find_line(ids[2])[1].status == "predicted"
    actions.redo.trigger()
    assert session.page(0).find_line(ids[2])[1].status == "verified"
    before = texts(session, 0)

    # the next uncertain line is an unverified recognised one
    actions.next_uncertain.trigger()
    here = session.page(session.current).find_line(window.editor.current_line_id())[1]
    assert here.status == "predicted"

    # as if an older model had read line 4 differently
    from htrgui.qt.commands import recognition_command

    older = {ids[4]: ("lu par un autre modèle", 0.5, [0.5] * 22)}
    session.undo_stack.push(recognition_command(session, 0, older, "model:older"))
    # re-recognising the page keeps the verified lines exactly as the person left them, and says what changed
    # (with the shipped language model alone: the project's would learn from the verified lines, and this
    # untrained model's other lines would then change too; tests/qt/test_lm_wiring.py checks that)
    window.settings.language_model = "model"
    session.set_current(0)
    assert run_job(qtbot, window, actions.recognize_page.trigger) == "finished"
    report = window.jobs.last_report[0]
    assert report.kept_verified == 2
    assert [(lid, old) for lid, old, _new in report.changed] == [(ids[4], "lu par un autre modèle")]
    box = window.jobs.changes_box
    assert box is not None and box.isVisible() and "lu par un autre modèle" in box.detailedText()
    box.close()
    after = {entry[0]: entry[1:3] for entry in texts(session, 0)}
    before = {entry[0]: entry[1:3] for entry in before}
    assert after[ids[0]] == before[ids[0]] == ("Ceci est mon testament", "verified")
    assert after[ids[2]] == before[ids[2]]

    # fine-tune a tiny model a few steps on the verified lines
    finetuned = finetune_a_few_steps(qtbot, window, tmp_path)
    saved = {i: texts(session, i) for i in range(2)}

    # export the project to PAGE, ALTO and plain text
    out = tmp_path / "export"
    actions.export.trigger()
    dialog = window.export_dialog
    dialog.folder.setText(str(out))
    dialog.set_formats(["page", "alto", "txt"])
    with qtbot.waitSignal(dialog.exported, timeout=60000):
        dialog.start()
    stem = session.entries[0].name
    assert "Ceci est mon testament" in (out / "text" / f"{stem}.txt").read_text(encoding="utf-8")
    exported = read_document(out / "ALTO" / f"{stem}.xml")
    assert [line.text for line in exported.lines()][0] == "Ceci est mon testament"
    dialog.close()

    # evening: close, reopen, everything is as it was
    window.close()
    from htrgui.qt.main_window import MainWindow

    again = MainWindow()
    qtbot.addWidget(again)
    assert again.open_path(scans)
    for i in range(2):
        assert texts(again.session, i) == saved[i]
    assert again.settings.recent_projects[0] == str(scans.resolve())
    assert again.settings.default_model == finetuned
    again.close()


def finetune_a_few_steps(qtbot, window, tmp_path):
    """"Improve the model" for two steps of the tiny model, with the event loop probed all along.
    Returns the model the window now uses for recognition."""
    from htrgui.core.training.trainer import TrainConfig

    session = window.session
    # the dialog holds whole pages out: verify a line on the second page too, by key press
    session.set_current(1)
    second = window.editor.line_ids()[0]
    window.editor.select_line(second)
    qtbot.keyClick(window.editor.rows[second].edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert session.page(1).find_line(second)[1].status == "verified"

    window.actions.finetune.trigger()
    dialog = window.jobs.finetune_dialog
    from htrgui.core.training.holdout import HeldOutRule

    dialog.rule = HeldOutRule(min_train=1, min_held=1)  # 3 verified lines: the wiring, not the real minimums
    qtbot.waitUntil(lambda: dialog.verified is not None, timeout=30000)
    assert dialog.verified.lines == 3 and len(dialog.verified.pages) == 2
    tiny = TrainConfig(config="tiny", max_steps=2, val_every_minutes=1e9, device="cpu", batch_columns=2000,
                       warmup_steps=1, freeze_bn=True, checkpoint_every_minutes=1e9, tcm=False)
    probe = LoopProbe()
    probe.start()
    with qtbot.waitSignal(dialog.run_ended, timeout=180000) as ended:
        assert dialog.start(config=tiny) is not None
        assert window.runner.busy and not window.actions.recognize_page.isEnabled()
    probe.stop()
    assert (froze := probe.verdict("fine-tuning")) is None, froze
    result = ended.args[0]
    assert result is not None and result.before_cer is not None
    if result.improved:  # offered only when better on the held-out page: take it
        assert dialog.use_button.isEnabled()
        dialog.use_button.click()
        assert window.settings.default_model == result.model_path
    else:
        assert not dialog.use_button.isEnabled()
    dialog.close()
    return window.settings.default_model


def test_cancel_a_running_recognition_keeps_the_window_usable(qtbot, window, scans, tiny_model):
    session, actions = window.session, window.actions
    window.settings.default_model = str(tiny_model)
    assert window.open_path(scans)
    assert run_job(qtbot, window, actions.segment_all.trigger) == "finished"
    outcome = []
    window.runner.job_ended.connect(lambda _t, result, _m: outcome.append(result))
    actions.recognize_all.trigger()
    assert window.runner.busy and actions.cancel_job.isEnabled() and not actions.recognize_page.isEnabled()
    actions.cancel_job.trigger()
    qtbot.waitUntil(lambda: bool(outcome), timeout=60000)
    assert outcome[0] == "cancelled"
    assert all(session.page(i).counts().predicted == 0 for i in range(2))
    assert not window.runner.busy and actions.recognize_page.isEnabled()
    # and the next job runs normally
    assert run_job(qtbot, window, actions.recognize_page.trigger) == "finished"
    assert session.page(session.current).counts().predicted > 0
