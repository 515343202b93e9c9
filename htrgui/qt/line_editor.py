"""The transcription editor: every line of the page as its image strip above a one-line text field.

Keyboard: Enter or Down goes to the next line, Up to the previous one, PageDown/PageUp to the next or previous
page, Ctrl+Enter marks the line verified and goes on. Characters the model was unsure of are highlighted.
Typing is reported to the window (which pushes undoable commands); the editor never writes the document.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QKeySequence, QPixmap, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QPlainTextEdit, QScrollArea, QSizePolicy, QTextEdit,
                               QVBoxLayout, QWidget)

from htrgui.core.document import Page, TextLine
from htrgui.qt.images import line_strip

#: Characters below this confidence are highlighted.
LOW_CONFIDENCE = 0.6
#: Rows built at once when a page is shown, at most (those that fit in the editor); the rest follow a few per
#: turn. Building a row costs about 1 ms and its first layout and paint as much again: 20 rows at once made
#: a page switch stop the window for 80-130 ms on a loaded 2-core machine (benchmarks/gui_latency.py).
FIRST_ROWS = 12
ROWS_PER_TURN = 4
#: The least height of a row (strip and text field) when guessing how many fill the editor.
ROW_MIN_HEIGHT = 80
STATUS_MARKS = {"empty": "○", "predicted": "◐", "verified": "●"}
STATUS_TIPS = {"empty": "no text yet", "predicted": "text from the model, not checked",
               "verified": "checked by a person"}


class LineTextEdit(QPlainTextEdit):
    """A one-line plain text field with our navigation keys; undo/redo go to the window's undo stack."""

    navigate = Signal(int)  # -1 previous line, +1 next line
    page_step = Signal(int)  # -1 previous page, +1 next page
    verify = Signal()
    focused = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setUndoRedoEnabled(False)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTabChangesFocus(True)
        self._marked = False
        self.set_font(QFont())

    def set_font(self, font: QFont) -> None:
        self.setFont(font)
        self.setFixedHeight(self.fontMetrics().height() + 14)

    def event(self, event) -> bool:
        # Let the window's Undo/Redo shortcuts fire instead of the text field's own (disabled) undo.
        if event.type() == QEvent.Type.ShortcutOverride and (
                event.matches(QKeySequence.StandardKey.Undo) or event.matches(QKeySequence.StandardKey.Redo)):
            event.ignore()
            return False
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        key, mods = event.key(), event.modifiers()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if mods & Qt.KeyboardModifier.ControlModifier:
                self.verify.emit()
            else:
                self.navigate.emit(1)
            return
        if key == Qt.Key.Key_Down:
            self.navigate.emit(1)
            return
        if key == Qt.Key.Key_Up:
            self.navigate.emit(-1)
            return
        if key in (Qt.Key.Key_PageDown, Qt.Key.Key_PageUp):
            self.page_step.emit(1 if key == Qt.Key.Key_PageDown else -1)
            return
        super().keyPressEvent(event)

    def insertFromMimeData(self, source) -> None:
        # a line holds one line of text: pasted line breaks become spaces
        if source.hasText():
            self.insertPlainText(" ".join(source.text().splitlines()))

    def focusInEvent(self, event) -> None:
        super().focusInEvent(event)
        self.focused.emit()

    def text(self) -> str:
        return self.toPlainText()

    def highlight(self, confidences: list[float] | None) -> None:
        """Underline and tint the characters the model was unsure of: one selection per run of them (a line
        read badly is one run, not a selection per character to lay out on the GUI thread)."""
        selections = []
        if confidences and len(confidences) == len(self.text()):
            fmt = QTextCharFormat()
            fmt.setBackground(QColor(255, 200, 80, 140))
            fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            fmt.setUnderlineColor(QColor(200, 60, 0))
            for start, end in low_runs(confidences):
                sel = QTextEdit.ExtraSelection()
                sel.cursor = QTextCursor(self.document())
                sel.cursor.setPosition(start)
                sel.cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
                sel.format = fmt
                selections.append(sel)
        if selections or self._marked:  # most lines have nothing to mark: skip the relayout then
            self.setExtraSelections(selections)
        self._marked = bool(selections)


def low_runs(confidences: list[float]) -> list[tuple[int, int]]:
    """(start, end) of each run of characters read with less than :data:`LOW_CONFIDENCE`."""
    runs: list[tuple[int, int]] = []
    for i, c in enumerate(confidences):
        if c >= LOW_CONFIDENCE:
            continue
        if runs and runs[-1][1] == i:
            runs[-1] = (runs[-1][0], i + 1)
        else:
            runs.append((i, i + 1))
    return runs


class LineRow(QFrame):
    """One line: number and status mark, image strip, text field."""

    def __init__(self, number: int, line: TextLine, strip: QPixmap | None) -> None:
        super().__init__()
        self.line_id = line.id
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("lineRow")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(2)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        # a long strip is clipped at the right rather than widening the editor past the window
        self.image.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.image.setMinimumHeight(strip.height() if strip is not None and not strip.isNull() else 0)
        if strip is not None and not strip.isNull():
            self.image.setPixmap(strip)
        layout.addWidget(self.image)
        row = QHBoxLayout()
        self.mark = QLabel()
        self.mark.setFixedWidth(44)
        self.number = number
        self.edit = LineTextEdit()
        row.addWidget(self.mark)
        row.addWidget(self.edit, 1)
        layout.addLayout(row)
        self.update_from(line)

    def update_from(self, line: TextLine) -> None:
        """Show the line's text and status; the cursor stays put when the text is already what is shown."""
        if self.edit.text() != line.text:
            self.edit.blockSignals(True)
            self.edit.setPlainText(line.text)
            self.edit.moveCursor(QTextCursor.MoveOperation.End)
            self.edit.blockSignals(False)
        self.edit.highlight(line.char_confidences)
        self.mark.setText(f"{self.number} {STATUS_MARKS.get(line.status, '?')}")
        conf = f", confidence {line.confidence:.0%}" if line.confidence is not None else ""
        self.mark.setToolTip(f"line {self.number}: {STATUS_TIPS.get(line.status, line.status)}{conf}")
        self.setProperty("status", line.status)

    def set_current(self, current: bool) -> None:
        self.setStyleSheet("#lineRow { border: 2px solid #1e6ee6; }" if current else "")


class LineEditor(QScrollArea):
    """All lines of the current page, in reading order."""

    #: The line with the keyboard focus changed (line id).
    current_changed = Signal(str)
    #: A person typed: line id, full new text.
    text_edited = Signal(str, str)
    #: Ctrl+Enter in a line: mark it verified.
    verify_requested = Signal(str)
    #: PageUp/PageDown.
    page_step = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.page: Page | None = None
        self.rows: dict[str, LineRow] = {}
        self._order: list[str] = []
        self._current = ""
        self._font = QFont()
        self._font.setPointSize(13)
        self._lines: list[TextLine] = []
        self._by_id: dict[str, TextLine] = {}
        self._gray = None
        self._layout = None
        self._build_timer = QTimer(self)
        self._build_timer.setInterval(0)
        self._build_timer.timeout.connect(self._build_more)
        self._placeholder("Open a folder of scans (File ▸ Open folder…)")

    def _placeholder(self, text: str) -> None:
        label = QLabel(text)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)
        self._set_box(label)

    def show_message(self, text: str) -> None:
        """Show a message instead of lines (no page, or a page that cannot be read)."""
        self.page = None
        self.rows.clear()
        self._order = []
        self._current = ""
        self._placeholder(text)

    def set_editor_font(self, font: QFont) -> None:
        self._font = QFont(font)
        for row in self.rows.values():
            row.edit.set_font(self._font)

    def set_page(self, page: Page | None, gray: np.ndarray | None) -> None:
        """Rebuild the rows for ``page`` (strips cut from ``gray``, the page image, when given).

        The first rows are built at once, the others a few per event-loop turn: a register page of 300 lines
        would otherwise freeze the window for a second. A row asked for before it is built is built then.
        """
        self._build_timer.stop()
        self.page = page
        self._gray = gray
        self.rows.clear()
        self._order = []
        self._current = ""
        if page is None:
            self._placeholder("No page")
            return
        self._lines = list(page.lines())
        if not self._lines:
            self._placeholder("This page has no lines yet: segment it (Page ▸ Segment) or draw lines in the view.")
            return
        self._order = [line.id for line in self._lines]
        self._by_id = {line.id: line for line in self._lines}
        box = QWidget()
        self._layout = QVBoxLayout(box)
        self._layout.setContentsMargins(4, 4, 4, 4)
        self._layout.setSpacing(4)
        self._layout.addStretch(1)
        self._build(self._first_rows())
        self._set_box(box)
        if len(self.rows) < len(self._order):
            self._build_timer.start()

    def _first_rows(self) -> int:
        """How many rows fill the editor now (at most ``FIRST_ROWS``): the others are built in later turns."""
        return max(1, min(FIRST_ROWS, self.viewport().height() // ROW_MIN_HEIGHT + 1))

    def _set_box(self, widget: QWidget) -> None:
        """Show ``widget``; the previous page's rows are deleted in a later turn (QScrollArea.setWidget deletes
        them at once: tens of milliseconds for a page of many rows, on top of building the new ones)."""
        old = self.takeWidget()
        self.setWidget(widget)
        if old is not None:
            old.hide()
            old.deleteLater()

    def set_gray(self, gray: np.ndarray | None) -> None:
        """The page image arrived (decoded off the GUI thread): strips for the rows built so far; the rows built
        later cut theirs as they are built. Text, focus and cursor stay as they are."""
        self._gray = gray
        if gray is None:
            return
        for line_id, row in self.rows.items():
            line = self._by_id.get(line_id)
            if line is None:
                continue
            strip = QPixmap.fromImage(line_strip(gray, line))
            if not strip.isNull():
                row.image.setMinimumHeight(strip.height())
                row.image.setPixmap(strip)

    def _build(self, count: int) -> None:
        """Build the next ``count`` rows (in reading order)."""
        start = len(self.rows)
        for n in range(start, min(start + count, len(self._lines))):
            line = self._lines[n]
            strip = QPixmap.fromImage(line_strip(self._gray, line)) if self._gray is not None else None
            row = LineRow(n + 1, line, strip)
            row.edit.set_font(self._font)
            lid = line.id
            row.edit.textChanged.connect(lambda lid=lid: self._on_text_changed(lid))
            row.edit.navigate.connect(lambda step, lid=lid: self.move(lid, step))
            row.edit.page_step.connect(self.page_step)
            row.edit.verify.connect(lambda lid=lid: self._on_verify(lid))
            row.edit.focused.connect(lambda lid=lid: self._set_current(lid))
            self._layout.insertWidget(n, row)
            self.rows[lid] = row
        if len(self.rows) >= len(self._lines):
            self._build_timer.stop()

    def _build_more(self) -> None:
        self._build(ROWS_PER_TURN)

    def _ensure_row(self, line_id: str) -> LineRow | None:
        if line_id in self._order and line_id not in self.rows:
            self._build(self._order.index(line_id) + 1 - len(self.rows))
        return self.rows.get(line_id)

    def update_line(self, line_id: str) -> None:
        row = self.rows.get(line_id)
        line = self._by_id.get(line_id)
        if row is not None and line is not None:
            row.update_from(line)

    def update_all(self) -> None:
        """Refresh every row from the page (same lines, possibly new objects after an undo)."""
        if self.page is None:
            return
        self._lines = list(self.page.lines())
        self._by_id = {line.id: line for line in self._lines}
        for lid in self._order:
            self.update_line(lid)

    def line_ids(self) -> list[str]:
        return list(self._order)

    def current_line_id(self) -> str:
        return self._current

    def select_line(self, line_id: str, focus: bool = True) -> None:
        """Make ``line_id`` current (scrolled into view; keyboard focus when ``focus``)."""
        row = self._ensure_row(line_id)
        if row is None:
            return
        self._set_current(line_id)
        self.ensureWidgetVisible(row, 10, 40)
        if focus:
            row.edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def move(self, line_id: str, step: int) -> None:
        """Go ``step`` lines from ``line_id`` (stays on the first/last line at the ends)."""
        if line_id not in self._order:
            return
        i = max(0, min(len(self._order) - 1, self._order.index(line_id) + step))
        self.select_line(self._order[i])

    def insert_text(self, text: str) -> None:
        """Insert at the cursor of the current line (special characters panel)."""
        row = self.rows.get(self._current)
        if row is not None:
            row.edit.insertPlainText(text)
            row.edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def _set_current(self, line_id: str) -> None:
        if line_id == self._current:
            return
        if self._current in self.rows:
            self.rows[self._current].set_current(False)
        self._current = line_id
        self.rows[line_id].set_current(True)
        self.current_changed.emit(line_id)

    def _on_text_changed(self, line_id: str) -> None:
        row = self.rows[line_id]
        line = self._by_id.get(line_id)
        if line is not None and line.text != row.edit.text():
            self.text_edited.emit(line_id, row.edit.text())

    def _on_verify(self, line_id: str) -> None:
        self.verify_requested.emit(line_id)
        self.move(line_id, 1)
