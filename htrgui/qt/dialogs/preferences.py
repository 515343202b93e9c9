"""Preferences: device (and what it means for speed), default model and language model (a word list of the
documents' language), editor font, special characters, theme.

The dialog edits the :class:`Settings` object it was given in place, saves it when accepted and emits
``settings_changed`` so the window re-applies fonts, theme and the character panel. What the machine has
(GPU or not) is found by the doctor in a worker: importing torch and asking CUDA takes a second or two,
and the dialog must open at once.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFontComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from htrgui.core.errors import HtrError
from htrgui.core.progress import Progress
from htrgui.core.recognition.lm import BUNDLED_WORD_LISTS
from htrgui.core.tasks.check import machine_check
from htrgui.qt.dialogs.errors import show_error
from htrgui.qt.settings import DEVICES, LANGUAGE_MODELS, THEMES, Settings, save_settings
from htrgui.qt.jobs import IO, MODEL, JobBusy, JobRunner
from htrgui.qt.workers import GeneratorWorker

FILE = "file"  # the word list choice "a file of yours" (the path is in the line beside it)
DEVICE_LABELS = {"auto": "Automatic (GPU when there is one)", "cpu": "CPU only", "cuda": "NVIDIA GPU (CUDA)"}
THEME_LABELS = {"system": "Follow the system", "light": "Light", "dark": "Dark"}
LANGUAGE_MODEL_LABELS = {"project": "Shipped, and learn from this project's verified lines",
                         "model": "Shipped language model only", "none": "None (greedy decoding)"}


def parse_characters(text: str) -> list[str]:
    """Characters typed space-separated (a combining mark may stand alone); duplicates dropped, order kept."""
    out: list[str] = []
    for token in text.split():
        if token not in out:
            out.append(token)
    return out


class PreferencesDialog(QDialog):
    """Edits ``settings``; on OK saves them and emits ``settings_changed``."""

    settings_changed = Signal()

    def __init__(self, parent: QWidget | None, settings: Settings, runner: JobRunner | None = None) -> None:
        super().__init__(parent)
        #: the window's runner; a dialog used on its own gets one of its own
        self.runner = runner or JobRunner()
        self.setWindowTitle("Preferences")
        self.setMinimumWidth(620)
        self.settings = settings
        self.report = None
        self._worker: GeneratorWorker | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(self._build_device())
        layout.addWidget(self._build_model())
        layout.addWidget(self._build_editor())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.buttons = buttons
        self.load_from(settings)
        self._check_machine(measure=False)

    # ---------------------------------------------------------------- building
    def _build_device(self) -> QGroupBox:
        box = QGroupBox("Device")
        column = QVBoxLayout(box)
        form = QFormLayout()
        self.device = QComboBox()
        for key in DEVICES:
            self.device.addItem(DEVICE_LABELS[key], key)
        self.device.setToolTip("Where recognition and fine-tuning run. A GPU is many times faster.")
        form.addRow("Run models on", self.device)
        column.addLayout(form)
        # In the box's own column (not a form row) so that the wrapped text gets the height it needs.
        self.machine = QLabel("Looking for a GPU\u2026")
        self.machine.setWordWrap(True)
        self.machine.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column.addWidget(self.machine)
        self.measure_button = QPushButton("Measure speed")
        self.measure_button.setToolTip("Time recognition and a fine-tuning step on this machine (a few seconds)")
        self.measure_button.clicked.connect(lambda: self._check_machine(measure=True))
        row = QHBoxLayout()
        row.addWidget(self.measure_button)
        row.addStretch(1)
        column.addLayout(row)
        return box

    def _build_model(self) -> QGroupBox:
        box = QGroupBox("Recognition model")
        column = QVBoxLayout(box)
        row = QHBoxLayout()
        column.addLayout(row)
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.setToolTip("The model used to recognise pages; empty uses the model shipped with htrgui")
        self.model.setMinimumContentsLength(28)
        row.addWidget(self.model, 1)
        browse = QPushButton("Browse\u2026")
        browse.setToolTip("Choose a model file (.pt)")
        browse.clicked.connect(self._browse_model)
        row.addWidget(browse)
        lm_row = QHBoxLayout()
        lm_row.addWidget(QLabel("Language model"))
        self.language_model = QComboBox()
        for key in LANGUAGE_MODELS:
            self.language_model.addItem(LANGUAGE_MODEL_LABELS[key], key)
        self.language_model.setToolTip(
            "Recognition reads each line with a model of the language: the one shipped with htrgui, and (by "
            "default) what your verified lines of this project taught it, rebuilt each time you recognise. "
            "Without one, each character is read on its own (faster, more errors).")
        lm_row.addWidget(self.language_model, 1)
        column.addLayout(lm_row)
        text_row = QHBoxLayout()
        text_row.addWidget(QLabel("Word list"))
        self.word_list = QComboBox()
        self.word_list.addItem("None", "")
        for name in BUNDLED_WORD_LISTS:
            self.word_list.addItem(f"{name.capitalize()} (shipped with htrgui)", name)
        self.word_list.addItem("A file of yours", FILE)
        self.word_list.setToolTip(
            "A word list or text in the language of your documents, mixed into the language model. The shipped "
            "one knows mostly French: for English documents the English word list takes up to a tenth of the "
            "errors away. Read once per session (a few seconds).")
        text_row.addWidget(self.word_list)
        self.language_text = QLineEdit()
        self.language_text.setClearButtonEnabled(True)
        self.language_text.setPlaceholderText("A word list (one word a line) or any UTF-8 text")
        self.language_text.setToolTip("A word list (one word a line) or any plain text (UTF-8) in the language of "
                                      "your documents")
        text_row.addWidget(self.language_text, 1)
        self.browse_text = QPushButton("Browse\u2026")
        self.browse_text.setToolTip("Choose a word list or text file")
        self.browse_text.clicked.connect(self._browse_text)
        text_row.addWidget(self.browse_text)
        column.addLayout(text_row)
        self.word_list.currentIndexChanged.connect(self._word_list_changed)
        # typing or pasting a path chooses "a file of yours"
        self.language_text.textEdited.connect(lambda text: text and self._choose_word_list(FILE))
        self._word_list_changed()
        self.continuous = QCheckBox("Learn while I correct: fine-tune in the background as I verify lines")
        self.continuous.setToolTip(
            "Every 25 or so newly verified lines, the model is fine-tuned for a few minutes in the background "
            "and the new version kept only if it reads verified lines it never learnt from better. It stops "
            "while you recognise or export. On a CPU it takes one core for minutes at a time. Model \u25b8 "
            "Roll back the model puts an earlier version back.")
        column.addWidget(self.continuous)
        return box

    def _build_editor(self) -> QGroupBox:
        box = QGroupBox("Transcription editor")
        form = QFormLayout(box)
        self.font_family = QFontComboBox()
        self.font_family.setToolTip("A font with the characters of your documents (e.g. Junicode for MUFI)")
        self.font_size = QSpinBox()
        self.font_size.setRange(6, 72)
        self.font_size.setSuffix(" pt")
        fonts = QHBoxLayout()
        fonts.addWidget(self.font_family, 1)
        fonts.addWidget(self.font_size)
        form.addRow("Font", fonts)
        self.characters = QLineEdit()
        self.characters.setToolTip("The characters of the special-character panel, separated by spaces. "
                                   "The first ten get Alt+1 \u2026 Alt+0.")
        form.addRow("Special characters", self.characters)
        self.preview = QLabel()
        form.addRow("", self.preview)
        self.characters.textChanged.connect(self._update_preview)
        self.font_family.currentFontChanged.connect(self._update_preview)
        self.font_size.valueChanged.connect(self._update_preview)
        self.theme = QComboBox()
        for key in THEMES:
            self.theme.addItem(THEME_LABELS[key], key)
        form.addRow("Look", self.theme)
        return box

    # ---------------------------------------------------------------- settings <-> widgets
    def load_from(self, s: Settings) -> None:
        self.device.setCurrentIndex(max(0, self.device.findData(s.device)))
        self.theme.setCurrentIndex(max(0, self.theme.findData(s.theme)))
        self.language_model.setCurrentIndex(max(0, self.language_model.findData(s.language_model)))
        own = s.language_text not in BUNDLED_WORD_LISTS
        self.language_text.setText(s.language_text if own else "")
        self._choose_word_list(FILE if own and s.language_text else s.language_text)
        self.continuous.setChecked(s.continuous_learning)
        self._fill_models(s.default_model)
        if s.font_family:
            self.font_family.setCurrentFont(QFont(s.font_family))
        self.font_size.setValue(int(s.font_size))
        self.characters.setText(" ".join(s.special_characters))
        self._update_preview()

    def _fill_models(self, current: str) -> None:
        from htrgui.qt.dialogs.modelinfo import model_files

        self.model.clear()
        self.model.addItem("Shipped default", "")
        for path, shipped in model_files():
            self.model.addItem(f"{path.stem}{' (shipped)' if shipped else ''}", str(path))
        index = self.model.findData(current)
        if index < 0 and current:
            self.model.addItem(current, current)
            index = self.model.count() - 1
        self.model.setCurrentIndex(max(0, index))

    def chosen_model(self) -> str:
        """The model chosen: the item's path, or what was typed (a name or a path)."""
        text = self.model.currentText().strip()
        index = self.model.currentIndex()
        if index >= 0 and self.model.itemText(index) == text:
            return str(self.model.itemData(index) or "")
        return text

    def store_into(self, s: Settings) -> None:
        s.device = self.device.currentData()
        s.theme = self.theme.currentData()
        s.default_model = self.chosen_model()
        s.language_model = self.language_model.currentData()
        s.language_text = self.chosen_word_list()
        s.continuous_learning = self.continuous.isChecked()
        s.font_family = self.font_family.currentFont().family()
        s.font_size = self.font_size.value()
        chars = parse_characters(self.characters.text())
        s.special_characters = chars or s.special_characters

    @Slot()
    def _update_preview(self) -> None:
        font = QFont(self.font_family.currentFont())
        font.setPointSize(self.font_size.value())
        from htrgui.qt.widgets.charpanel import panel_font

        font = panel_font(font.family(), font.pointSize())
        self.preview.setFont(font)
        self.characters.setFont(panel_font(font.family(), self.characters.font().pointSize()))
        self.preview.setText("Anno d\u00f1i \u2022 " + " ".join(parse_characters(self.characters.text())[:12]))

    def _browse_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a model", "", "htrgui models (*.pt);;All files (*)")
        if path:
            self.model.addItem(Path(path).stem, path)
            self.model.setCurrentIndex(self.model.count() - 1)

    def _browse_text(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a word list or text", "",
                                              "Text files (*.txt *.dic *.lst);;All files (*)")
        if path:
            self.language_text.setText(path)
            self._choose_word_list(FILE)

    def _choose_word_list(self, data: str) -> None:
        self.word_list.setCurrentIndex(max(0, self.word_list.findData(data)))

    @Slot()
    def _word_list_changed(self) -> None:
        own = self.word_list.currentData() == FILE
        self.language_text.setEnabled(own)
        self.browse_text.setEnabled(own)

    def chosen_word_list(self) -> str:
        """What ``Settings.language_text`` keeps: "", a bundled word list's name, or the path of a file."""
        choice = self.word_list.currentData()
        return self.language_text.text().strip() if choice == FILE else choice

    def text_problem(self) -> str:
        """Why the word list chosen cannot be used ("" when it can, or when none is chosen)."""
        from htrgui.core.recognition.lm import text_problem

        path = self.chosen_word_list()
        if not path:
            return "" if self.word_list.currentData() != FILE else "no file named: choose one, or None"
        return text_problem(path)  # its first MB: the language model is built in the next job

    def accept(self) -> None:
        problem = self.text_problem()
        if problem:
            show_error(self, "Preferences", f"This word list cannot be used: {problem}")
            return
        self.store_into(self.settings)
        try:
            save_settings(self.settings)
        except (OSError, HtrError) as exc:
            show_error(self, "Preferences", f"The preferences could not be saved: {exc}")
            return
        self.settings_changed.emit()
        super().accept()

    def done(self, result: int) -> None:
        if self._worker is not None:
            self._worker.cancel()
        super().done(result)

    # ---------------------------------------------------------------- machine check
    def _check_machine(self, measure: bool) -> None:
        """The doctor's report in a job: looking for a GPU reads the machine (I/O lane); measuring the speed
        runs the model (the model lane, so never beside a recognition or a fine-tune)."""
        if self._worker is not None and self._worker.is_pending():
            return
        self.measure_button.setEnabled(False)
        try:
            worker = self.runner.run("Measuring speed" if measure else "Checking the machine",
                                     lambda token: machine_check(token, measure), lane=MODEL if measure else IO,
                                     on_item=self._on_report, on_progress=self._on_progress,
                                     on_failed=self._on_check_failed, on_finished=self._on_check_ended,
                                     on_cancelled=self._on_check_ended)
        except JobBusy:
            self.machine.setText(self.machine.text().split("\n\n")[0]
                                 + "\n\nA job is running: measure the speed when it has ended.")
            self.measure_button.setEnabled(True)
            return
        if measure:
            self.machine.setText(self.machine.text() + "\n\nMeasuring\u2026")
        self._worker = worker

    @Slot(object)
    def _on_progress(self, progress: Progress) -> None:
        if progress.message:
            lines = self.machine.text().split("\n\n")[0]
            self.machine.setText(f"{lines}\n\nMeasuring: {progress.message}\u2026")

    @Slot(str, str)
    def _on_check_failed(self, message: str, _details: str) -> None:
        self.machine.setText(f"Could not check the machine: {message}")
        self._on_check_ended()

    @Slot()
    def _on_check_ended(self) -> None:
        self.measure_button.setEnabled(True)

    @Slot(object)
    def _on_report(self, report: object) -> None:
        self.report = report
        self.machine.setText(describe_machine(report))


def describe_machine(report) -> str:
    """Plain words for the device section: the GPU found (or not) and what it means for speed."""
    usable = [g for g in report.gpus if g.usable]
    if usable:
        gpu = usable[0]
        memory = f", {gpu.memory_gb:.0f} GB" if gpu.memory_gb else ""
        head = (f"GPU found: {gpu.name}{memory}. Recognition and fine-tuning run on it, typically 10 to 50 times "
                "faster than on the CPU.")
    else:
        head = (f"No usable GPU: models run on the CPU ({report.cpu_count or '?'} cores). Everything works; "
                "recognising a page takes seconds and fine-tuning minutes to hours instead of minutes.")
    lines = [head] + [tip for tip in report.advice if not tip.startswith("No GPU found")]
    if getattr(report, "speed_error", ""):
        lines.append(f"Speed measurement failed: {report.speed_error}")
    return "\n".join(lines)
