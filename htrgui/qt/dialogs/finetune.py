""""Improve the model": fine-tune the recognition model on the lines the user verified, with a live curve.

The work is the core's :func:`htrgui.core.training.finetune.finetune_pages` (what ``htrgui finetune`` runs
too), run as the window's one model job
through the :class:`JobRunner` (the status bar shows it too, and the dialog may be closed meanwhile). Some
pages are held out; the new model is offered only when it reads those pages better than the current one,
so a fine-tune can never make recognition worse behind the user's back.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from shiboken6 import isValid
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from htrgui.core.errors import HtrError
from htrgui.core.progress import CancelToken, Progress
from htrgui.core.training.finetune import (FinetunePlan, FinetuneResult, VerifiedPages, base_model_problem,
                                           finetune_pages, make_plan, page_key)
from htrgui.core.training.holdout import RULE, NotEnoughLines, pick_held_out
from htrgui.qt.dialogs.errors import show_error
from htrgui.qt.jobs import IO, JobBusy, JobRunner, format_duration
from htrgui.qt.settings import Settings, save_settings
from htrgui.qt.widgets.curve import CurveWidget
from htrgui.qt.workers import GeneratorWorker

JOB_TITLE = "Improving the model"
NONE_HELD = "Tick at least one page to check the new model on."
ALL_HELD = "Leave at least one page unticked: the model learns from those."


def count_job(project, base: str, device: str, only: set[str] | None = None, previous=None):
    """The counting worker's factory: the verified pages (core), then, on the first count, the training speed
    the doctor or an earlier dialog kept (a small file). Measuring it when none is kept is a model job of its
    own (:func:`speed_job`), so the I/O lane is never held for seconds."""

    def run(token: CancelToken):
        from htrgui.core.training.finetune import training_speed, verified_pages

        yield from verified_pages(project, token, only=only, previous=previous)
        if previous is None and not base_model_problem(base):
            for item in training_speed(base, device, measure=False, token=token):
                if isinstance(item, tuple):
                    yield item

    return run


def speed_job(base: str, device: str):
    """The factory measuring this computer's training speed (a few seconds of training steps; then kept)."""

    def run(token: CancelToken):
        from htrgui.core.training.finetune import training_speed

        yield from training_speed(base, device, token=token)

    return run


def _model_label(model: str, settings: Settings) -> str:
    """How "Starting from" names the model: the shipped default, the user's choice, or a learnt version."""
    if model == "default":
        return "the shipped default model"
    if model == settings.default_model:
        return Path(model).stem
    return f"{Path(model).stem}, learnt for this project while you corrected ({Path(model).name})"


class FineTuneDialog(QDialog):
    """Collects verified lines, fine-tunes, plots loss and held-out CER, offers the better model.

    Signals: ``model_changed(path)`` when the user switches to the new model; ``run_ended(result_or_None)``.
    """

    model_changed = Signal(str)
    run_ended = Signal(object)
    pages_counted = Signal()

    #: The held-out rule (minimum lines on each side); tests of the wiring lower it.
    rule = RULE

    def __init__(self, parent: QWidget | None, project, settings: Settings, runner: JobRunner,
                 session=None, base: str | None = None) -> None:
        """``session`` (the window's): pages it saves while the dialog is open are counted again. ``base``:
        the model recognition uses now (a version learnt for this project while correcting), the model to
        start from; None: the preferences' model."""
        if project is None:
            raise HtrError("open a project first: the model learns from the lines verified in it")
        super().__init__(parent)
        self.setWindowTitle("Improve the model")
        self.resize(720, 520)
        self.project = project
        self.settings = settings
        self.runner = runner
        self.verified: VerifiedPages | None = None
        self.result = None
        self.worker: GeneratorWorker | None = None
        self._count_worker: GeneratorWorker | None = None
        self._speed_worker: GeneratorWorker | None = None
        self._pending: set[str] = set()   # pages saved while a count ran: counted again after it
        self._user_ticked = False         # the user chose the held-out pages: recounts keep the choice
        self.speed = None                 # (SpeedEstimate, where from) for the estimate
        self.plan: FinetunePlan | None = None

        intro = QLabel("The model learns from the lines you verified. Some pages are held out to check the "
                       "result: the new model is offered only if it reads them better.")
        intro.setWordWrap(True)
        self.summary = QLabel("Counting verified lines\u2026")
        self.summary.setWordWrap(True)
        self._start_from = base or settings.default_model or "default"
        self.base_problem = base_model_problem(self._start_from if self._start_from != "default" else "")
        self.base_label = QLabel(self.base_problem or _model_label(self._start_from, settings))
        self.base_label.setWordWrap(True)
        self.budget = QSpinBox()
        self.budget.setRange(1, 24 * 60)
        self.budget.setValue(15)
        self.budget.setSuffix(" min")
        self.budget.setToolTip("Training stops after this time, or earlier when it has gone over the lines as "
                               "often as planned or the held-out pages stop improving")
        self.budget.valueChanged.connect(self._update_estimate)
        self.estimate = QLabel("")
        self.estimate.setWordWrap(True)
        self.held_list = QListWidget()
        self.held_list.setMaximumHeight(110)
        self.held_list.setToolTip("Ticked pages are not trained on: the new model is checked on them and offered "
                                  "only if it reads them better. Tick pages typical of what is still to come.")
        self.held_list.itemChanged.connect(self._on_tick)
        self.remember = QCheckBox("Remember a sample of these lines to replay in later fine-tunes")
        self.remember.setChecked(settings.remember_lines)
        self.remember.setToolTip("Lines of other hands mixed into training keep the model from forgetting them. "
                                 "The sample (up to 600 lines per project) stays in htrgui's data folder on "
                                 "this computer.")
        form = QFormLayout()
        form.addRow("Starting from", self.base_label)
        form.addRow("Verified lines", self.summary)
        form.addRow("Check on pages", self.held_list)
        form.addRow("Train for at most", self.budget)
        form.addRow("Expected", self.estimate)
        form.addRow("", self.remember)

        self.curve = CurveWidget()
        self.curve.add_series("loss", "training loss")
        self.curve.add_series("cer", "held-out CER", "%")
        self.status = QLabel("")
        self.status.setWordWrap(True)

        self.start_button = QPushButton("Start")
        self.start_button.setEnabled(False)
        self.start_button.clicked.connect(lambda: self.start())
        self.cancel_button = QPushButton("Cancel training")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.use_button = QPushButton("Use the new model")
        self.use_button.setEnabled(False)
        self.use_button.setToolTip("Recognise pages with the new model from now on")
        self.use_button.clicked.connect(self.use_new_model)
        close = QPushButton("Close")
        close.setToolTip("Close this window; a running training goes on (see the status bar)")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        for b in (self.start_button, self.cancel_button, self.use_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.curve, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        runner.busy_changed.connect(self._update_buttons)
        runner.busy_changed.connect(self._on_busy)
        self.session = session
        if session is not None:
            session.saved.connect(self._on_saved)
        self._count()

    # ---------------------------------------------------------------- verified lines
    def _base(self) -> str:
        return self._start_from

    def _count(self, only: set[str] | None = None) -> None:
        """Count the verified lines (all pages, or ``only`` these, re-read after a save) in a worker."""
        factory = count_job(self.project, self._base(), self.settings.device, only,
                            self.verified if only is not None else None)
        # the I/O lane: reading every page file (and, once, the kept or measured training speed)
        self._count_worker = self.runner.run("Counting verified lines", factory, lane=IO,
                                             on_item=self._on_count_item, on_failed=self._on_count_failed,
                                             on_finished=self._count_done)

    def counting(self) -> bool:
        return self._count_worker is not None and self._count_worker.is_pending()

    @Slot(list)
    def _on_saved(self, indices: list) -> None:
        """The window saved pages: count them again (lines verified while the dialog is open count)."""
        if self.session is None or not isValid(self):
            return
        self._pending |= {self.session.name(i) for i in indices}
        if not self.counting():
            self._count_pending()

    def _count_pending(self) -> None:
        if self._pending and self.verified is not None:
            only, self._pending = self._pending, set()
            self._count(only)

    def _count_done(self, *_args) -> None:
        if isValid(self):
            self._count_pending()
            self._measure_speed()

    # ---------------------------------------------------------------- the training speed
    def _measure_speed(self) -> None:
        """Measure the training speed for the estimate when none is kept: a *background* job of the model lane
        (training steps compete with recognition for the processor, and the model lane runs one such job at a
        time), which any job the user asks for stops at once. The lane busy: tried again when it is free."""
        if (not isValid(self) or self.speed is not None or self.verified is None or self.base_problem
                or self.runner.busy or (self._speed_worker is not None and self._speed_worker.is_pending())):
            return
        try:
            self._speed_worker = self.runner.run("Measuring training speed",
                                                 speed_job(self._base(), self.settings.device),
                                                 on_item=self._on_count_item, on_failed=self._speed_failed,
                                                 on_cancelled=lambda: None, background=True)
        except JobBusy:
            pass  # a job started meanwhile: again when the lane is free

    @Slot(bool)
    def _on_busy(self, busy: bool) -> None:
        if not busy and isValid(self) and self.speed is None:
            QTimer.singleShot(0, self, self._measure_speed)  # after the ended job's own callbacks

    def _speed_failed(self, message: str, _details: str) -> None:
        if isValid(self) and self.speed is None:
            self.estimate.setText(f"(this computer's speed could not be measured: {message})")

    @Slot(str, str)
    def _on_count_failed(self, message: str, _details: str) -> None:
        self.summary.setText(f"Could not read the pages: {message}")

    @Slot(object)
    def _on_count_item(self, item) -> None:
        if isinstance(item, VerifiedPages):
            self._on_counted(item)
        elif isinstance(item, tuple):
            self.speed = item
            self._update_estimate()

    def _on_counted(self, verified: VerifiedPages) -> None:
        self.verified = verified
        keys, counts = verified.keys, verified.by_key()
        problem = verified.problem(self.rule)
        previous = set(self.held_out())
        if self._user_ticked:
            ticked = previous & set(keys)
        else:
            ticked = set(pick_held_out(counts, self.rule).held_out) if not problem else set()
        self.held_list.blockSignals(True)
        self.held_list.clear()
        for key, n in zip(keys, verified.counts):
            item = QListWidgetItem(f"{Path(key).stem} ({n} lines)")
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if key in ticked else Qt.CheckState.Unchecked)
            self.held_list.addItem(item)
        self.held_list.blockSignals(False)
        self.summary.setText(problem or f"{verified.lines} lines on {len(verified.pages)} pages")
        self._update_buttons()
        self.pages_counted.emit()

    def _on_tick(self, *_args) -> None:
        self._user_ticked = True
        self._update_buttons()

    def held_out(self) -> list[str]:
        """The page keys ticked in "Check on pages"."""
        items = (self.held_list.item(i) for i in range(self.held_list.count()))
        return [it.data(Qt.ItemDataRole.UserRole) for it in items if it.checkState() == Qt.CheckState.Checked]

    def set_held_out(self, keys: list[str]) -> None:
        """Tick exactly these pages (what a click on each would do)."""
        for i in range(self.held_list.count()):
            item = self.held_list.item(i)
            checked = item.data(Qt.ItemDataRole.UserRole) in keys
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def _held_out_problem(self) -> str:
        held = self.held_out()
        if not held:
            return NONE_HELD
        if self.verified is not None and len(held) >= len(self.verified.pages):
            return ALL_HELD
        if self.verified is not None:
            from htrgui.core.training.holdout import check_held_out

            try:
                check_held_out(self.verified.by_key(), held, self.rule)
            except NotEnoughLines as exc:
                return str(exc)[:1].upper() + str(exc)[1:] + "."
        return ""

    def _update_estimate(self, *_args) -> None:
        """The plan for the ticked pages and the limit: lines, passes and the minutes it should take."""
        self.plan = None
        if self.verified is None or self.verified.problem(self.rule) or self._held_out_problem():
            self.estimate.setText("")
            return
        widths = dict(zip(self.verified.keys, self.verified.widths))
        speed, source = self.speed if self.speed else (None, "")
        try:
            self.plan = make_plan(self.verified.by_key(), widths, self.held_out(), speed, self.budget.value(),
                                  source, rule=self.rule)
        except NotEnoughLines as exc:
            self.estimate.setText(str(exc))
            return
        text = self.plan.describe()
        self.estimate.setText(text[:1].upper() + text[1:] if speed is not None
                              else text + " (measuring this computer's speed…)")

    def running(self) -> bool:
        return self.worker is not None and self.worker.is_pending()  # waiting for a background job to stop counts

    def _update_buttons(self, *_args) -> None:
        running = self.running()
        ready = self.verified is not None and not self.verified.problem(self.rule) and not self.base_problem
        problem = self._held_out_problem() if ready else ""
        if problem and not running:
            self.status.setText(problem)
            self._shown_problem = problem
        elif self.status.text() and self.status.text() == getattr(self, "_shown_problem", None):
            self.status.setText("")
        if not running:
            self._update_estimate()
        self.start_button.setEnabled(ready and not problem and not running and not self.runner.blocking)
        self.cancel_button.setEnabled(running)
        self.budget.setEnabled(not running)
        self.held_list.setEnabled(not running)
        self.remember.setEnabled(not running)

    # ---------------------------------------------------------------- running
    def start(self, max_minutes: float | None = None, config=None, max_steps: int | None = None,
              seed: int = 0) -> GeneratorWorker | None:
        """Start fine-tuning (the Start button). ``config`` overrides the core's recipe and ``max_steps`` stops
        it early (tests use tiny runs)."""
        if (self.verified is None or self.verified.problem(self.rule) or self.base_problem or self.running()
                or self._held_out_problem()):
            return None
        minutes = max_minutes if max_minutes is not None else float(self.budget.value())
        if self.remember.isChecked() != self.settings.remember_lines:
            self.settings.remember_lines = self.remember.isChecked()
            try:
                save_settings(self.settings)
            except (OSError, HtrError):
                pass  # the choice holds for this run; it is asked again next time
        source = str(self.project.folder) if self.remember.isChecked() else None
        speed, speed_source = self.speed if self.speed else (None, "")
        pages, base, device, held, rule = (self.verified.pages, self._base(), self.settings.device,
                                           self.held_out(), self.rule)

        def factory(token: CancelToken):
            return finetune_pages(pages, base, held_out=held, max_minutes=minutes, device=device, source=source,
                                  speed=speed, speed_source=speed_source, config=config, rule=rule, seed=seed,
                                  max_steps=max_steps, cancel=token)

        try:
            worker = self.runner.run(JOB_TITLE, factory, on_finished=self._finished,
                                     on_failed=self._failed, on_cancelled=self._cancelled)
        except JobBusy as exc:
            show_error(self, "Improve the model", str(exc))
            return None
        worker.progress.connect(self._on_progress)
        worker.item.connect(self._on_item)
        self.worker = worker
        self.result = None
        self.curve.clear()
        self.use_button.setEnabled(False)
        self.use_button.setText("Use the new model")
        self.status.setText("Starting…")
        self._update_buttons()
        return worker

    def cancel(self) -> None:
        if self.running():
            self.status.setText("Stopping after this step\u2026")
            self.worker.cancel()

    @Slot(object)
    def _on_item(self, item) -> None:
        if isinstance(item, FinetunePlan):
            self.plan = item
            self.estimate.setText(item.describe()[:1].upper() + item.describe()[1:])
        elif isinstance(item, FinetuneResult):
            self._show_result(item)

    @Slot(object)
    def _on_progress(self, p: Progress) -> None:
        info = p.info
        if info.get("initial_cer") is not None:
            self.curve.add_point("cer", 0, 100.0 * info["initial_cer"])
        if info.get("loss") is not None:
            self.curve.add_point("loss", p.done, info["loss"])
        if info.get("validated") and info.get("val_cer") is not None:
            self.curve.add_point("cer", p.done, 100.0 * info["val_cer"])
        if p.message != "training":
            self.status.setText(p.message[:1].upper() + p.message[1:] + "\u2026")
            return
        text = f"Step {p.done}" + (f" of {p.total}" if p.total else "")
        if info.get("eta_s") is not None:
            text += f" \u2014 about {format_duration(info['eta_s'])} left"
        self.status.setText(text)

    def _show_result(self, result) -> None:
        self.result = result
        # The best CER is one of the plotted validations: the message says it, the curve is not redrawn.
        self.status.setText(result.message[:1].upper() + result.message[1:])
        self.use_button.setEnabled(bool(result.improved and result.model_path))

    def _finished(self) -> None:
        if not isValid(self):  # the runner calls back even when the window was torn down meanwhile
            return
        self._update_buttons()
        if self.result is None:
            self.status.setText("Training ended without a result.")
        elif not self.isVisible():
            self.show()  # the offer must reach the user even if the dialog was closed meanwhile
        self.run_ended.emit(self.result)

    def _failed(self, message: str, details: str) -> None:
        if not isValid(self):  # the runner calls back even when the window was torn down meanwhile
            return
        self._update_buttons()
        self.status.setText(f"Training failed: {message}")
        show_error(self, "Improve the model", message, details)
        self.run_ended.emit(None)

    def _cancelled(self) -> None:
        if not isValid(self):  # the runner calls back even when the window was torn down meanwhile
            return
        self._update_buttons()
        self.status.setText("Cancelled: the model in use is unchanged.")
        self.run_ended.emit(None)

    # ---------------------------------------------------------------- result
    def use_new_model(self) -> None:
        """Switch recognition to the new model (offered only when it is better on the held-out pages)."""
        if self.result is None or not self.result.improved or not self.result.model_path:
            return
        self.settings.default_model = self.result.model_path
        try:
            save_settings(self.settings)
        except (OSError, HtrError) as exc:
            show_error(self, "Improve the model", f"The choice could not be saved: {exc}")
        self.use_button.setEnabled(False)
        self.use_button.setText("New model in use")
        self.model_changed.emit(self.result.model_path)
