"""Segmentation, recognition and fine-tuning as background jobs of the window.

Each job is a core task (``core/tasks``) run by the ``JobRunner`` in a worker thread. The worker gets copies of
what it needs (image paths, the lines of pages already loaded; pages not loaded are read in the job) and never
touches the document; each page's result comes back to the GUI thread as an item and is applied there as one
undoable command, page by page, so a cancelled job keeps the pages it finished. Re-recognition never
overwrites lines a person verified (``editing.open_to_model``), and says what it changed.
"""

from __future__ import annotations

import copy
from functools import partial

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox

from htrgui.core.errors import HtrError
from htrgui.core.tasks.pages import PageRead, PageTask, read_pages
from htrgui.core.tasks.recognize import (ModelCache, RecognitionResult, RecognizerSpec, VerifiedTexts,
                                         load_recognizer, recognize_pages)
from htrgui.core.tasks.segment import Segmented, segment_pages
from htrgui.qt.commands import RecognitionReport, change_command, recognition_command
from htrgui.qt.jobs import IO, JobBusy, release_memory, settle_memory


def _read_saved(session, project, entry):
    """In the job: a page as saved, once the session's writes in flight have landed."""
    session.wait_for_writes()
    return project.load_page(entry)


def failing_at_end(job):
    """Pass a page job's items on; pages it could not read (items with ``error``) make it fail at the end, so
    the window reports them as a failed job (one dialog) while the other pages were done and applied."""
    problems = []
    for item in job:
        if getattr(item, "error", None):
            problems.append(f"{getattr(item, 'name', '') or getattr(item, 'stem', '')}: {item.error}")
        yield item
    if problems:
        raise HtrError(f"{len(problems)} page(s) could not be read: " + "; ".join(problems[:3])
                       + (" ..." if len(problems) > 3 else ""))


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
        #: the recogniser kept between jobs (one model job at a time uses it)
        self.models = ModelCache()
        #: the verified lines of the project's saved pages, read by recognition jobs (a file is read again
        #: only when saved since)
        self.verified_files = VerifiedTexts()
        self._segmented = 0
        self._worker = None
        self._project = None
        self._spec = None  # the last recognition's RecognizerSpec: the job notes there what it left out
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
        self.verified_files = VerifiedTexts()  # a running job keeps the one it has
        if self._worker is not None and self._worker.is_running():
            self.runner.cancel()
        release_memory()  # the closed project's pages were frozen as they were read: now they can go

    # ---------------------------------------------------------------- which pages
    def _current(self) -> list[int]:
        return [self.session.current] if self.session.current >= 0 else []

    def _selected(self) -> list[int]:
        return self.page_list.selected_indices() or self._current()

    def _all(self) -> list[int]:
        return list(range(len(self.session.entries)))

    def _task(self, index: int, dirty: set[int] | None = None) -> PageTask:
        """The page as a job gets it: a copy of its lines when it has changes not saved yet, else read from its
        file in the job (after the autosaves in flight). Reading a project's PAGE files here would freeze the
        window (about 34 ms a page), and so would copying hundreds of loaded pages (4 ms a page)."""
        entry = self.session.entries[index]
        name = self.session.name(index)
        if index in (self.session.dirty if dirty is None else dirty):
            lines = copy.deepcopy(list(self.session.page(index).lines()))
            return PageTask(index, entry.image_path, entry.page_index, lines=lines, name=name)
        return PageTask(index, entry.image_path, entry.page_index, name=name,
                        load=partial(_read_saved, self.session, self.session.project, entry))

    def tasks(self, indices) -> list[PageTask]:
        """What a job gets for these pages (see ``_task``): copies of the pages with unsaved changes, the others
        read in the job."""
        dirty = self.session.dirty
        return [self._task(i, dirty) for i in indices]

    def keep(self, index: int, stored) -> None:
        """A page the job read from its file becomes the session's (unless the window loaded it meanwhile)."""
        if stored is not None and not self.session.loaded(index):
            self.session.adopt(index, stored)

    def _message(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 10000)

    # ---------------------------------------------------------------- segmentation
    def segment(self, indices: list[int], only_empty: bool = False, confirm: bool = True) -> bool:
        """Segment these pages. Pages that already have lines are skipped (``only_empty``: decided in the job
        for pages not loaded) or, after asking, replaced (undoable). Returns False when nothing was started (a
        question about pages read first in the I/O lane counts as started)."""
        if not indices:
            return False
        if only_empty:
            indices = [i for i in indices if not (self.session.loaded(i) and self.session.page(i).counts().lines)]
        elif confirm:
            unread = [i for i in indices if not self.session.loaded(i)]
            if unread:
                # whether they have lines is in their files: read in the I/O lane (about 34 ms a page), then ask
                self._read_pages(unread, partial(self._confirm_segment, list(indices)))
                return True
            return self._confirm_segment(indices)
        return self._start_segment(indices, only_empty)

    def _read_pages(self, indices: list[int], then) -> None:
        """Read pages not in memory in the runner's I/O lane, keep them (``Session.adopt``), then call ``then()``
        on the GUI thread (not when another project was opened meanwhile)."""
        project, entries = self.session.project, self.session.entries
        loads = [(i, partial(project.load_page, entries[i])) for i in indices]

        def keep(item) -> None:
            if isinstance(item, PageRead) and item.page is not None and self.session.project is project:
                self.session.adopt(item.index, item.page)

        def done() -> None:
            if self.session.project is project:
                then()

        self.runner.run("Reading pages", lambda token: read_pages(loads, token), lane=IO, on_item=keep,
                        on_finished=done)

    def _confirm_segment(self, indices: list[int]) -> bool:
        """Ask before replacing lines (pages not in memory here: their file could not be read, the job says)."""
        with_lines = [i for i in indices if self.session.loaded(i) and self.session.page(i).counts().lines]
        if with_lines:
            answer = QMessageBox.question(
                self.window, "Segment again?",
                f"{len(with_lines)} page(s) already have lines. Segmenting again replaces them and their text "
                "(you can undo it). Continue?")
            if answer != QMessageBox.StandardButton.Yes:
                return False
        return self._start_segment(indices, False)

    def _start_segment(self, indices: list[int], only_empty: bool) -> bool:
        if not indices:
            self._message("Every page is segmented already.")
            return False
        dirty = self.session.dirty
        tasks = [self._task(i, dirty) for i in indices]
        self._settle_memory()
        self._project = self.session.project
        self._segmented = 0
        factory = lambda token: failing_at_end(segment_pages(tasks, None, token, only_empty=only_empty))  # noqa: E731
        try:
            self._worker = self.runner.run("Segmenting", factory, on_item=self._apply_segmentation,
                                           on_finished=self._report_segmentation)
        except JobBusy as exc:  # asked after reading pages: a model job started meanwhile
            self._message(str(exc))
            return False
        return True

    @staticmethod
    def _settle_memory() -> None:
        settle_memory()  # before the job: no full collection walks torch and the pages in the middle of it

    def _stopped(self) -> bool:
        """True once the person cancelled, or opened or closed a project meanwhile: results still in flight are
        dropped, not applied (a page index of the old project means another page in a new one)."""
        if self._project is not self.session.project:
            return True
        return self._worker is not None and self._worker.token.cancelled

    def _apply_segmentation(self, result: object) -> None:
        if not isinstance(result, Segmented) or self._stopped():
            return
        self.keep(result.index, result.stored)
        if result.error or result.skipped or result.page is None:
            return
        regions = result.page.regions

        def replace(page):
            page.regions = copy.deepcopy(regions)

        n = sum(len(r.lines) for r in regions)
        self.session.undo_stack.push(change_command(self.session, result.index, f"Segment ({n} lines)", replace))
        self._segmented += 1
        self._message(f"{self.session.name(result.index)}: {n} lines found")
        self.segmentation_applied.emit(result.index)

    def _report_segmentation(self) -> None:
        if self._project is self.session.project and not self._segmented:
            self._message("Every page is segmented already.")

    # ---------------------------------------------------------------- recognition
    def model_name(self) -> str:
        """The model recognition uses: the version learnt for this project when one is in use, else the
        user's choice ("" for the shipped default)."""
        learnt = self.learner.model() if self.learner is not None else None
        return learnt or self.settings.default_model or ""

    def recognize(self, indices: list[int]) -> bool:
        """Recognise the lines of these pages with the default model (verified lines are left alone). Pages not
        loaded are read in the job."""
        # pages in memory without lines are left out here (cheap); the others are read in the job
        dirty = self.session.dirty
        tasks = [self._task(i, dirty) for i in indices
                 if not (self.session.loaded(i) and not self.session.page(i).counts().lines)]
        if not tasks:
            self._message("Nothing to recognise: segment the page first.")
            return False
        self.last_report = {}
        self._settle_memory()
        self._project = self.session.project
        choice = getattr(self.settings, "language_model", "project")
        spec = RecognizerSpec(self.model_name(), self.settings.device, choice,
                              extra_text=getattr(self.settings, "language_text", ""))
        self._spec = spec
        if choice == "project":
            spec.texts, spec.files = self._verified()
            spec.known = self.verified_files
        models = self.models
        factory = lambda token: failing_at_end(recognize_pages(tasks, lambda: load_recognizer(spec, models),  # noqa: E731
                                                               token))
        self._worker = self.runner.run("Recognising", factory, on_item=self._apply_recognition,
                                       on_finished=self._report_recognition, on_cancelled=self._report_recognition)
        return True

    def _verified(self) -> tuple[list[str], object]:
        """What the project's language model learns from: the verified lines of the pages with changes not saved
        yet (copied here: a few pages), and a function listing the PAGE files of all the others, called in the
        job after the autosaves in flight have landed (reading them, or even walking hundreds of pages in
        memory, at every recognition would stall the window; ``self.verified_files`` keeps what was read)."""
        from htrgui.core.recognition.lm import verified_texts

        dirty = self.session.dirty
        texts = verified_texts([self.session.page(i) for i in sorted(dirty)])
        session, project = self.session, self.session.project
        others = [entry for i, entry in enumerate(self.session.entries) if i not in dirty]

        def files() -> list:
            if project is None:
                return []
            session.wait_for_writes()
            return [xml for xml in map(project.source_xml, others) if xml is not None]

        return texts, files

    def _apply_recognition(self, result: object) -> None:
        if not isinstance(result, RecognitionResult) or self._stopped():
            return
        self.keep(result.index, result.stored)
        if result.error or not result.lines:
            return
        cmd = recognition_command(self.session, result.index, result.lines, result.model_id)
        self.session.undo_stack.push(cmd)
        self.last_report[result.index] = cmd.result
        self.recognition_applied.emit(result.index, cmd.result)

    def _report_recognition(self) -> None:
        reports = list(self.last_report.values())
        if self._project is not self.session.project:
            return
        if not reports:
            if self._worker is not None and not self._worker.token.cancelled:
                self._message("Nothing to recognise: segment the pages first.")
            return
        changed = sum(len(r.changed) for r in reports)
        kept = sum(r.kept_verified for r in reports)
        same = sum(r.unchanged for r in reports)
        summary = (f"Recognised {len(reports)} page(s): {changed} line(s) changed, {same} unchanged, "
                   f"{kept} verified line(s) kept as they were")
        if self._spec is not None and self._spec.problem:
            summary += f". {self._spec.problem}"
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
            # it starts from the model recognition uses: a version learnt while correcting, when one is in use
            dialog = FineTuneDialog(self.window, self.session.project, self.settings, self.runner,
                                    session=self.session, base=self.model_name() or None)
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
        if self.learner is not None:
            self.learner.rebase(name)  # else a version learnt earlier would stay in use over the new model
        self._message(f"Now recognising with {name}")
