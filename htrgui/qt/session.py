"""The open project as the window sees it: pages loaded from their PAGE files, edits, autosave, undo.

The project's state *is* its PAGE files (``Project.save_page``), so there is no separate project database:
reopening a folder shows everything as it was. Every change goes through :meth:`Session.touch`, which marks
the page dirty and (re)starts a short single-shot timer; when the burst of changes stops the dirty pages are
saved atomically, by a writer thread working on copies. A crash or power cut therefore loses at most the
last ``autosave_ms`` of work.
"""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from htrgui.core.document import Page
from htrgui.core.errors import HtrError

#: How long the user must pause before dirty pages are written (the "change burst" of the issue).
AUTOSAVE_MS = 1500


class Session(QObject):
    """One open project: entries, lazily loaded pages, the current page, the undo stack and autosave.

    Pages are addressed by their index in ``entries``. Loaded pages stay in memory while the project is
    open because undo commands hold references to them.
    """

    opened = Signal()
    closed = Signal()
    #: The current page index changed (-1 when nothing is open).
    current_changed = Signal(int)
    #: Something on page ``index`` changed (structure, text or status); views refresh from the model.
    page_changed = Signal(int)
    #: Only the text/status of one line changed: cheaper than ``page_changed`` for the editor and list.
    line_changed = Signal(int, str)
    #: Pages were written to disk (indices).
    saved = Signal(list)
    #: Saving failed: the message names the file. The page stays dirty and is retried on the next change.
    save_failed = Signal(str)
    #: From the writer thread: page index, error message ("" when written).
    _written = Signal(int, str)

    def __init__(self, parent: QObject | None = None, autosave_ms: int = AUTOSAVE_MS) -> None:
        super().__init__(parent)
        self.project = None
        self.folder: Path | None = None
        self.entries: list = []
        self.current = -1
        self._pages: dict[int, Page] = {}
        self._dirty: set[int] = set()
        self.undo_stack = QUndoStack(self)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(autosave_ms)
        self._timer.timeout.connect(self._autosave)
        # one writer thread: writes of a page land in the order they were asked for
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="htrgui-save")
        self._written.connect(self._on_written)

    # ---------------------------------------------------------------- open / close
    @property
    def is_open(self) -> bool:
        return self.project is not None

    def open(self, folder: Path | str) -> None:
        """Open a folder (or a single image/PDF/TIFF) as a project; the previous one is saved and closed.

        Raises:
            HtrError: the folder cannot be opened (the message names it).
        """
        from htrgui.core.project import Project

        project = Project.open(Path(folder))
        self.close()
        self.project = project
        self.folder = Path(folder)
        self.entries = list(project.entries)
        self.current = -1
        self.opened.emit()
        if self.entries:
            self.set_current(0)

    def close(self) -> None:
        """Save what is dirty and forget the project."""
        if not self.is_open:
            return
        self.save_dirty()
        self.undo_stack.clear()
        self.project = None
        self.folder = None
        self.entries = []
        self._pages.clear()
        self._dirty.clear()
        self.current = -1
        self.closed.emit()
        self.current_changed.emit(-1)

    # ---------------------------------------------------------------- pages
    def page(self, index: int) -> Page:
        """The page at ``index``, read from its PAGE file (or empty) the first time it is asked for."""
        page = self._pages.get(index)
        if page is None:
            entry = self.entries[index]
            page = self.project.load_page(entry)
            self._pages[index] = page
        return page

    def adopt(self, index: int, page: Page) -> None:
        """Keep ``page``, read from page ``index``'s file by a job off the GUI thread, as that page (ignored when
        the page is loaded already: the loaded one may have edits)."""
        if self.is_open and 0 <= index < len(self.entries) and index not in self._pages:
            self._pages[index] = page

    def wait_for_writes(self) -> None:
        """Block until the background writes asked for so far have landed (any thread: a job reading saved
        pages calls it first, so it never reads a file an autosave is still writing)."""
        self._writer.submit(lambda: None).result()

    def loaded(self, index: int) -> bool:
        return index in self._pages

    def index_of(self, page: Page) -> int:
        """Index of a loaded page object, or -1."""
        return next((i for i, p in self._pages.items() if p is page), -1)

    def name(self, index: int) -> str:
        return str(getattr(self.entries[index], "name", index))

    def set_current(self, index: int) -> None:
        if not self.entries:
            return
        index = max(0, min(index, len(self.entries) - 1))
        if index == self.current:
            return
        self.current = index
        self.current_changed.emit(index)

    def current_page(self) -> Page | None:
        return self.page(self.current) if self.is_open and self.current >= 0 else None

    # ---------------------------------------------------------------- changes and saving
    def touch(self, index: int, line_id: str | None = None) -> None:
        """Record a change of page ``index`` (of one line only when ``line_id`` is given) and schedule a save."""
        self._dirty.add(index)
        self._timer.start()
        if line_id is None:
            self.page_changed.emit(index)
        else:
            self.line_changed.emit(index, line_id)

    @property
    def dirty(self) -> set[int]:
        return set(self._dirty)

    def save_dirty(self) -> list[int]:
        """Write every dirty page now, waiting for it (closing, exporting, "Save now"). Returns the indices."""
        self._timer.stop()
        self._writer.submit(lambda: None).result()  # earlier background writes land first
        written = []
        for index in sorted(self._dirty):
            error = _write(self.project, self._pages[index], self.name(index))
            if error:
                self.save_failed.emit(error)
                continue
            written.append(index)
        self._dirty.difference_update(written)
        if written:
            self.saved.emit(written)
        return written

    def _autosave(self) -> None:
        """Write the dirty pages in the background: a copy of each is taken now, serialised and written by
        the writer thread, so a slow disk never freezes the window."""
        if not self.is_open:
            return
        project = self.project
        for index in sorted(self._dirty):
            snapshot = copy.deepcopy(self._pages[index])
            name = self.name(index)
            future = self._writer.submit(_write, project, snapshot, name)
            future.add_done_callback(lambda f, i=index: self._written.emit(i, f.result()))
        self._dirty.clear()

    def _on_written(self, index: int, error: str) -> None:
        if error:
            if self.is_open:
                self._dirty.add(index)  # retried with the next change or at closing
            self.save_failed.emit(error)
        else:
            self.saved.emit([index])


def _write(project, page: Page, name: str) -> str:
    """Save one page; the error message (naming the file) or "" when it worked."""
    try:
        project.save_page(page)
    except HtrError as exc:
        return str(exc)
    except OSError as exc:
        return f"{name}: cannot save: {exc}"
    return ""

