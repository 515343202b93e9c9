"""The page list: a thumbnail and the state of every page (not segmented, segmented, recognised, verified n/N).

Thumbnails and states are filled in one page per event-loop turn, so opening a folder of hundreds of scans
shows the window at once and never blocks it.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem

from htrgui.qt.images import thumbnail

THUMB = 72
STATE_COLORS = {"not segmented": QColor(140, 140, 140), "segmented": QColor(90, 120, 200),
                "recognised": QColor(230, 140, 0), "verified": QColor(30, 160, 60)}
UNREADABLE_COLOR = QColor(200, 40, 40)


def status_text(session, index: int) -> tuple[str, str]:
    """(state, detail) of a page, e.g. ("recognised", "recognised · verified 3/27")."""
    try:
        counts = session.page(index).counts()
    except Exception as exc:  # noqa: BLE001 - a broken page file is shown as such, the list goes on
        return "error", f"cannot read: {exc}"
    if counts.lines == 0:
        return counts.state, counts.state
    return counts.state, f"{counts.state} · verified {counts.verified}/{counts.lines}"


class PageList(QListWidget):
    """Pages of the session; selecting one makes it current. Several can be selected for batch jobs."""

    page_activated = Signal(int)

    def __init__(self, session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.setIconSize(QSize(THUMB, THUMB))
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setUniformItemSizes(True)
        self.setSpacing(1)
        self.setWordWrap(True)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setMinimumWidth(220)
        self._pending: list[int] = []
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._fill_one)
        self.currentRowChanged.connect(self._on_row)
        session.opened.connect(self.rebuild)
        session.closed.connect(self.rebuild)
        session.page_changed.connect(self.update_status)
        # a job or an edit can change hundreds of lines of a page at once: count each page once per turn
        self._stale: set[int] = set()
        self._recount = QTimer(self)
        self._recount.setSingleShot(True)
        self._recount.setInterval(0)
        self._recount.timeout.connect(self._update_stale)
        session.line_changed.connect(self._mark_stale)
        session.current_changed.connect(self._follow_current)

    def rebuild(self) -> None:
        self.blockSignals(True)
        self.clear()
        blank = QPixmap(THUMB, THUMB)
        blank.fill(QColor(220, 220, 220))
        for i in range(len(self.session.entries)):
            item = QListWidgetItem(QIcon(blank), self.session.name(i))
            item.setData(Qt.ItemDataRole.UserRole, i)
            self.addItem(item)
        # files that look like scans but cannot be read: listed after the pages, with the reason, never current
        project = getattr(self.session, "project", None) if self.session.is_open else None
        for path, reason in getattr(project, "unreadable", []):
            item = QListWidgetItem(QIcon(blank), f"{path.name}\ncannot be read: {reason}")
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            item.setForeground(UNREADABLE_COLOR)
            item.setToolTip(f"{path}\n{reason}")
            item.setData(Qt.ItemDataRole.UserRole + 1, "unreadable")
            self.addItem(item)
        self.blockSignals(False)
        self._pending = list(range(len(self.session.entries)))
        if self._pending:
            self._timer.start()

    def _fill_one(self) -> None:
        if not self._pending or not self.session.is_open:
            self._timer.stop()
            return
        index = self._pending.pop(0)
        entry = self.session.entries[index]
        image = thumbnail(entry.image_path, entry.page_index, THUMB)
        if not image.isNull() and index < self.count():
            self.item(index).setIcon(QIcon(QPixmap.fromImage(image)))
        self.update_status(index)

    def _mark_stale(self, index: int, _line_id: str = "") -> None:
        self._stale.add(index)
        self._recount.start()

    def _update_stale(self) -> None:
        stale, self._stale = self._stale, set()
        for index in sorted(stale):
            self.update_status(index)

    def update_status(self, index: int) -> None:
        if not 0 <= index < self.count():
            return
        state, detail = status_text(self.session, index)
        item = self.item(index)
        item.setText(f"{self.session.name(index)}\n{detail}")
        item.setForeground(STATE_COLORS.get(state, QColor(200, 40, 40)))
        item.setToolTip(f"{self.session.entries[index].image_path}\n{detail}")
        item.setData(Qt.ItemDataRole.UserRole + 1, state)

    def state(self, index: int) -> str:
        """The state last shown for page ``index`` ("" before it was read)."""
        return self.item(index).data(Qt.ItemDataRole.UserRole + 1) or ""

    def selected_indices(self) -> list[int]:
        return sorted(self.row(item) for item in self.selectedItems())

    def _on_row(self, row: int) -> None:
        if row >= 0:
            self.page_activated.emit(row)

    def _follow_current(self, index: int) -> None:
        if 0 <= index < self.count() and self.currentRow() != index:
            self.blockSignals(True)
            self.setCurrentRow(index)
            self.blockSignals(False)
