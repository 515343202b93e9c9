"""Line tools: draw, split, merge, delete, move points, recompute polygons, region type and reading order.

The work is done by ``htrgui.core.editing`` (each operation returns an ``Edit`` that can undo and redo
itself); one gesture or action becomes one :class:`EditCommand` on the undo stack. An impossible request
(split outside the line, an unknown id...) is refused by the core with a message and changes nothing.
"""

from __future__ import annotations

from typing import Callable, Iterable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QInputDialog

from htrgui.core import editing
from htrgui.core.document import REGION_TYPES, Page
from htrgui.core.errors import HtrError
from htrgui.core.geometry import region_around, region_for
from htrgui.qt.commands import EditCommand


class LineTools(QObject):
    """Connects the line-tool actions and the page view's gestures to undoable core edits."""

    def __init__(self, session, view, controller, actions, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.view = view
        self.controller = controller
        self.actions = actions
        a = actions
        a.tool_select.triggered.connect(lambda: view.set_tool("select"))
        a.tool_draw.triggered.connect(lambda: view.set_tool("draw"))
        a.tool_split.triggered.connect(lambda: view.set_tool("split"))
        a.merge_lines.triggered.connect(self.merge)
        a.delete_lines.triggered.connect(self.delete)
        a.recompute_polygon.triggered.connect(self.recompute)
        a.line_up.triggered.connect(lambda: self.move(-1))
        a.line_down.triggered.connect(lambda: self.move(1))
        a.region_type.triggered.connect(self.ask_region_type)
        view.tool_changed.connect(self._on_tool)
        view.geometry_edited.connect(self.set_geometry)
        view.line_drawn.connect(self.add_line)
        view.split_requested.connect(self.split)
        view.selection_changed.connect(lambda _ids: self.update_enabled())
        view.selection_set.connect(lambda _ids: self.update_enabled())
        self._on_tool("select")

    def _on_tool(self, tool: str) -> None:
        for name in ("select", "draw", "split"):
            self.actions.by_name[f"tool_{name}"].setChecked(name == tool)

    def update_enabled(self) -> None:
        a = self.actions
        is_open = self.session.is_open
        n = len(self.view.selected_ids()) if is_open else 0
        for name in ("tool_select", "tool_draw", "tool_split"):
            a.by_name[name].setEnabled(is_open)
        a.merge_lines.setEnabled(n >= 2)
        for name in ("delete_lines", "recompute_polygon", "line_up", "line_down", "region_type"):
            a.by_name[name].setEnabled(n >= 1)

    def apply(self, title: str, make_edits: Callable[[Page, list], Iterable]) -> EditCommand | None:
        """Run core edits on the current page and push them as one undo step; a refused edit is reported
        in the status bar and leaves the page as it was."""
        index = self.session.current
        page = self.session.current_page()
        if page is None:
            return None
        done: list = []
        try:
            for edit in make_edits(page, done) or []:
                done.append(edit)
        except HtrError as exc:
            for edit in reversed(done):  # a batch is all or nothing
                edit.undo()
            self.controller.message.emit(f"{title}: {exc}")
            return None
        if not done:
            return None
        cmd = EditCommand(self.session, index, title, done)
        self.session.undo_stack.push(cmd)
        return cmd

    # ---------------------------------------------------------------- geometry
    def set_geometry(self, line_id: str, polygon: list, baseline: list) -> None:
        """Points dragged in the view: one ``move_point`` per point that moved."""
        def edits(page: Page, _done):
            line = page.find_line(line_id)[1]
            for which, old, new in (("polygon", line.polygon, polygon), ("baseline", line.baseline, baseline)):
                for i, (a, b) in enumerate(zip(list(old), new)):
                    if tuple(a) != tuple(b):
                        yield editing.move_point(page, line_id, which, i, tuple(b))

        self.apply("Move points", edits)

    def add_line(self, baseline: list) -> None:
        """A baseline drawn in the view becomes a line of the region it lies in (a new region if none)."""
        added = []

        def edits(page: Page, _done):
            region_id = region_for(page, baseline)
            if region_id is None:
                edit = editing.add_region(page, region_around(baseline, page))
                yield edit
                region_id = edit.added[0]
            edit = editing.add_line(page, region_id, baseline)
            added.extend(edit.added)
            yield edit

        if self.apply("Draw line", edits) is not None and added:
            self.view.select_lines(added)
            self.controller.editor.select_line(added[0])

    def split(self, line_id: str, x: int) -> None:
        self.apply("Split line", lambda page, _d: [editing.split_line(page, line_id, x)])

    def merge(self) -> None:
        ids = self.view.selected_ids()  # in reading order
        if len(ids) < 2:
            return
        self.apply(f"Merge {len(ids)} lines", lambda page, _d: (editing.merge_lines(page, ids[0], other)
                                                               for other in ids[1:]))
        self.view.select_lines([ids[0]])

    def delete(self) -> None:
        ids = self.view.selected_ids()
        if ids:
            self.apply(f"Delete {len(ids)} line(s)", lambda page, _d: (editing.delete_line(page, i) for i in ids))

    def recompute(self) -> None:
        ids = self.view.selected_ids()
        if ids:
            self.apply("Recompute polygon", lambda page, _d: (editing.recompute_polygon(page, i) for i in ids))

    # ---------------------------------------------------------------- order and types
    def move(self, step: int) -> None:
        """Move the selected line (or the editor's current line) one place earlier or later in reading order."""
        ids = self.view.selected_ids() or [self.controller.editor.current_line_id()]
        ids = [i for i in ids if i]
        if not ids:
            return

        def edits(page: Page, _done):
            order = ids if step < 0 else list(reversed(ids))
            for lid in order:
                region, line = page.find_line(lid)
                yield editing.move_line(page, lid, region.lines.index(line) + step)

        self.apply("Reading order", edits)
        self.view.select_lines(ids)

    def ask_region_type(self) -> None:
        page = self.session.current_page()
        ids = self.view.selected_ids()
        if page is None or not ids:
            return
        region = page.find_line(ids[0])[0]
        types = list(REGION_TYPES) + ([region.type] if region.type not in REGION_TYPES else [])
        kind, ok = QInputDialog.getItem(self.view, "Region type", f"Type of region {region.id}:", types,
                                        types.index(region.type), True)
        if ok and kind:
            self.set_region_type(ids, kind)

    def set_region_type(self, line_ids: list[str], kind: str) -> None:
        """Give the regions holding these lines the type ``kind``."""
        def edits(page: Page, _done):
            regions = []
            for lid in line_ids:
                found = page.find_line(lid)
                if found is not None and found[0].id not in regions:
                    regions.append(found[0].id)
            for rid in regions:
                yield editing.set_region_type(page, rid, kind)

        self.apply(f"Region type: {kind}", edits)
