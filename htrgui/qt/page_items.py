"""Graphics items drawn over the scan: regions, line polygons, baselines and draggable point handles.

Scene coordinates are the page's image pixels, so the document's points are used as they are.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsItem, QGraphicsPathItem, QGraphicsPolygonItem

from htrgui.core.document import TextLine, TextRegion

#: Line outline colour per status: grey = no text yet, amber = model text, green = checked by a person.
STATUS_COLORS = {"empty": QColor(128, 128, 128), "predicted": QColor(230, 140, 0), "verified": QColor(30, 160, 60)}
SELECTED_COLOR = QColor(30, 110, 230)
REGION_COLOR = QColor(120, 60, 200)
HANDLE_SIZE = 9


def polygon_of(points: list[tuple[int, int]]) -> QPolygonF:
    return QPolygonF([QPointF(x, y) for x, y in points])


def path_of(points: list[tuple[int, int]]) -> QPainterPath:
    path = QPainterPath()
    if points:
        path.moveTo(*points[0])
        for x, y in points[1:]:
            path.lineTo(x, y)
    return path


def cosmetic_pen(color: QColor, width: float) -> QPen:
    """A pen whose width is in screen pixels whatever the zoom."""
    pen = QPen(color, width)
    pen.setCosmetic(True)
    return pen


class RegionItem(QGraphicsPolygonItem):
    """A region outline, dashed, not selectable (lines are what people click)."""

    def __init__(self, region: TextRegion) -> None:
        super().__init__(polygon_of(region.polygon))
        self.region_id = region.id
        pen = cosmetic_pen(REGION_COLOR, 1.5)
        pen.setStyle(Qt.PenStyle.DashLine)
        self.setPen(pen)
        self.setZValue(1)
        self.setToolTip(f"region {region.id} ({region.type})")


class LineItem(QGraphicsPolygonItem):
    """A line polygon with its baseline as a child item; selectable, coloured by status."""

    def __init__(self, line: TextLine, order: int) -> None:
        super().__init__(polygon_of(line.polygon))
        self.line_id = line.id
        self.status = line.status
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setZValue(2)
        self.baseline = QGraphicsPathItem(path_of(line.baseline), self)
        self.setToolTip(f"line {order + 1}: {line.text[:80]}" if line.text else f"line {order + 1}")
        self._style()

    def _style(self) -> None:
        selected = self.isSelected()
        color = SELECTED_COLOR if selected else STATUS_COLORS.get(self.status, STATUS_COLORS["empty"])
        self.setPen(cosmetic_pen(color, 2.5 if selected else 1.2))
        fill = QColor(color)
        fill.setAlpha(60 if selected else 22)
        self.setBrush(QBrush(fill))
        self.baseline.setPen(cosmetic_pen(color, 2.0))

    def itemChange(self, change, value):
        if change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self._style()
        return super().itemChange(change, value)

    def set_points(self, polygon: list[tuple[int, int]], baseline: list[tuple[int, int]]) -> None:
        self.setPolygon(polygon_of(polygon))
        self.baseline.setPath(path_of(baseline))


class HandleItem(QGraphicsEllipseItem):
    """A draggable point of a baseline or polygon; reports moves while dragging and once on release."""

    def __init__(self, pos: tuple[int, int], kind: str, number: int,
                 on_move: Callable[["HandleItem"], None], on_release: Callable[["HandleItem"], None]) -> None:
        size = HANDLE_SIZE if kind == "baseline" else HANDLE_SIZE - 3  # polygons have many points: smaller
        super().__init__(-size / 2, -size / 2, size, size)
        self.kind = kind  # "baseline" or "polygon"
        self.number = number
        self._on_move = on_move
        self._on_release = on_release
        self.setPos(QPointF(*pos))
        # constant size on screen whatever the zoom
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsMovable, True)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges, True)
        self.setZValue(10)
        color = SELECTED_COLOR if kind == "baseline" else QColor(240, 240, 240)
        self.setBrush(QBrush(color))
        self.setPen(cosmetic_pen(QColor(20, 20, 20), 1))
        self.setCursor(Qt.CursorShape.SizeAllCursor)
        self.setToolTip("drag to move this baseline point" if kind == "baseline" else "drag to move this polygon point")

    def point(self) -> tuple[int, int]:
        return int(round(self.pos().x())), int(round(self.pos().y()))

    def itemChange(self, change, value):
        result = super().itemChange(change, value)
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            self._on_move(self)
        return result

    def mouseReleaseEvent(self, event) -> None:
        super().mouseReleaseEvent(event)
        self._on_release(self)
