"""Search and replace across the project's line texts (Ctrl+F), every replacement undoable."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from htrgui.qt.commands import text_command


def find_all(session, needle: str, case: bool = False) -> list[tuple[int, str]]:
    """(page index, line id) of every line containing ``needle``, in project and reading order."""
    if not needle:
        return []
    want = needle if case else needle.casefold()
    hits = []
    for index in range(len(session.entries)):
        for line in session.page(index).lines():
            if want in (line.text if case else line.text.casefold()):
                hits.append((index, line.id))
    return hits


def replace_in(text: str, needle: str, replacement: str, case: bool = False) -> str:
    """``text`` with every occurrence of ``needle`` replaced (case-insensitively unless ``case``)."""
    if case:
        return text.replace(needle, replacement)
    out, low, want, start = [], text.casefold(), needle.casefold(), 0
    # casefold can change lengths (ß -> ss); fall back to exact replacement when it does
    if len(low) != len(text) or len(want) != len(needle):
        return text.replace(needle, replacement)
    while True:
        i = low.find(want, start)
        if i < 0:
            out.append(text[start:])
            return "".join(out)
        out.append(text[start:i])
        out.append(replacement)
        start = i + len(needle)


class SearchBar(QWidget):
    """Find field, replace field, find next, replace all. Hidden until Ctrl+F."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.session = None
        self.controller = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        self.find_edit = QLineEdit(placeholderText="Find in all pages")
        self.replace_edit = QLineEdit(placeholderText="Replace with")
        self.case = QCheckBox("Aa")
        self.case.setToolTip("Match case")
        self.next_button = QPushButton("Find next")
        self.replace_button = QPushButton("Replace all")
        self.close_button = QPushButton("✕")
        self.close_button.setFlat(True)
        self.count = QLabel()
        for w in (self.find_edit, self.case, self.next_button, self.replace_edit, self.replace_button, self.count,
                  self.close_button):
            layout.addWidget(w)
        self.find_edit.returnPressed.connect(self.find_next)
        self.next_button.clicked.connect(self.find_next)
        self.replace_button.clicked.connect(self.replace_all)
        self.close_button.clicked.connect(self.hide)

    def setup(self, session, controller) -> None:
        self.session = session
        self.controller = controller

    def activate(self) -> None:
        self.show()
        self.find_edit.setFocus()
        self.find_edit.selectAll()

    def find_next(self) -> bool:
        """Go to the next line containing the text, after the current line (wrapping). False when none."""
        hits = find_all(self.session, self.find_edit.text(), self.case.isChecked())
        if not hits:
            self.count.setText("not found")
            return False
        here = (self.session.current, self.controller.editor.current_line_id())
        pos = (hits.index(here) + 1) if here in hits else 0
        if here not in hits:  # the first hit at or after the current page
            pos = next((i for i, (idx, _lid) in enumerate(hits) if idx >= self.session.current), 0)
        index, line_id = hits[pos % len(hits)]
        self.controller.select_line(index, line_id)
        self.count.setText(f"{pos % len(hits) + 1} of {len(hits)}")
        return True

    def replace_all(self) -> int:
        """Replace in every line of the project as one undo step; returns the number of lines changed."""
        needle, repl, case = self.find_edit.text(), self.replace_edit.text(), self.case.isChecked()
        hits = find_all(self.session, needle, case)
        if not hits:
            self.count.setText("not found")
            return 0
        stack = self.session.undo_stack
        stack.beginMacro(f"Replace “{needle}” with “{repl}”")
        for index, line_id in hits:
            line = self.session.page(index).find_line(line_id)[1]
            stack.push(text_command(self.session, index, line_id, replace_in(line.text, needle, repl, case),
                                    keep_status=True))
        stack.endMacro()
        self.count.setText(f"replaced in {len(hits)} line(s)")
        return len(hits)
