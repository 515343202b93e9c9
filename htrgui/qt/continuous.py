"""The model learns while you correct: the window's side of :mod:`htrgui.core.training.continuous`.

Opt-in (``Settings.continuous_learning``, off by default). When pages are saved, their verified lines are
counted again (in a worker); when the policy says a round is due, it runs as a *background* job of the
window's :class:`JobRunner` (one model job at a time, worker thread at a lower priority): any job the user
asks for (recognise, segment, the one-click fine-tune) makes it stop and starts at once, and it is held off
while the user exports; it runs again when the lane is free. A better version is put in use for this project
only, the status bar says so plainly ("model v3: held-out CER 14 % -> 9 %"), and the user is offered to
recognise again the lines nobody verified yet, through the window's recognition job (whose
``apply_recognition`` never writes over a verified line). Model ▸ Learn while I correct turns it off,
Model ▸ Roll back the model puts any kept version, or the base, back in use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QMenu, QMessageBox

from htrgui.core.errors import HtrError
from htrgui.core.progress import CancelToken
from htrgui.core.tasks.pages import Unverified, count_unverified
from htrgui.core.training.continuous import (LearningPolicy, ModelHistory, RoundResult, learning_round,
                                             project_history_folder)
from htrgui.qt.jobs import IO, JobBusy
from htrgui.qt.settings import save_settings
from htrgui.qt.workers import GeneratorWorker

JOB_TITLE = "Model learning"


def round_job(pages, folder: Path, base: str, policy: LearningPolicy, device: str):
    """The background job's factory: a round on ``pages`` (copies read from the saved PAGE files), the
    history read afresh in the worker (the window reads it again when the round has ended)."""

    def run(token: CancelToken):
        yield from learning_round(pages, ModelHistory.load(folder, base), policy, device=device, cancel=token)

    return run


class ContinuousLearner(QObject):
    """Counts verified lines as pages are saved, runs rounds when due, shows the version in use.

    Signals: ``status_changed(text)``; ``round_ended(RoundResult or None)`` (None: cancelled or failed);
    ``offer_made(QMessageBox)`` when a better version offers to recognise again the unverified lines."""

    status_changed = Signal(str)
    round_ended = Signal(object)
    offer_made = Signal(object)

    #: When rounds run and how long; tests make rounds tiny (max_steps) and lower the held-out rule.
    policy = LearningPolicy()

    def __init__(self, window, session, runner, settings, jobs) -> None:
        super().__init__(window)
        self.window, self.session, self.runner, self.settings, self.jobs = window, session, runner, settings, jobs
        self.history: ModelHistory | None = None
        self.verified = None  # VerifiedPages of the saved pages, once counted
        self.result: RoundResult | None = None
        self.worker: GeneratorWorker | None = None
        self.offer: QMessageBox | None = None
        self._count_worker: GeneratorWorker | None = None
        self._pending: set[str] = set()
        self._holds: set[str] = set()
        #: After a round the user cancelled (or one that failed): no new round before this many lines.
        self._skip_until = 0
        #: The learner itself stopped the round (hold, rollback, off): it may run again, not a user's Cancel.
        self._own_cancel = False
        self.label = QLabel()
        self.label.setToolTip("The model learning while you correct: the version in use and its error rate on "
                              "verified lines it never learnt from (Model \u25b8 Learn while I correct)")
        session.opened.connect(self._on_opened)
        session.closed.connect(self._on_closed)
        session.saved.connect(self._on_saved)
        # Deferred: the ended job's own callbacks (a cancelled round's) run first.
        runner.busy_changed.connect(lambda busy: None if busy else QTimer.singleShot(0, self._maybe_start))

    # ---------------------------------------------------------------- state
    @property
    def enabled(self) -> bool:
        return bool(self.settings.continuous_learning)

    def running(self) -> bool:
        return self.worker is not None and self.worker.is_running()

    def _stop(self) -> None:
        if self.running():
            self._own_cancel = True
            self.worker.cancel()

    def model(self) -> str | None:
        """The version in use for this project (recognition uses it), None for the user's chosen model."""
        if self.history is None or not self.history.current:
            return None
        return self.history.model()

    def _base(self) -> str:
        return self.settings.default_model or "default"

    def _set_status(self, text: str) -> None:
        self.label.setText(text)
        self.status_changed.emit(text)

    def _show_version(self, extra: str = "") -> None:
        version = self.history.in_use if self.history is not None else None
        text = version.describe() if version is not None else ""
        if extra:
            text = f"{text} ({extra})" if text else extra
        self._set_status(text)

    # ---------------------------------------------------------------- turning it on and off
    def set_enabled(self, on: bool) -> None:
        """Turn learning on or off (saved); off stops a running round. The version in use stays in use
        (Roll back puts the base back)."""
        if on != self.enabled:
            self.settings.continuous_learning = on
            try:
                save_settings(self.settings)
            except (OSError, HtrError):
                pass  # holds for this session; the preference is asked again next time
        self.settings_changed()

    def settings_changed(self) -> None:
        """Apply ``settings.continuous_learning`` (the preferences dialog or the menu changed it)."""
        action = getattr(self.window.actions, "by_name", {}).get("continuous")
        if action is not None and action.isChecked() != self.enabled:
            action.setChecked(self.enabled)
        if not self.enabled:
            self._stop()
            self._show_version("learning off" if self.history is not None and self.history.current else "")
            return
        if self.session.is_open:
            if self.verified is None:
                self._count()
            else:
                self._maybe_start()

    def hold(self, reason: str) -> None:
        """Stop a running round and start none until :meth:`release` (the user exports, say)."""
        self._holds.add(reason)
        self._stop()

    def release(self, reason: str) -> None:
        self._holds.discard(reason)
        self._maybe_start()

    def rollback(self, number: int) -> None:
        """Put version ``number`` (0: the base) back in use for this project; later rounds start from it."""
        if self.history is None:
            return
        self._stop()  # it started from the version being replaced
        self.history.rollback(number)
        self._show_version()
        if not number:
            self._set_status(f"model: back to {Path(self.history.base).stem}")

    def rebase(self, model: str) -> None:
        """The user switched to ``model`` (Improve the model's result): it is in use and later rounds start
        from it; the versions learnt before stay in Roll back."""
        if self.history is None:
            return
        self._stop()  # it started from the model being replaced
        try:
            self.history.rebase(model)
        except (OSError, HtrError) as exc:
            self._set_status(f"Model learning: the switch could not be recorded ({exc})")
            return
        self._show_version()

    # ---------------------------------------------------------------- the project
    def _on_opened(self) -> None:
        self.verified, self.result, self._skip_until, self._pending = None, None, 0, set()
        try:
            self.history = ModelHistory.load(project_history_folder(self.session.project.folder), self._base())
        except HtrError as exc:
            self.history = None
            self._set_status(f"Model learning off for this project: {exc}")
            return
        self._show_version()
        if self.enabled:
            self._count()

    def _on_closed(self) -> None:
        self._stop()
        self.history, self.verified = None, None
        self._set_status("")

    def _on_saved(self, indices: list) -> None:
        if not self.enabled or not self.session.is_open or self.history is None:
            return
        self._pending |= {self.session.name(i) for i in indices}
        if not (self._count_worker is not None and self._count_worker.is_pending()):
            self._count_pending()

    def _count_pending(self) -> None:
        if self.verified is None:
            self._count()
        elif self._pending:
            only, self._pending = self._pending, set()
            self._count(only)

    def _count(self, only: set[str] | None = None) -> None:
        """Count the verified lines of the saved pages (all, or ``only`` these again) in a worker."""
        project = self.session.project
        previous = self.verified if only is not None else None

        def count(token: CancelToken):
            from htrgui.core.training.finetune import verified_pages  # torch: in the worker, when asked for

            yield from verified_pages(project, token, only=only, previous=previous)

        # the I/O lane, like the fine-tune dialog's count (is_running() covers the wait in its queue too)
        self._count_worker = self.runner.run("Counting verified lines", count, on_item=self._on_counted,
                                             on_finished=self._count_pending, lane=IO)

    def _on_counted(self, item) -> None:
        from htrgui.core.training.finetune import VerifiedPages  # the count loaded it (and torch) already

        if isinstance(item, VerifiedPages) and self.session.is_open:
            self.verified = item
            self._maybe_start()

    # ---------------------------------------------------------------- rounds
    def _maybe_start(self) -> bool:
        """Start a round if learning is on, a round is due and the lane is free. True when started."""
        if (not self.enabled or self._holds or self.runner.busy or self.history is None or self.verified is None
                or not self.session.is_open):
            return False
        due = self.policy.due(self.verified, self.history)
        if due.due and due.verified_lines < self._skip_until:
            due.due = False
        if not due.due:
            if not (self.history.in_use is not None):
                self._set_status(f"Model learning: {_first_lower(due.reason)}"[:160])
            return False
        factory = round_job(self.verified.pages, self.history.folder, self.history.base, self.policy,
                            self.settings.device)
        try:
            self.worker = self.runner.run(JOB_TITLE, factory, on_item=self._on_item, on_finished=self._finished,
                                          on_failed=self._failed, on_cancelled=self._cancelled, background=True)
        except JobBusy:
            return False
        self.result = None
        return True

    def _on_item(self, item) -> None:
        if isinstance(item, RoundResult):
            self.result = item

    def _reload(self) -> None:
        if self.session.is_open:
            try:
                self.history = ModelHistory.load(project_history_folder(self.session.project.folder), self._base())
            except HtrError as exc:
                self._set_status(str(exc))

    def _finished(self) -> None:
        self._reload()
        result = self.result
        if result is None or self.history is None:
            self.round_ended.emit(None)
            return
        if result.version is not None:
            self._show_version()
            self.round_ended.emit(result)
            self._offer(result)
        else:
            r = result.result
            self._show_version(f"last round not better: {_pct(r.before_cer)} -> {_pct(r.after_cer)}")
            self.round_ended.emit(result)

    def _failed(self, message: str, _details: str) -> None:
        # a background job never opens an error dialog; it waits for more lines before it tries again
        self._skip_until = (self.verified.lines if self.verified else 0) + self.policy.every_lines
        self._set_status(f"Model learning failed: {message}"[:200])
        self.round_ended.emit(None)

    def _cancelled(self) -> None:
        own, self._own_cancel = self._own_cancel, False
        if not (own or self.runner.busy):
            # the user pressed Cancel: not again before more lines are verified
            self._skip_until = (self.verified.lines if self.verified else 0) + self.policy.every_lines
        self.round_ended.emit(None)

    # ---------------------------------------------------------------- re-recognising
    def unverified_pages(self, done: Callable[[list[int], int], None]) -> GeneratorWorker:
        """Find the pages whose lines hold model text nobody verified yet, and how many such lines, in the I/O
        lane (a project's pages are read there, not on the GUI thread; pages with unsaved changes as they are
        now); ``done(indices, lines)`` is called on the GUI thread (not when another project was opened)."""
        project = self.session.project
        tasks = self.jobs.tasks(range(len(self.session.entries)))
        found: list = []

        def item(found_item) -> None:
            if isinstance(found_item, Unverified) and self.session.project is project:
                self.jobs.keep(found_item.index, found_item.stored)
                if found_item.lines:
                    found.append(found_item)

        def finished() -> None:
            if self.session.project is project:
                done([f.index for f in found], sum(f.lines for f in found))

        return self.runner.run("Counting unverified lines", lambda token: count_unverified(tasks, token), lane=IO,
                               on_item=item, on_finished=finished)

    def _offer(self, result: RoundResult) -> None:
        self.unverified_pages(lambda indices, lines: self._ask(result, indices, lines))

    def _ask(self, result: RoundResult, indices: list[int], lines: int) -> None:
        if not indices:
            return
        box = QMessageBox(QMessageBox.Icon.Question, "The model learnt from your corrections",
                          f"{result.version.describe()[:1].upper()}{result.version.describe()[1:]} on lines it "
                          f"never learnt from.\n\nRecognise again the {lines} line(s) nobody verified yet, on "
                          f"{len(indices)} page(s), with it? Verified lines are never changed (Edit \u25b8 Undo "
                          "puts the others back).",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self.window)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.accepted.connect(lambda: self.jobs.recognize(indices))
        box.open()  # not modal for the app: the person keeps correcting
        self.offer = box
        self.offer_made.emit(box)

    # ---------------------------------------------------------------- the menu
    def fill_rollback_menu(self, menu: QMenu) -> None:
        """Model ▸ Roll back the model: the base and every kept version, the one in use ticked."""
        menu.clear()
        history = self.history
        if history is None:
            menu.addAction("No project open").setEnabled(False)
            return
        base = menu.addAction(f"The model you chose ({Path(history.base).stem})")
        base.setCheckable(True)
        base.setChecked(not history.current)
        base.triggered.connect(lambda: self.rollback(0))
        for v in reversed(history.versions):
            action = menu.addAction(f"{v.name}: held-out CER {_pct(v.held_out_cer)}, {v.lines} lines, "
                                    f"{v.date.replace('T', ' ')[:16]}")
            action.setCheckable(True)
            action.setChecked(v.number == history.current)
            action.triggered.connect(lambda _=False, n=v.number: self.rollback(n))
        if not history.versions:
            menu.addAction("No learnt version yet").setEnabled(False)


def _pct(x) -> str:
    return "?" if x is None else f"{100 * x:.1f} %"


def _first_lower(text: str) -> str:
    return text[:1].lower() + text[1:]
