"""Line tools: draw, split, merge, delete, move points, recompute polygons, region type and reading order.

Each tool is one undoable :class:`PageEditCommand` whose work is a core function from ``htrgui.core.editing``
(or, for moves that are only list operations, done here on the document).
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QInputDialog

from htrgui.core.document import REGION_TYPES, Page
from htrgui.core.errors import HtrError
from htrgui.qt.commands import PageEditCommand


def _editing():
    """The core editing module (written in parallel by the segmentation helper), or None."""
    try:
        from htrgui.core import editing
    except ImportError:
        return None
    return editing


def move_in_order(page: Page, line_ids: list[str], step: int) -> bool:
    """Move lines ``step`` places in their region's reading order. False when already at the end."""
    moved = False
    for region in page.regions:
        ids = [line.id for line in region.lines]
        chosen = [i for i, lid in enumerate(ids) if lid in line_ids]
        if not chosen:
            continue
        order = chosen if step < 0 else list(reversed(chosen))
        for i in order:
            j = i + step
            if 0 <= j < len(region.lines) and region.lines[j].id not in line_ids:
                region.lines[i], region.lines[j] = region.lines[j], region.lines[i]
                moved = True
    return moved


class LineTools(QObject):
    """Connects the line-tool actions and the page view's gestures to commands."""

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
        self._on_tool("select")

    def _on_tool(self, tool: str) -> None:
        for name in ("select", "draw", "split"):
            self.actions.by_name[f"tool_{name}"].setChecked(name == tool)

    def update_enabled(self) -> None:
        a = self.actions
        is_open = self.session.is_open
        n = len(self.view.selected_ids()) if is_open else 0
        editing = _editing() is not None
        for name in ("tool_select", "tool_draw", "tool_split"):
            a.by_name[name].setEnabled(is_open)
        a.tool_draw.setEnabled(is_open and editing)
        a.tool_split.setEnabled(is_open and editing)
        a.merge_lines.setEnabled(n >= 2 and editing)
        a.recompute_polygon.setEnabled(n >= 1 and editing)
        for name in ("delete_lines", "line_up", "line_down", "region_type"):
            a.by_name[name].setEnabled(n >= 1)

    def _push(self, title: str, mutate) -> PageEditCommand | None:
        index = self.session.current
        if index < 0:
            return None
        cmd = PageEditCommand(self.session, index, title, mutate)
        try:
            self.session.undo_stack.push(cmd)
        except HtrError as exc:
            self.controller.message.emit(f"{title}: {exc}")
            return None
        return cmd

    # ---------------------------------------------------------------- geometry
    def set_geometry(self, line_id: str, polygon: list, baseline: list) -> None:
        def mutate(page: Page):
            line = page.find_line(line_id)[1]
            line.polygon = [tuple(p) for p in polygon]
            line.baseline = [tuple(p) for p in baseline]

        self._push("Move points", mutate)

    def add_line(self, baseline: list) -> None:
        editing = _editing()
        if editing is None:
            return
        gray = self.controller.gray
        cmd = self._push("Draw line", lambda page: editing.add_line(page, baseline, gray))
        if cmd is not None and cmd.result is not None:
            self.view.select_lines([cmd.result.id])

    def split(self, line_id: str, x: int) -> None:
        editing = _editing()
        if editing is not None:
            self._push("Split line", lambda page: editing.split_line(page, line_id, x, self.controller.gray))

    def merge(self) -> None:
        editing = _editing()
        ids = self.view.selected_ids()
        if editing is not None and len(ids) >= 2:
            self._push("Merge lines", lambda page: editing.merge_lines(page, ids, self.controller.gray))

    def delete(self) -> None:
        ids = set(self.view.selected_ids())
        if not ids:
            return

        def mutate(page: Page):
            for region in page.regions:
                region.lines = [line for line in region.lines if line.id not in ids]

        self._push(f"Delete {len(ids)} line(s)", mutate)

    def recompute(self) -> None:
        editing = _editing()
        ids = self.view.selected_ids()
        if editing is None or not ids:
            return

        def mutate(page: Page):
            for lid in ids:
                editing.recompute_polygon(page, lid, self.controller.gray)

        self._push("Recompute polygon", mutate)

    # ---------------------------------------------------------------- order and types
    def move(self, step: int) -> None:
        ids = self.view.selected_ids() or [self.controller.editor.current_line_id()]
        ids = [i for i in ids if i]
        if ids:
            self._push("Reading order", lambda page: move_in_order(page, ids, step))
            self.view.select_lines(ids)

    def ask_region_type(self) -> None:
        page = self.session.current_page()
        ids = self.view.selected_ids()
        if page is None or not ids:
            return
        region = page.find_line(ids[0])[0]
        current = REGION_TYPES.index(region.type) if region.type in REGION_TYPES else 0
        kind, ok = QInputDialog.getItem(self.view, "Region type", f"Type of region {region.id}:",
                                        list(REGION_TYPES), current, False)
        if ok:
            self.set_region_type(ids, kind)

    def set_region_type(self, line_ids: list[str], kind: str) -> None:
        """Give the regions holding these lines the type ``kind``."""
        def mutate(page: Page):
            for lid in line_ids:
                found = page.find_line(lid)
                if found is not None:
                    found[0].type = kind

        self._push(f"Region type: {kind}", mutate)
