"""The model manager: every model with its card (base, data, CER); switch, import, export, delete.

Reading cards and checking an imported file both load model files (tens of MB), so they run in a worker and
the dialog fills in as they arrive. Shipped models can be used and exported but never deleted.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from htrgui.core.errors import HtrError
from htrgui.qt.dialogs.errors import show_error
from htrgui.qt.dialogs.modelinfo import ModelInfo, delete_model, export_model, import_model, list_models
from htrgui.qt.settings import Settings, save_settings
from htrgui.qt.jobs import IO, JobRunner
from htrgui.qt.workers import GeneratorWorker


def _icon(name: str):
    try:
        import qtawesome

        return qtawesome.icon(name)
    except Exception:  # noqa: BLE001 - decoration only
        return None


class ModelsDialog(QDialog):
    """Lists models; ``model_changed(path)`` is emitted when the default model is switched."""

    model_changed = Signal(str)
    #: Emitted when the list was (re)loaded: tests and callers wait for it.
    models_loaded = Signal()

    def __init__(self, parent: QWidget | None, settings: Settings, runner: JobRunner | None = None) -> None:
        super().__init__(parent)
        #: the window's runner (model cards and imports go through its I/O lane)
        self.runner = runner or JobRunner()
        self.setWindowTitle("Models")
        self.resize(760, 420)
        self.settings = settings
        self.models: list[ModelInfo] = []
        self._worker: GeneratorWorker | None = None

        self.list = QListWidget()
        self.list.setMinimumWidth(260)
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        self.list.currentRowChanged.connect(self._show_card)
        self.card = QFormLayout()
        card_box = QWidget()
        card_box.setLayout(self.card)
        self.card_text = QTextBrowser()
        self.card_text.setOpenExternalLinks(True)
        self.card_text.hide()
        self.status = QLabel("Reading the models\u2026")
        self.status.setWordWrap(True)

        self.use_button = self._button("Use for recognition", "mdi6.check-circle", self.use_selected,
                                       "Recognise pages with this model from now on")
        self.import_button = self._button("Import\u2026", "mdi6.import", self._ask_import,
                                          "Copy a model file (.pt) into your models after checking it loads")
        self.export_button = self._button("Export\u2026", "mdi6.export", self._ask_export,
                                          "Save a copy of this model, e.g. to share it")
        self.delete_button = self._button("Delete", "mdi6.delete", self._ask_delete,
                                          "Delete this model (models shipped with htrgui cannot be deleted)")
        buttons = QVBoxLayout()
        for b in (self.use_button, self.import_button, self.export_button, self.delete_button):
            buttons.addWidget(b)
        buttons.addStretch(1)

        right = QVBoxLayout()
        right.addWidget(card_box)
        right.addWidget(self.card_text, 1)
        right.addStretch(0)
        right.addWidget(self.status)
        body = QHBoxLayout()
        body.addWidget(self.list, 2)
        body.addLayout(right, 3)
        body.addLayout(buttons)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(body)
        layout.addWidget(close)
        self.reload()

    def _button(self, text: str, icon: str, slot, tip: str) -> QPushButton:
        button = QPushButton(text)
        qicon = _icon(icon)
        if qicon is not None:
            button.setIcon(qicon)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    # ---------------------------------------------------------------- listing
    def reload(self) -> None:
        """Re-read the models in a worker; ``models_loaded`` tells when done."""
        if self._worker is not None and self._worker.is_pending():
            return
        self.models = []
        self.list.clear()
        self.status.setText("Reading the models\u2026")
        self._worker = self.runner.run("Reading the models", list_models, lane=IO, on_item=self._add,
                                       on_finished=self._loaded, on_failed=self._on_list_failed)

    @Slot(object)
    def _add(self, info: ModelInfo) -> None:
        self.models.append(info)
        item = QListWidgetItem(self._label(info))
        item.setData(Qt.ItemDataRole.UserRole, str(info.path))
        if info.error:
            item.setForeground(Qt.GlobalColor.red)
        self.list.addItem(item)
        if self.list.currentRow() < 0 or self._is_default(info):
            self.list.setCurrentRow(self.list.count() - 1)

    def _label(self, info: ModelInfo) -> str:
        tags = []
        if self._is_default(info):
            tags.append("in use")
        if info.shipped:
            tags.append("shipped")
        cer = info.cer
        if cer is not None:
            tags.insert(0, f"CER {cer * 100:.1f} %")
        if info.error:
            tags.insert(0, "cannot be used")
        return info.name + ("\n    " + " \u00b7 ".join(tags) if tags else "")

    def _is_default(self, info: ModelInfo) -> bool:
        chosen = self.settings.default_model
        if not chosen:
            return False
        return chosen in (str(info.path), info.name, info.path.stem)

    @Slot(str, str)
    def _on_list_failed(self, message: str, _details: str) -> None:
        self._loaded(f"Could not list the models: {message}")

    def _loaded(self, message: str = "") -> None:
        self.status.setText(message or (f"{len(self.models)} model(s)" if self.models else
                                        "No models yet: import one, or fine-tune the shipped model."))
        self._update_buttons()
        self.models_loaded.emit()

    def selected(self) -> ModelInfo | None:
        row = self.list.currentRow()
        return self.models[row] if 0 <= row < len(self.models) else None

    def select_path(self, path: Path | str) -> bool:
        """Select the model stored at ``path``; False when it is not listed."""
        for row, info in enumerate(self.models):
            if info.path.resolve() == Path(path).resolve():
                self.list.setCurrentRow(row)
                return True
        return False

    @Slot(int)
    def _show_card(self, row: int) -> None:
        while self.card.rowCount():
            self.card.removeRow(0)
        info = self.selected()
        self.card_text.setVisible(bool(info is not None and info.card_text))
        if info is not None and info.card_text:
            self.card_text.setMarkdown(info.card_text)
        if info is not None:
            for label, value in info.summary():
                text = QLabel(value)
                text.setWordWrap(True)
                text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                self.card.addRow(f"<b>{label}</b>", text)
        self._update_buttons()

    def _update_buttons(self) -> None:
        info = self.selected()
        self.use_button.setEnabled(info is not None and not info.error and not self._is_default(info))
        self.export_button.setEnabled(info is not None)
        self.delete_button.setEnabled(info is not None and not info.shipped)

    # ---------------------------------------------------------------- actions
    def use_selected(self) -> None:
        """Make the selected model the default for recognition (saved at once)."""
        info = self.selected()
        if info is None or info.error:
            return
        self.settings.default_model = str(info.path)
        try:
            save_settings(self.settings)
        except (OSError, HtrError) as exc:
            show_error(self, "Models", f"The choice could not be saved: {exc}")
        for row, other in enumerate(self.models):
            self.list.item(row).setText(self._label(other))
        self._update_buttons()
        self.model_changed.emit(str(info.path))

    def import_file(self, path: Path | str) -> GeneratorWorker:
        """Check and copy ``path`` into the user's models in a worker; the list reloads when done."""
        self.status.setText(f"Checking {Path(path).name}\u2026")
        worker = self.runner.run("Importing a model", lambda token: iter([import_model(Path(path))]), lane=IO,
                                 on_item=self._imported, on_failed=self._import_failed)
        self._import_worker = worker
        return worker

    @Slot(str, str)
    def _import_failed(self, message: str, details: str) -> None:
        self._failed("Import", message, details)

    @Slot(object)
    def _imported(self, target: object) -> None:
        target = Path(target)
        self.status.setText(f"Imported as {target.name}")
        self.models_loaded.connect(self._select_imported, Qt.ConnectionType.SingleShotConnection)
        self._last_import = target
        self.reload()

    def _select_imported(self) -> None:
        self.select_path(self._last_import)

    def export_to(self, target: Path | str) -> Path | None:
        info = self.selected()
        if info is None:
            return None
        try:
            out = export_model(info, Path(target))
        except OSError as exc:
            self._failed("Export", f"{target}: {exc}", "")
            return None
        self.status.setText(f"Exported to {out}")
        return out

    def delete_selected(self) -> bool:
        """Delete the selected model (not a shipped one). If it was the default, the shipped one takes over."""
        info = self.selected()
        if info is None:
            return False
        try:
            delete_model(info)
        except (HtrError, OSError) as exc:
            self._failed("Delete", str(exc), "")
            return False
        if self._is_default(info):
            self.settings.default_model = ""
            save_settings(self.settings)
            self.model_changed.emit("")
        self.status.setText(f"Deleted {info.path.name}")
        self.reload()
        return True

    def _failed(self, what: str, message: str, details: str) -> None:
        self.status.setText(f"{what} failed: {message}")
        show_error(self, f"{what} failed", message, details)

    def _ask_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a model", "", "htrgui models (*.pt);;All files (*)")
        if path:
            self.import_file(path)

    def _ask_export(self) -> None:
        info = self.selected()
        if info is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export the model", info.path.name, "htrgui models (*.pt)")
        if path:
            self.export_to(path)

    def _ask_delete(self) -> None:
        info = self.selected()
        if info is None:
            return
        answer = QMessageBox.question(self, "Delete model",
                                      f"Delete the model \u201c{info.name}\u201d ({info.path.name})? "
                                      "This cannot be undone.")
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_selected()
