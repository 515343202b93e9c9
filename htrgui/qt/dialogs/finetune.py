""""Improve the model": fine-tune the recognition model on the lines the user verified, with a live curve.

The work is the core's :func:`htrgui.core.training.finetune.finetune`, run as the window's one model job
through the :class:`JobRunner` (the status bar shows it too, and the dialog may be closed meanwhile). Some
pages are held out; the new model is offered only when it reads those pages better than the current one,
so a fine-tune can never make recognition worse behind the user's back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from PySide6.QtCore import Qt, Signal, Slot
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
from htrgui.qt.dialogs.errors import show_error
from htrgui.qt.jobs import JobBusy, JobRunner, format_duration
from htrgui.qt.settings import Settings, save_settings
from htrgui.qt.widgets.curve import CurveWidget
from htrgui.qt.workers import GeneratorWorker

JOB_TITLE = "Improving the model"
NONE_HELD = "Tick at least one page to check the new model on."
ALL_HELD = "Leave at least one page unticked: the model learns from those."


@dataclass
class VerifiedPages:
    """The project's pages that have verified lines, read from their PAGE files."""

    pages: list  # list[Page]
    counts: list[int]  # verified lines with text, per page

    @property
    def lines(self) -> int:
        return sum(self.counts)

    @property
    def enough(self) -> bool:
        """Fine-tuning holds whole pages out, so it needs verified lines on two pages at least."""
        return len(self.pages) >= 2


def verified_pages(project, token: CancelToken) -> Iterator[Progress | VerifiedPages]:
    """Read the saved pages and keep those with verified, non-empty lines (a worker generator)."""
    entries = [e for e in project.entries if e.xml_path.is_file()]
    pages, counts = [], []
    for i, entry in enumerate(entries):
        token.check()
        yield Progress(i, len(entries), entry.name)
        try:
            page = project.load_page(entry)
        except HtrError:
            continue  # an unreadable page is the page list's business; it just cannot teach anything here
        n = sum(1 for line in page.lines() if line.status == "verified" and line.text.strip())
        if n:
            pages.append(page)
            counts.append(n)
    yield VerifiedPages(pages, counts)


def finetune_job(pages: list, base: str, device: str, budget_s: float, config=None,
                 held_out: list[str] | None = None, source: str | None = None):
    """The job's factory: crop the verified lines, then fine-tune (yields the core's Progress).

    ``held_out``: page keys (:func:`page_key`) to check the new model on; ``source``: the project folder,
    so that the lines of a successful fine-tune are replayed when another project is learnt."""

    def run(token: CancelToken):
        from htrgui.core.training.finetune import finetune, lines_from_pages
        from htrgui.core.training.replay import handwriting_fonts

        yield Progress(0, None, "cutting the verified lines out of the scans")
        lines = lines_from_pages(pages)
        token.check()
        fonts = handwriting_fonts()  # looked for once: replay lines and new letters are rendered in them
        yield from finetune(base, lines, held_out=held_out or None, source=source, time_budget_s=budget_s,
                            device=device, config=config, fonts=fonts or None, cancel=token)

    return run


def base_model_problem(name: str) -> str:
    """Why the model to start from cannot be used ("" when it can): checked before anything runs."""
    from htrgui.core.errors import ModelError

    try:
        from htrgui.core.recognition.library import resolve_model
    except ImportError as exc:
        return f"the model library is not available ({exc})"
    try:
        resolve_model(name or None)
    except ModelError as exc:
        return f"No model to start from: {exc}"
    return ""


class FineTuneDialog(QDialog):
    """Collects verified lines, fine-tunes, plots loss and held-out CER, offers the better model.

    Signals: ``model_changed(path)`` when the user switches to the new model; ``run_ended(result_or_None)``.
    """

    model_changed = Signal(str)
    run_ended = Signal(object)
    pages_counted = Signal()

    def __init__(self, parent: QWidget | None, project, settings: Settings, runner: JobRunner) -> None:
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

        intro = QLabel("The model learns from the lines you verified. Some pages are held out to check the "
                       "result: the new model is offered only if it reads them better.")
        intro.setWordWrap(True)
        self.summary = QLabel("Counting verified lines\u2026")
        self.summary.setWordWrap(True)
        self.base_problem = base_model_problem(settings.default_model)
        base = settings.default_model or "the shipped default model"
        self.base_label = QLabel(self.base_problem or (Path(base).stem if settings.default_model else base))
        self.base_label.setWordWrap(True)
        self.budget = QSpinBox()
        self.budget.setRange(1, 24 * 60)
        self.budget.setValue(15)
        self.budget.setSuffix(" min")
        self.budget.setToolTip("Training stops after this time, or earlier when the held-out pages stop improving")
        self.held_list = QListWidget()
        self.held_list.setMaximumHeight(110)
        self.held_list.setToolTip("Ticked pages are not trained on: the new model is checked on them and offered "
                                  "only if it reads them better. Tick pages typical of what is still to come.")
        self.held_list.itemChanged.connect(self._update_buttons)
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
        self._count()

    # ---------------------------------------------------------------- verified lines
    def _count(self) -> None:
        worker = GeneratorWorker(lambda token: verified_pages(self.project, token))
        worker.item.connect(self._on_counted)
        worker.failed.connect(self._on_count_failed)
        self._count_worker = worker
        worker.start()

    @Slot(str, str)
    def _on_count_failed(self, message: str, _details: str) -> None:
        self.summary.setText(f"Could not read the pages: {message}")

    @Slot(object)
    def _on_counted(self, verified: VerifiedPages) -> None:
        from htrgui.core.training.finetune import page_key, pick_held_out

        self.verified = verified
        keys = [page_key(p) for p in verified.pages]
        default = set(pick_held_out(keys)) if verified.enough else set()
        self.held_list.blockSignals(True)
        self.held_list.clear()
        for key, n in zip(keys, verified.counts):
            item = QListWidgetItem(f"{Path(key).stem} ({n} lines)")
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if key in default else Qt.CheckState.Unchecked)
            self.held_list.addItem(item)
        self.held_list.blockSignals(False)
        if verified.enough:
            self.summary.setText(f"{verified.lines} lines on {len(verified.pages)} pages")
        else:
            self.summary.setText(f"{verified.lines} lines on {len(verified.pages)} page(s): verify lines on at "
                                 "least two pages first (one is held out to check the new model)")
        self._update_buttons()
        self.pages_counted.emit()

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
        return ""

    def running(self) -> bool:
        return self.worker is not None and self.worker.is_running()

    def _update_buttons(self, *_args) -> None:
        running = self.running()
        ready = self.verified is not None and self.verified.enough and not self.base_problem
        problem = self._held_out_problem() if ready else ""
        if problem and not running:
            self.status.setText(problem)
        elif self.status.text() in (NONE_HELD, ALL_HELD):
            self.status.setText("")
        self.start_button.setEnabled(ready and not problem and not running and not self.runner.busy)
        self.cancel_button.setEnabled(running)
        self.budget.setEnabled(not running)
        self.held_list.setEnabled(not running)
        self.remember.setEnabled(not running)

    # ---------------------------------------------------------------- running
    def start(self, time_budget_s: float | None = None, config=None) -> GeneratorWorker | None:
        """Start fine-tuning (the Start button). ``config`` overrides the core's recipe (tests use tiny runs)."""
        if (self.verified is None or not self.verified.enough or self.base_problem or self.running()
                or self._held_out_problem()):
            return None
        budget = time_budget_s if time_budget_s is not None else 60.0 * self.budget.value()
        base = self.settings.default_model or "default"
        if self.remember.isChecked() != self.settings.remember_lines:
            self.settings.remember_lines = self.remember.isChecked()
            try:
                save_settings(self.settings)
            except (OSError, HtrError):
                pass  # the choice holds for this run; it is asked again next time
        source = str(self.project.folder) if self.remember.isChecked() else None
        factory = finetune_job(self.verified.pages, base, self.settings.device, budget, config,
                               held_out=self.held_out(), source=source)
        try:
            worker = self.runner.run(JOB_TITLE, factory, on_finished=self._finished,
                                     on_failed=self._failed, on_cancelled=self._cancelled)
        except JobBusy as exc:
            show_error(self, "Improve the model", str(exc))
            return None
        worker.progress.connect(self._on_progress)
        self.worker = worker
        self.result = None
        self.curve.clear()
        self.use_button.setEnabled(False)
        self.use_button.setText("Use the new model")
        self.status.setText("Starting\u2026")
        self._update_buttons()
        return worker

    def cancel(self) -> None:
        if self.running():
            self.status.setText("Stopping after this step\u2026")
            self.worker.cancel()

    @Slot(object)
    def _on_progress(self, p: Progress) -> None:
        info = p.info
        if "result" in info:
            self._show_result(info["result"])
            return
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
