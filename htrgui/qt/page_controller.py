"""Keeps the page view and the transcription editor on the session's current page and in step with each other.

It turns what the person does in either (select, type, verify, move between lines and pages) into session
navigation and undoable commands; it holds no document state of its own.
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from htrgui.core.document import Page
from htrgui.core.errors import HtrError
from htrgui.qt.commands import status_command, text_command
from htrgui.qt.images import decode_page
from htrgui.qt.jobs import VIEW


def uncertainty(line) -> float:
    """How sure the model was of a line: its lowest character confidence, else its line confidence."""
    if line.char_confidences:
        return min(line.char_confidences)
    return line.confidence if line.confidence is not None else 0.5


def uncertain_lines(session, loaded_only: bool = False) -> list[tuple[float, int, int, str]]:
    """Every recognised, unverified line of the project (``loaded_only``: of the pages in memory) as
    (confidence, page, order, line id), least sure first."""
    return sorted(_uncertain(session, loaded_only))


def _uncertain(session, loaded_only: bool) -> list[tuple[float, int, int, str]]:
    out: list[tuple[float, int, int, str]] = []
    for index in range(len(session.entries)):
        if loaded_only and not session.loaded(index):
            continue
        try:
            page = session.page(index)
        except HtrError:
            continue
        # a comprehension per page: this runs over every line of the project on the GUI thread
        out += [(uncertainty(line), index, order, line.id) for order, line in enumerate(page.lines())
                if line.status == "predicted"]
    return out


def next_uncertain_line(session, here: tuple[int, str], loaded_only: bool = False):
    """(rank from 1, count, (confidence, page, order, line id)) of the line after ``here`` (page, line id) in
    order of rising confidence, wrapping round; None when there is none. One pass, no sort: a 300-page
    project has some 13,000 lines and this runs on the GUI thread."""
    count, first, current, after = 0, None, None, None
    keys = _uncertain(session, loaded_only)
    for key in keys:
        count += 1
        if first is None or key < first:
            first = key
        if (key[1], key[3]) == here:
            current = key
    if not count:
        return None
    if current is not None:
        for key in keys:
            if key > current and (after is None or key < after):
                after = key
    target = after or first
    rank = sum(1 for key in keys if key < target) + 1
    return rank, count, target


class PageController(QObject):
    """Wires session <-> page view <-> line editor."""

    #: A message for the status bar.
    message = Signal(str)
    #: The image of page ``index`` is shown (decoded off the GUI thread).
    image_shown = Signal(int)

    def __init__(self, session, view, editor, parent=None, runner=None) -> None:
        super().__init__(parent)
        #: the window's job runner: pages not in memory are read in its I/O lane (F8)
        self.runner = runner
        self._reading = None
        self.session = session
        self.view = view
        self.editor = editor
        self.gray = None  # the current page image as a numpy array (line strips are cut from it)
        self._shown = -1
        session.current_changed.connect(self.show_current)
        session.page_changed.connect(self._on_page_changed)
        session.line_changed.connect(self._on_line_changed)
        view.selection_changed.connect(self._on_view_selection)
        editor.current_changed.connect(self._on_editor_current)
        editor.text_edited.connect(self._on_text_edited)
        editor.verify_requested.connect(lambda lid: self.verify([lid]))
        editor.page_step.connect(self.step_page)

    # ---------------------------------------------------------------- showing pages
    def show_current(self, index: int) -> None:
        """Show page ``index``: its lines at once, its image when decoded (in the runner's view lane: a large
        scan takes a few hundred milliseconds to decode, a TIFF or PDF page more)."""
        self._shown = index
        self.gray = None
        try:
            page = self.session.current_page() if index >= 0 else None
        except HtrError as exc:  # a damaged page file: say so, the other pages stay usable
            self.view.show_page(None, None)
            self.editor.show_message(f"This page cannot be opened:\n{exc}")
            self.message.emit(str(exc))
            return
        self.view.show_page(page, None)
        self.editor.set_page(page, None)
        if page is None:
            return
        entry = self.session.entries[index]
        if self.runner is None:  # a controller used on its own (no window): decode here
            self._say_counts(index, page)
            try:
                self._show_image(index, page, decode_page(entry.image_path, entry.page_index))
            except HtrError as exc:
                self._image_failed(index, str(exc))
            return
        self.runner.run("Page image", lambda token: iter([decode_page(entry.image_path, entry.page_index)]),
                        lane=VIEW, on_item=partial(self._show_image, index, page),
                        on_failed=lambda message, _details: self._image_failed(index, message))
        self._say_counts(index, page)

    def _show_image(self, index: int, page: Page, decoded) -> None:
        if index != self._shown or not self.session.loaded(index) or self.session.page(index) is not page:
            return  # the person moved on meanwhile (or another project is open)
        self.gray, image = decoded
        self.view.set_image(image)
        # the strips in a turn of their own: the scan's pixmap and the strips together can pass 100 ms on a
        # loaded machine
        QTimer.singleShot(0, self, lambda: self._show_strips(index, page))

    def _show_strips(self, index: int, page: Page) -> None:
        if index == self._shown and self.editor.page is page:
            self.editor.set_gray(self.gray)
            self.image_shown.emit(index)

    def _image_failed(self, index: int, problem: str) -> None:
        # e.g. a truncated scan: its lines stay editable, the message stays up
        if index == self._shown:
            self.message.emit(f"{self.session.name(index)}: the scan cannot be shown: {problem}")

    def _say_counts(self, index: int, page: Page) -> None:
        counts = page.counts()
        self.message.emit(f"{self.session.name(index)}: {counts.lines} lines, {counts.verified} verified")

    def _on_page_changed(self, index: int) -> None:
        if index != self._shown:
            return
        page = self.session.page(index)
        if [line.id for line in page.lines()] == self.editor.line_ids():
            # same lines (text, status or geometry changed): update in place, keep focus and scroll position
            self.view.refresh()
            self.editor.update_all()
            return
        current = self.editor.current_line_id()
        focus = QApplication.focusWidget()
        had_focus = focus is not None and self.editor.isAncestorOf(focus)
        self.view.refresh()
        self.editor.set_page(page, self.gray)
        if current in self.editor.rows:
            self.editor.select_line(current, focus=had_focus)

    def _on_line_changed(self, index: int, line_id: str) -> None:
        if index == self._shown:
            self.editor.update_line(line_id)
            self.view.update_line_status(line_id)

    # ---------------------------------------------------------------- selection sync
    def _on_view_selection(self, ids: list[str]) -> None:
        if ids:
            self.editor.select_line(ids[0], focus=False)

    def _on_editor_current(self, line_id: str) -> None:
        self.view.select_lines([line_id])

    def select_line(self, index: int, line_id: str) -> None:
        """Go to page ``index`` and put the cursor in line ``line_id``."""
        self.session.set_current(index)
        self.editor.select_line(line_id)
        self.view.select_lines([line_id])

    # ---------------------------------------------------------------- edits
    def _on_text_edited(self, line_id: str, text: str) -> None:
        index = self._shown
        self.session.undo_stack.push(text_command(self.session, index, line_id, text))

    def verify(self, line_ids: list[str], status: str = "verified") -> None:
        if line_ids and self._shown >= 0:
            self.session.undo_stack.push(status_command(self.session, self._shown, line_ids, status))

    def verify_current_line(self) -> None:
        """Mark the editor's current line verified and go to the next one."""
        lid = self.editor.current_line_id()
        if lid:
            self.verify([lid])
            self.editor.move(lid, 1)

    def verify_page(self) -> None:
        page: Page | None = self.session.current_page()
        if page is not None:
            self.verify([line.id for line in page.lines()])

    # ---------------------------------------------------------------- navigation
    def step_page(self, step: int) -> None:
        if self.session.is_open:
            self.session.set_current(self.session.current + step)
            ids = self.editor.line_ids()
            if ids:
                self.editor.select_line(ids[0] if step > 0 else ids[-1])

    def next_uncertain(self) -> bool:
        """Go to the next line, in order of rising confidence, after the current one. False when none is left.

        Pages not in memory yet are read first in the I/O lane (a project's hundreds of PAGE files would freeze
        the window for seconds); the walk goes on when they are in."""
        unloaded = [i for i in range(len(self.session.entries)) if not self.session.loaded(i)]
        if not unloaded or self.runner is None:
            return self._go_uncertain()
        if self._reading is not None and self._reading.is_pending():
            return True
        from functools import partial

        from htrgui.core.tasks.pages import read_pages
        from htrgui.qt.jobs import IO

        project = self.session.project
        loads = [(i, partial(project.load_page, self.session.entries[i])) for i in unloaded]

        def adopt(item) -> None:
            if self.session.project is project and getattr(item, "page", None) is not None:
                self.session.adopt(item.index, item.page)

        def done() -> None:
            if self.session.project is project:
                # the last pages' items were just applied: rank in a turn of its own
                QTimer.singleShot(0, self, lambda: self._go_uncertain(defer=True)
                                  if self.session.project is project else None)

        self.message.emit(f"Reading {len(loads)} page(s) to find the uncertain lines…")
        self._reading = self.runner.run("Reading pages", lambda token: read_pages(loads, token), lane=IO,
                                        on_item=adopt, on_finished=done)
        return True

    def _go_uncertain(self, defer: bool = False) -> bool:
        found = next_uncertain_line(self.session, (self._shown, self.editor.current_line_id()),
                                    loaded_only=self.runner is not None)
        if found is None:
            self.message.emit("No unverified recognised lines left.")
            return False
        rank, count, (conf, index, _order, line_id) = found

        def go() -> None:
            self.select_line(index, line_id)
            self.message.emit(f"Uncertain line {rank} of {count} (lowest character confidence {conf:.0%})")

        if defer:  # after a background read: rank in this turn, show in the next (each well under 100 ms)
            QTimer.singleShot(0, self, go)
        else:
            go()
        return True
