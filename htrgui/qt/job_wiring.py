"""Segmentation, recognition and fine-tuning as background jobs of the window.

Each job is a core generator run by the ``JobRunner`` in a worker thread. The worker gets copies of what it
needs (image paths, line geometry) and never touches the document; each page's result comes back to the GUI
thread as an item and is applied there as one undoable command, page by page, so a cancelled job keeps the
pages it finished. Re-recognition never overwrites lines a person verified, and says what it changed.
"""

from __future__ import annotations

import copy
import gc
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox

from htrgui.core.document import TextLine, TextRegion
from htrgui.core.errors import HtrError
from htrgui.core.progress import CancelToken, Progress
from htrgui.qt.commands import RecognitionReport, change_command, recognition_command


@dataclass
class PageTask:
    """What a worker needs to process one page: no reference to the live document."""

    index: int
    image_path: Path
    page_index: int
    lines: list[TextLine]


@dataclass
class SegmentResult:
    index: int
    regions: list[TextRegion]


@dataclass
class RecognitionResult:
    index: int
    #: line id -> (text, line confidence, character confidences)
    lines: dict[str, tuple[str, float | None, list[float] | None]]
    model_id: str


def segment_pages(tasks: list[PageTask], params=None):
    """A job factory: segment each page and yield a :class:`SegmentResult` per page."""

    def run(token: CancelToken):
        from htrgui.core.imaging import load_image
        from htrgui.core.segmentation import segment_page

        for n, task in enumerate(tasks):
            token.check()
            yield Progress(n, len(tasks), f"Segmenting {task.image_path.name}")
            gray = load_image(task.image_path, task.page_index, mode="L")
            yield SegmentResult(task.index, segment_page(gray, params))
        yield Progress(len(tasks), len(tasks), "Segmentation done")

    return run


def recognize_pages(tasks: list[PageTask], model: str, device: str = "auto", language_model: str = "none",
                    verified: tuple[list[str], list[Path]] = ([], [])):
    """A job factory: recognise each page's lines and yield a :class:`RecognitionResult` per page.

    ``language_model``: ``project``, ``model`` or ``none`` (settings.LANGUAGE_MODELS); ``verified``: the project's
    verified line texts of the pages in memory, and the PAGE files of the others (read in the worker)."""

    def run(token: CancelToken):
        from htrgui.core.imaging import load_image
        from htrgui.qt.recognition_adapter import load_recognizer, project_texts, recognize_lines

        yield Progress(0, len(tasks), "Loading the model")
        texts = project_texts(*verified) if language_model == "project" else None
        recognizer, model_id = load_recognizer(model, device, language_model, texts)
        total_lines = sum(len(t.lines) for t in tasks)
        done = 0
        for task in tasks:
            token.check()
            if not task.lines:
                continue
            gray = load_image(task.image_path, task.page_index, mode="L")
            results = {}
            for line_id, text, conf, char_confs in recognize_lines(recognizer, gray, task.lines, token):
                results[line_id] = (text, conf, char_confs)
                done += 1
                yield Progress(done, total_lines, f"Recognising {task.image_path.name}")
            yield RecognitionResult(task.index, results, model_id)
        yield Progress(total_lines, total_lines, "Recognition done")

    return run


class JobWiring(QObject):
    """The window's segment / recognise / fine-tune commands."""

    #: A page's recognition was applied: page index and what changed (tests and the status bar listen).
    recognition_applied = Signal(int, object)
    segmentation_applied = Signal(int)

    def __init__(self, window, session, runner, page_list, settings) -> None:
        super().__init__(window)
        self.window = window
        self.session = session
        self.runner = runner
        self.page_list = page_list
        self.settings = settings
        self.last_report: dict[int, RecognitionReport] = {}
        self._worker = None
        self._project = None
        self.changes_box = None
        #: The model learning while the user corrects (the window sets it): its version, when one is in use.
        self.learner = None
        a = window.actions
        a.segment_page.triggered.connect(lambda: self.segment(self._current()))
        a.segment_selected.triggered.connect(lambda: self.segment(self._selected()))
        a.segment_all.triggered.connect(lambda: self.segment(self._all(), only_empty=True))
        a.recognize_page.triggered.connect(lambda: self.recognize(self._current()))
        a.recognize_selected.triggered.connect(lambda: self.recognize(self._selected()))
        a.recognize_all.triggered.connect(lambda: self.recognize(self._all()))
        a.cancel_job.triggered.connect(runner.cancel)
        session.closed.connect(self._on_closed)
        # every job (fine-tuning from its dialog too) starts with the long-lived objects frozen
        runner.busy_changed.connect(lambda busy: self._settle_memory() if busy else None)

    def _on_closed(self) -> None:
        """A project closing stops the job working on it (its results would land on the wrong pages)."""
        if self._worker is not None and self._worker.is_running():
            self.runner.cancel()

    # ---------------------------------------------------------------- which pages
    def _current(self) -> list[int]:
        return [self.session.current] if self.session.current >= 0 else []

    def _selected(self) -> list[int]:
        return self.page_list.selected_indices() or self._current()

    def _all(self) -> list[int]:
        return list(range(len(self.session.entries)))

    def _task(self, index: int) -> PageTask:
        entry = self.session.entries[index]
        page = self.session.page(index)
        return PageTask(index, Path(entry.image_path), entry.page_index, copy.deepcopy(list(page.lines())))

    def _message(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 10000)

    # ---------------------------------------------------------------- segmentation
    def segment(self, indices: list[int], only_empty: bool = False, confirm: bool = True) -> bool:
        """Segment these pages. Pages that already have lines are skipped (``only_empty``) or, after asking,
        replaced (undoable). Returns False when nothing was started."""
        if not indices:
            return False
        with_lines = [i for i in indices if self.session.page(i).counts().lines]
        if with_lines and only_empty:
            indices = [i for i in indices if i not in with_lines]
        elif with_lines and confirm:
            answer = QMessageBox.question(
                self.window, "Segment again?",
                f"{len(with_lines)} page(s) already have lines. Segmenting again replaces them and their text "
                "(you can undo it). Continue?")
            if answer != QMessageBox.StandardButton.Yes:
                return False
        if not indices:
            self._message("Every page is segmented already.")
            return False
        tasks = [self._task(i) for i in indices]
        self._settle_memory()
        self._project = self.session.project
        self._worker = self.runner.run("Segmenting", segment_pages(tasks), on_item=self._apply_segmentation)
        return True

    @staticmethod
    def _settle_memory() -> None:
        """Move every object alive now (torch, the models, the loaded pages) out of the garbage collector's
        reach. Its full collections otherwise walk millions of torch objects and stop both threads for
        0.2-0.5 s in the middle of a job (measured), which freezes the window."""
        gc.freeze()

    def _stopped(self) -> bool:
        """True once the person cancelled, or opened or closed a project meanwhile: results still in flight are
        dropped, not applied (a page index of the old project means another page in a new one)."""
        if self._project is not self.session.project:
            return True
        return self._worker is not None and self._worker.token.cancelled

    def _apply_segmentation(self, result: object) -> None:
        if not isinstance(result, SegmentResult) or self._stopped():
            return

        def replace(page):
            page.regions = copy.deepcopy(result.regions)

        n = sum(len(r.lines) for r in result.regions)
        self.session.undo_stack.push(change_command(self.session, result.index, f"Segment ({n} lines)", replace))
        self._message(f"{self.session.name(result.index)}: {n} lines found")
        self.segmentation_applied.emit(result.index)

    # ---------------------------------------------------------------- recognition
    def model_name(self) -> str:
        """The model recognition uses: the version learnt for this project when one is in use, else the
        user's choice ("" for the shipped default)."""
        learnt = self.learner.model() if self.learner is not None else None
        return learnt or self.settings.default_model or ""

    def recognize(self, indices: list[int]) -> bool:
        """Recognise the lines of these pages with the default model (verified lines are left alone)."""
        tasks = [t for t in (self._task(i) for i in indices) if t.lines]
        if not tasks:
            self._message("Nothing to recognise: segment the page first.")
            return False
        self.last_report = {}
        self._settle_memory()
        self._project = self.session.project
        choice = getattr(self.settings, "language_model", "project")
        verified = self._verified() if choice == "project" else ([], [])
        self._worker = self.runner.run("Recognising", recognize_pages(tasks, self.model_name(), self.settings.device,
                                                                      choice, verified),
                        on_item=self._apply_recognition, on_finished=self._report_recognition,
                        on_cancelled=self._report_recognition)
        return True

    def _verified(self) -> tuple[list[str], list[Path]]:
        """What the project's language model learns from: verified lines of the pages in memory (as edited now)
        and the PAGE files of the pages not loaded."""
        from htrgui.core.recognition.lm import verified_texts

        texts: list[str] = []
        files: list[Path] = []
        project = self.session.project
        for i, entry in enumerate(self.session.entries):
            if self.session.loaded(i):
                texts += verified_texts([self.session.page(i)])
            elif project is not None:
                source = project.source_xml(entry)
                if source is not None:
                    files.append(source)
        return texts, files

    def _apply_recognition(self, result: object) -> None:
        if not isinstance(result, RecognitionResult) or self._stopped():
            return
        cmd = recognition_command(self.session, result.index, result.lines, result.model_id)
        self.session.undo_stack.push(cmd)
        self.last_report[result.index] = cmd.result
        self.recognition_applied.emit(result.index, cmd.result)

    def _report_recognition(self) -> None:
        reports = list(self.last_report.values())
        if not reports or self._project is not self.session.project:
            return
        changed = sum(len(r.changed) for r in reports)
        kept = sum(r.kept_verified for r in reports)
        same = sum(r.unchanged for r in reports)
        summary = (f"Recognised {len(reports)} page(s): {changed} line(s) changed, {same} unchanged, "
                   f"{kept} verified line(s) kept as they were")
        self._message(summary)
        # lines that already had model text and now read differently: say exactly what changed (undoable)
        rewritten = [(self.session.name(i), old, new) for i, r in self.last_report.items()
                     for _lid, old, new in r.changed if old]
        if rewritten:
            box = QMessageBox(QMessageBox.Icon.Information, "Recognition changed lines",
                              f"{summary}.\n\n{len(rewritten)} line(s) that already had text now read "
                              "differently (Edit ▸ Undo puts them back).", QMessageBox.StandardButton.Ok,
                              self.window)
            box.setDetailedText("\n".join(f"{page}: {old!r} → {new!r}" for page, old, new in rewritten[:500]))
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()  # not modal for the app: the person can keep working
            self.changes_box = box

    # ---------------------------------------------------------------- fine-tuning
    def finetune(self) -> None:
        from htrgui.qt.dialogs.finetune import FineTuneDialog  # imports torch: only when asked for

        self.session.save_dirty()  # the dialog reads verified lines from the project's PAGE files
        try:
            dialog = FineTuneDialog(self.window, self.session.project, self.settings, self.runner,
                                    session=self.session)
        except HtrError as exc:
            from htrgui.qt.dialogs.errors import show_error

            show_error(self.window, "Improve the model", str(exc))
            return
        if hasattr(dialog, "model_changed"):
            dialog.model_changed.connect(self._model_changed)
        self.finetune_dialog = dialog
        dialog.show()

    def _model_changed(self, name: str) -> None:
        self.settings.default_model = name
        self._message(f"Now recognising with {name}")
