"""The page list: a thumbnail and the state of every page (not segmented, segmented, recognised, verified n/N).

Thumbnails are decoded and page files read in the runner's I/O lane, a few pages per job (other I/O jobs go
in between), and filled in as they come, so opening a folder of hundreds of scans shows the window at once and
never blocks it (a TIFF or PDF page takes a whole decode).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem

from htrgui.core.errors import HtrError
from htrgui.qt.images import thumbnail
from htrgui.qt.jobs import IO

THUMB = 72
#: Pages per thumbnail job: other I/O jobs (F8, an export) wait for one chunk at most.
CHUNK = 8


@dataclass
class Thumb:
    """A page's thumbnail (a QImage may be made off the GUI thread; a QPixmap may not) and the page as read
    from its file (None when it could not be, or the window had it already)."""

    index: int
    image: QImage
    page: object = None


def thumbnails(items: list, token):
    """The job: for each ``(index, entry, load)``, its thumbnail and its page (``load`` None: in memory)."""
    for index, entry, load in items:
        token.check()
        page = None
        if load is not None:
            try:
                page = load()
            except HtrError:
                page = None  # its state says why, read again on the GUI thread (it fails fast)
        yield Thumb(index, thumbnail(entry.image_path, entry.page_index, THUMB), page)
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

    def __init__(self, session, parent=None, runner=None) -> None:
        super().__init__(parent)
        self.session = session
        if runner is None:
            from htrgui.qt.jobs import JobRunner

            runner = JobRunner(self)
        #: the window's runner: thumbnails and page files are read in its I/O lane
        self.runner = runner
        self._job = None
        self.setIconSize(QSize(THUMB, THUMB))
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setUniformItemSizes(True)
        self.setSpacing(1)
        self.setWordWrap(True)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setMinimumWidth(220)
        self._pending: list[int] = []
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
        if self._job is not None:
            self._job.cancel()
        self._pending = list(range(len(self.session.entries)))
        self._project = getattr(self.session, "project", None)
        self._next_chunk()

    def _next_chunk(self) -> None:
        """Queue the thumbnails of the next few pages in the I/O lane."""
        if not self._pending or not self.session.is_open or self.session.project is not self._project:
            self._job = None
            return
        chunk, self._pending = self._pending[:CHUNK], self._pending[CHUNK:]
        project = self.session.project
        items = [(i, self.session.entries[i], None if self.session.loaded(i) else
                  partial(project.load_page, self.session.entries[i])) for i in chunk]
        self._job = self.runner.run("Thumbnails", lambda token: thumbnails(items, token), lane=IO,
                                    on_item=partial(self._on_thumb, project), on_finished=self._next_chunk,
                                    on_failed=lambda *_: None)

    def _on_thumb(self, project, thumb: Thumb) -> None:
        # a job of a project closed meanwhile: its pages are not this project's
        if self.session.project is not project or thumb.index >= self.count():
            return
        if thumb.page is not None:
            self.session.adopt(thumb.index, thumb.page)
        if not thumb.image.isNull():
            self.item(thumb.index).setIcon(QIcon(QPixmap.fromImage(thumb.image)))
        self.update_status(thumb.index)

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
