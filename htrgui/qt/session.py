"""The open project as the window sees it: pages loaded from their PAGE files, edits, autosave, undo.

The project's state *is* its PAGE files (``Project.save_page``), so there is no separate project database:
reopening a folder shows everything as it was. Every change goes through :meth:`Session.touch`, which marks
the page dirty and (re)starts a short single-shot timer; when the burst of changes stops the dirty pages are
saved atomically. A crash or power cut therefore loses at most the last ``autosave_ms`` of work.
"""

from __future__ import annotations

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
        self._timer.timeout.connect(self.save_dirty)

    # ---------------------------------------------------------------- open / close
    @property
    def is_open(self) -> bool:
        return self.project is not None

    def open(self, folder: Path | str) -> None:
        """Open a folder (or a single image/PDF/TIFF) as a project; the previous one is saved and closed.

        Raises:
            HtrError: the folder cannot be opened (the message names it).
        """
        try:
            from htrgui.core.project import Project
        except ImportError as exc:  # the IO layer is being written in parallel
            raise HtrError(f"{folder}: project support is not available ({exc})") from None
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
            page = import_sibling(entry) or self.project.load_page(entry)
            self._pages[index] = page
        return page

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
        """Write every dirty page now (atomic writes by the IO layer). Returns the indices written."""
        self._timer.stop()
        written = []
        for index in sorted(self._dirty):
            try:
                self.project.save_page(self._pages[index])
            except HtrError as exc:
                self.save_failed.emit(str(exc))
                continue
            except OSError as exc:
                self.save_failed.emit(f"{self.name(index)}: cannot save: {exc}")
                continue
            written.append(index)
        self._dirty.difference_update(written)
        if written:
            self.saved.emit(written)
        return written



def import_sibling(entry) -> Page | None:
    """A PAGE or ALTO file beside a single-page scan (``scan.jpg`` + ``scan.xml``, as eScriptorium and
    Transkribus exports come), read as the page's starting point when the project has no file of its own yet.
    It is saved to the project's own ``page/`` file on the first change; the original is never written."""
    xml_path = Path(entry.xml_path)
    sibling = Path(entry.image_path).with_suffix(".xml")
    if xml_path.is_file() or entry.page_index != 0 or not sibling.is_file():
        return None
    from htrgui.core.io import read_document

    page = read_document(sibling)
    page.image_path = Path(entry.image_path)
    page.page_index = 0
    page.xml_path = xml_path
    return page
