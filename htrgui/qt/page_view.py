"""The page view: the scan with regions, line polygons and baselines; zoom, pan, selection and line tools.

The view never changes the document itself: it emits what the person did (a line selected, points moved,
a baseline drawn, a split point clicked) and the window turns that into undoable commands.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QImage, QKeyEvent, QPainter, QPixmap
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsScene, QGraphicsView

from htrgui.core.document import Page
from htrgui.qt.page_items import SELECTED_COLOR, HandleItem, LineItem, RegionItem, cosmetic_pen, path_of

TOOLS = ("select", "draw", "split")
ZOOM_STEP = 1.25


class PageView(QGraphicsView):
    """Shows one page. Tools: ``select`` (click, rubber band, drag points), ``draw`` (click baseline points,
    double-click or Enter to finish, Esc to cancel) and ``split`` (click a line where it should be cut)."""

    #: Line ids selected in the view by the person (empty list when none).
    selection_changed = Signal(list)
    #: The selection was set from outside (the editor, a tool): not echoed as ``selection_changed``.
    selection_set = Signal(list)
    #: A line's points were dragged: line id, polygon, baseline.
    geometry_edited = Signal(str, list, list)
    #: A new baseline was drawn (list of points).
    line_drawn = Signal(list)
    #: Split line ``id`` at image x.
    split_requested = Signal(str, int)
    #: The tool changed (after a drawn line is finished the view goes back to ``select``).
    tool_changed = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.page: Page | None = None
        self.tool = "select"
        self._pixmap_item = None
        self._lines: dict[str, LineItem] = {}
        self._line_objs: dict = {}  # line id -> the document's line, for cheap status updates
        self._handles: list[HandleItem] = []
        self._draft: list[tuple[int, int]] = []
        self._draft_item: QGraphicsPathItem | None = None
        self._quiet = False
        self.scene().selectionChanged.connect(self._on_scene_selection)

    # ---------------------------------------------------------------- content
    def show_page(self, page: Page | None, image: QImage | None) -> None:
        """Show a new page (image and overlays) and fit it in the view."""
        self._quiet = True
        self.scene().clear()
        self._lines.clear()
        self._handles = []
        self._draft_item = None
        self._pixmap_item = None
        self.page = page
        if image is not None and not image.isNull():
            self._pixmap_item = self.scene().addPixmap(QPixmap.fromImage(image))
            self._pixmap_item.setZValue(0)
        if page is not None:
            self.scene().setSceneRect(QRectF(0, 0, page.width, page.height))
            self._add_overlays()
        self._quiet = False
        self.fit_page()

    def set_image(self, image: QImage | None) -> None:
        """The page image, once decoded (the overlays and the zoom stay)."""
        if self._pixmap_item is not None:
            self.scene().removeItem(self._pixmap_item)
            self._pixmap_item = None
        if image is not None and not image.isNull():
            self._pixmap_item = self.scene().addPixmap(QPixmap.fromImage(image))
            self._pixmap_item.setZValue(0)

    def refresh(self, keep_selection: bool = True) -> None:
        """Redraw the overlays from the document (after an edit), keeping the image and the zoom."""
        selected = self.selected_ids() if keep_selection else []
        self._quiet = True
        for item in list(self.scene().items()):
            if item is not self._pixmap_item and item.parentItem() is None:
                self.scene().removeItem(item)
        self._lines.clear()
        self._handles = []
        self._draft_item = None
        if self.page is not None:
            self._add_overlays()
        for lid in selected:
            if lid in self._lines:
                self._lines[lid].setSelected(True)
        self._quiet = False
        self._update_handles()
        if selected != self.selected_ids():
            self.selection_changed.emit(self.selected_ids())

    def _add_overlays(self) -> None:
        self._line_objs = {}
        order = 0
        for region in self.page.regions:
            if len(region.polygon) >= 3:
                self.scene().addItem(RegionItem(region))
            for line in region.lines:
                item = LineItem(line, order)
                self._line_objs[line.id] = line
                order += 1
                self.scene().addItem(item)
                self._lines[line.id] = item

    def update_line_status(self, line_id: str) -> None:
        """Recolour one line after its status changed (no full redraw)."""
        item = self._lines.get(line_id)
        line = self._line_objs.get(line_id)
        if item is not None and line is not None:
            item.status = line.status
            item._style()

    # ---------------------------------------------------------------- selection
    def selected_ids(self) -> list[str]:
        """Selected line ids in reading order."""
        chosen = {i.line_id for i in self.scene().selectedItems() if isinstance(i, LineItem)}
        return [lid for lid in self._lines if lid in chosen]

    def select_lines(self, line_ids: list[str], center: bool = True) -> None:
        """Select these lines (from the editor) without echoing the change back."""
        self._quiet = True
        self.scene().clearSelection()
        for lid in line_ids:
            if lid in self._lines:
                self._lines[lid].setSelected(True)
        self._quiet = False
        self._update_handles()
        if center and line_ids and line_ids[0] in self._lines:
            self.ensureVisible(self._lines[line_ids[0]], 40, 40)
        self.selection_set.emit(self.selected_ids())

    def _on_scene_selection(self) -> None:
        if self._quiet:
            return
        self._update_handles()
        self.selection_changed.emit(self.selected_ids())

    # ---------------------------------------------------------------- point handles
    def _update_handles(self) -> None:
        """One selected line in the select tool shows its points as draggable handles."""
        for h in self._handles:
            self.scene().removeItem(h)
        self._handles = []
        ids = self.selected_ids()
        if self.tool != "select" or len(ids) != 1 or self.page is None:
            return
        found = self.page.find_line(ids[0])
        if found is None:
            return
        line = found[1]
        for kind, points in (("polygon", line.polygon), ("baseline", line.baseline)):
            for n, p in enumerate(points):
                h = HandleItem(p, kind, n, self._on_handle_move, self._on_handle_release)
                self.scene().addItem(h)
                self._handles.append(h)

    def _handle_points(self) -> tuple[list, list]:
        poly = [h.point() for h in self._handles if h.kind == "polygon"]
        base = [h.point() for h in self._handles if h.kind == "baseline"]
        return poly, base

    def _on_handle_move(self, handle: HandleItem) -> None:
        ids = self.selected_ids()
        if len(ids) == 1 and ids[0] in self._lines:
            self._lines[ids[0]].set_points(*self._handle_points())

    def _on_handle_release(self, handle: HandleItem) -> None:
        ids = self.selected_ids()
        if len(ids) != 1 or self.page is None:
            return
        poly, base = self._handle_points()
        line = self.page.find_line(ids[0])[1]
        if poly != list(line.polygon) or base != list(line.baseline):
            self.geometry_edited.emit(ids[0], poly, base)

    # ---------------------------------------------------------------- tools
    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}")
        self._cancel_draft()
        self.tool = tool
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag if tool == "select"
                         else QGraphicsView.DragMode.NoDrag)
        self.viewport().setCursor(Qt.CursorShape.ArrowCursor if tool == "select" else Qt.CursorShape.CrossCursor)
        self._update_handles()
        self.tool_changed.emit(tool)

    def _image_point(self, event) -> tuple[int, int]:
        p = self.mapToScene(event.position().toPoint())
        return int(round(p.x())), int(round(p.y()))

    def mousePressEvent(self, event) -> None:
        if self.tool == "draw" and event.button() == Qt.MouseButton.LeftButton:
            self._draft.append(self._image_point(event))
            self._draw_draft()
            return
        if self.tool == "split" and event.button() == Qt.MouseButton.LeftButton:
            x, y = self._image_point(event)
            hit = [i for i in self.items(event.position().toPoint()) if isinstance(i, LineItem)]
            if hit:
                self.split_requested.emit(hit[0].line_id, x)
            return
        if event.button() == Qt.MouseButton.MiddleButton:
            self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        super().mouseReleaseEvent(event)
        if event.button() == Qt.MouseButton.MiddleButton:
            self.set_tool(self.tool)

    def mouseDoubleClickEvent(self, event) -> None:
        if self.tool == "draw":
            # the double click's point ends the line (finish_draft drops it when the press already added it)
            self._draft.append(self._image_point(event))
            self.finish_draft()
            return
        super().mouseDoubleClickEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.tool == "draw" and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.finish_draft()
            return
        if self.tool != "select" and event.key() == Qt.Key.Key_Escape:
            self.set_tool("select")
            return
        super().keyPressEvent(event)

    def _draw_draft(self) -> None:
        if self._draft_item is None:
            self._draft_item = QGraphicsPathItem()
            self._draft_item.setPen(cosmetic_pen(SELECTED_COLOR, 2.5))
            self._draft_item.setZValue(5)
            self.scene().addItem(self._draft_item)
        self._draft_item.setPath(path_of(self._draft))

    def finish_draft(self) -> None:
        """End drawing: two or more distinct points become a new line (a double click adds a duplicate)."""
        points = []
        for p in self._draft:
            if not points or points[-1] != p:
                points.append(p)
        self._cancel_draft()
        if len(points) >= 2:
            self.line_drawn.emit(sorted(points))
        self.set_tool("select")

    def _cancel_draft(self) -> None:
        self._draft = []
        if self._draft_item is not None:
            self.scene().removeItem(self._draft_item)
            self._draft_item = None

    # ---------------------------------------------------------------- zoom
    def wheelEvent(self, event) -> None:
        # the wheel zooms (as in every image viewer); Shift+wheel scrolls sideways, Ctrl+wheel scrolls
        if event.modifiers() & (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier):
            super().wheelEvent(event)
            return
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom(ZOOM_STEP ** steps)

    def zoom(self, factor: float) -> None:
        scale = self.transform().m11() * factor
        if 0.02 <= scale <= 20:
            self.scale(factor, factor)

    def zoom_level(self) -> float:
        return self.transform().m11()

    def fit_page(self) -> None:
        if self.page is not None:
            self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def fit_width(self) -> None:
        if self.page is None or not self.page.width:
            return
        avail = self.viewport().width() - 4
        self.resetTransform()
        self.scale(avail / self.page.width, avail / self.page.width)
        self.centerOn(QPointF(self.page.width / 2, 0))
