"""A panel of buttons for the special characters keyboards lack (abbreviation marks, long s, thorn...).

The characters come from ``Settings.special_characters``. The first ten also get shortcuts Alt+1 ... Alt+0
so that a transcriber never has to leave the keyboard; the panel emits ``char_chosen(str)`` and the editor
inserts it. Combining marks are shown on a dotted circle so the button is not blank.
"""

from __future__ import annotations

import unicodedata

from functools import lru_cache

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontDatabase, QFontMetrics, QKeySequence, QShortcut
from PySide6.QtWidgets import QLayout, QLayoutItem, QSizePolicy, QToolButton, QWidget

from htrgui.qt.settings import Settings

SHORTCUT_KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"]

#: Fonts known to draw the Medieval Unicode Font Initiative characters, tried when the editor's font lacks one.
MUFI_FONTS = ["Junicode", "Andron Scriptor Web", "Palemonas MUFI", "Cardo", "Quivira", "Noto Serif",
              "Noto Sans", "Segoe UI Historic", "Everson Mono"]
MISSING_TIP = ("No font on this computer draws this character, so it shows as its code. It is still inserted "
               "correctly; install a font with the MUFI characters (e.g. Junicode) to see it.")

def display_text(char: str) -> str:
    """What a button shows: a combining mark alone would be invisible, so it sits on U+25CC."""
    if char and all(unicodedata.combining(c) for c in char):
        return "\u25cc" + char
    return char


def describe(char: str) -> str:
    """Unicode names and code points, for the tooltip: ``LATIN SMALL LETTER P WITH STROKE (U+A751)``."""
    parts = [f"{unicodedata.name(c, 'unnamed character')} (U+{ord(c):04X})" for c in char]
    return " + ".join(parts)


@lru_cache(maxsize=1)
def installed_mufi_fonts() -> tuple[str, ...]:
    """The MUFI-capable fonts installed here, in preference order."""
    installed = set(QFontDatabase.families())
    return tuple(f for f in MUFI_FONTS if f in installed)


def panel_font(family: str, size: int) -> QFont:
    """The editor's font with the installed MUFI fonts as fallbacks (Qt tries them for missing glyphs)."""
    font = QFont()
    font.setFamilies(([family] if family else []) + [QFont().family()] + list(installed_mufi_fonts()))
    font.setPointSize(max(10, int(size)))
    return font


def can_show(char: str, font: QFont) -> bool:
    """Whether the font or one of its fallbacks has a glyph for every code point of ``char``."""
    for family in font.families() or [font.family()]:
        metrics = QFontMetrics(QFont(family))
        if all(metrics.inFontUcs4(ord(c)) for c in char):
            return True
    return False


class FlowLayout(QLayout):
    """Lays widgets out left to right and wraps to the next row when the width runs out."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 3) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self.setSpacing(spacing)
        self.setContentsMargins(2, 2, 2, 2)

    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802 - Qt API
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt API
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt API
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802 - Qt API
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt API
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt API
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802 - Qt API
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return self.minimumSize()

    def minimumSize(self) -> QSize:  # noqa: N802 - Qt API
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def _arrange(self, rect: QRect, move: bool) -> int:
        """Place the items (when ``move``) and return the height they need in ``rect``'s width."""
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        x, y, row_height = area.x(), area.y(), 0
        gap = self.spacing()
        for item in self._items:
            hint = item.sizeHint()
            if x + hint.width() > area.right() + 1 and row_height > 0:
                x, y = area.x(), y + row_height + gap
                row_height = 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + gap
            row_height = max(row_height, hint.height())
        return y + row_height - rect.y() + m.bottom()


class CharPanel(QWidget):
    """Buttons for ``settings.special_characters``; emits ``char_chosen(str)`` on click or Alt+digit."""

    char_chosen = Signal(str)

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.buttons: list[QToolButton] = []
        self._shortcuts: list[QShortcut] = []
        self._layout = FlowLayout(self)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.refresh()

    def characters(self) -> list[str]:
        return list(self.settings.special_characters)

    def refresh(self) -> None:
        """Rebuild the buttons from the settings (after the preferences changed them)."""
        for button in self.buttons:
            self._layout.removeWidget(button)
            button.deleteLater()
        for shortcut in self._shortcuts:
            shortcut.setEnabled(False)
            shortcut.deleteLater()
        self.buttons, self._shortcuts = [], []
        font = panel_font(self.settings.font_family, self.settings.font_size)
        small = QFont(self.font())
        small.setPointSize(7)
        for index, char in enumerate(self.characters()):
            button = QToolButton(self)
            shown = can_show(char, font)
            # A box would tell nothing: a character no font can draw is shown as its code point.
            button.setText(display_text(char) if shown else " ".join(f"{ord(c):04X}" for c in char))
            button.setFont(font if shown else small)
            button.setProperty("missing_glyph", not shown)
            button.setAutoRaise(False)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a click must not steal the editor's cursor
            button.setMinimumSize(QSize(34, 34))
            tip = describe(char) if shown else f"{describe(char)}\n{MISSING_TIP}"
            if index < len(SHORTCUT_KEYS):
                key = QKeySequence(f"Alt+{SHORTCUT_KEYS[index]}")
                shortcut = QShortcut(key, self)
                shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
                shortcut.activated.connect(lambda c=char: self.char_chosen.emit(c))
                self._shortcuts.append(shortcut)
                tip += f" \u2014 {key.toString(QKeySequence.SequenceFormat.NativeText)}"
            button.setToolTip(tip)
            button.clicked.connect(lambda _checked=False, c=char: self.char_chosen.emit(c))
            self._layout.addWidget(button)
            self.buttons.append(button)
        self.updateGeometry()

    def shortcut_for(self, char: str) -> str:
        """The shortcut inserting ``char`` ("" when it has none)."""
        chars = self.characters()
        if char in chars and chars.index(char) < len(SHORTCUT_KEYS):
            return f"Alt+{SHORTCUT_KEYS[chars.index(char)]}"
        return ""

