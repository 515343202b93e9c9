"""Export the project, or the selected pages, to PAGE 2019, ALTO 4, plain text, searchable PDF and TEI P5,
with a progress bar.

The writing is the core's export task (:func:`htrgui.core.tasks.export.export_project`), run in a worker. A
page that cannot be exported (unreadable XML, image gone) is listed at the end and does not stop the others.
With several formats each gets its own sub-folder, since PAGE and ALTO files are both ``<page>.xml``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from htrgui.core.progress import Progress
from htrgui.core.tasks.export import FORMATS, export_project
from htrgui.qt.jobs import IO, JobRunner
from htrgui.qt.workers import GeneratorWorker

__all__ = ["FORMATS", "ExportDialog"]

class ExportDialog(QDialog):
    """Choose formats and a folder, export with progress; ``exported(folder)`` when done."""

    exported = Signal(str)

    def __init__(self, parent: QWidget | None, project, entries: list, runner: JobRunner | None = None) -> None:
        super().__init__(parent)
        #: the window's runner (its I/O lane); a dialog used on its own gets one of its own
        self.runner = runner or JobRunner()
        self.setWindowTitle("Export")
        self.project = project
        self.entries = list(entries)
        self.errors: list[str] = []
        self.worker: GeneratorWorker | None = None

        what = QLabel(f"{len(self.entries)} page(s) of {Path(project.folder).name}"
                      if len(self.entries) != len(project.entries) else
                      f"All {len(self.entries)} page(s) of {Path(project.folder).name}")
        formats = QGroupBox("Formats")
        row = QHBoxLayout(formats)
        self.checks: dict[str, QCheckBox] = {}
        for key, (label, _) in FORMATS.items():
            box = QCheckBox(label)
            box.setChecked(key == "page")
            box.toggled.connect(self._update)
            row.addWidget(box)
            self.checks[key] = box
        self.folder = QLineEdit(str(Path(project.folder) / "export"))
        self.folder.setToolTip("The folder the files are written to (created if needed)")
        self.folder.textChanged.connect(self._update)
        browse = QPushButton("Browse\u2026")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(QLabel("To folder"))
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        self.bar = QProgressBar()
        self.bar.setRange(0, max(1, len(self.entries)))
        self.bar.setValue(0)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.report = QPlainTextEdit()
        self.report.setReadOnly(True)
        self.report.setMaximumHeight(110)
        self.report.hide()
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.open_button = self.buttons.addButton("Show folder", QDialogButtonBox.ButtonRole.ActionRole)
        self.open_button.setToolTip("Open the export folder in the file manager")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self._show_folder)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self._cancel_or_close)
        layout = QVBoxLayout(self)
        for w in (what, formats):
            layout.addWidget(w)
        layout.addLayout(folder_row)
        for w in (self.bar, self.status, self.report, self.buttons):
            layout.addWidget(w)
        self._update()

    def formats(self) -> list[str]:
        return [key for key, box in self.checks.items() if box.isChecked()]

    def set_formats(self, formats: list[str]) -> None:
        for key, box in self.checks.items():
            box.setChecked(key in formats)

    @Slot()
    def _update(self) -> None:
        running = self.worker is not None and self.worker.is_pending()
        self.export_button.setEnabled(not running and bool(self.formats()) and bool(self.folder.text().strip()))

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def start(self) -> GeneratorWorker | None:
        """Start exporting with the current choices (the Export button)."""
        if self.worker is not None and self.worker.is_pending():
            return None
        outdir = Path(self.folder.text().strip()).expanduser()
        formats = self.formats()
        self.errors = []
        self.report.clear()
        self.report.hide()
        self.bar.setRange(0, max(1, len(self.entries) * len(formats)))
        self.bar.setValue(0)
        self.status.setText("Exporting\u2026")
        self.outdir = outdir
        project, entries = self.project, self.entries
        # the I/O lane: pages are read and written there, never beside another export or a page count
        worker = self.runner.run("Export", lambda token: export_project(project, entries, outdir, formats, token),
                                 lane=IO, on_progress=self._on_progress, on_finished=self._on_finished,
                                 on_cancelled=self._on_cancelled, on_failed=self._on_failed)
        self.worker = worker
        self.cancel_button.setText("Cancel")
        self._update()
        return worker

    @Slot(object)
    def _on_progress(self, p: Progress) -> None:
        self.bar.setValue(p.done)
        self.status.setText(p.message)
        if p.info.get("error"):
            self.errors.append(p.info["error"])

    @Slot()
    def _on_finished(self) -> None:
        self._done(self.outdir, "finished")

    @Slot()
    def _on_cancelled(self) -> None:
        self._done(self.outdir, "cancelled")

    @Slot(str, str)
    def _on_failed(self, message: str, _details: str) -> None:
        self._done(self.outdir, "failed", message)

    def _done(self, outdir: Path, outcome: str, message: str = "") -> None:
        ok = self.bar.value() - len(self.errors)
        if outcome == "finished":
            self.status.setText(f"Exported {ok} file(s) to {outdir}" +
                                (f"; {len(self.errors)} could not be exported:" if self.errors else "."))
            self.open_button.setEnabled(True)
            self.exported.emit(str(outdir))
        elif outcome == "cancelled":
            self.status.setText(f"Cancelled after {ok} file(s); the files written so far are complete.")
        else:
            self.status.setText(f"Export failed: {message}")
        if self.errors:
            self.report.setPlainText("\n".join(self.errors))
            self.report.show()
        self.cancel_button.setText("Close")
        self._update()

    def _show_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.outdir)))

    def _cancel_or_close(self) -> None:
        if self.worker is not None and self.worker.is_pending():
            self.worker.cancel()
        else:
            self.reject()

    def done(self, result: int) -> None:
        if self.worker is not None and self.worker.is_pending():
            self.worker.cancel()
        super().done(result)
