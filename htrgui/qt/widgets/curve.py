"""A live plot of training curves (loss, validation CER) drawn with QPainter: no plotting library needed.

Each series has its own vertical scale (loss and CER live on different ranges): the first series uses the left
axis, the second the right one; x is the training step, shared by all series.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPainterPath, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

#: Colours that read on light and dark backgrounds alike (blue, orange, green).
SERIES_COLOURS = ("#3b82f6", "#f59e0b", "#10b981")


@dataclass
class Series:
    """One curve: its label, unit shown on its axis, and its points in the order they came."""

    label: str
    unit: str = ""
    colour: str = SERIES_COLOURS[0]
    points: list[tuple[float, float]] = field(default_factory=list)

    def y_range(self) -> tuple[float, float]:
        """(low, high) of the values, widened a little so a flat curve is still drawn mid-height."""
        ys = [y for _, y in self.points if math.isfinite(y)]
        if not ys:
            return 0.0, 1.0
        low, high = min(ys), max(ys)
        if high - low < 1e-9:
            pad = abs(high) * 0.1 or 1.0
            return low - pad, high + pad
        pad = (high - low) * 0.05
        # Losses and error rates are >= 0: start the axis at 0 when the values come near it.
        bottom = 0.0 if 0 <= low < (high - low) else low - pad
        return bottom, high + pad


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values (1, 2 or 5 times a power of ten) covering [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    raw = (high - low) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-6:
        ticks.append(round(value, 10))
        value += step
    return ticks


def format_tick(value: float) -> str:
    """Short tick label: ``0.25``, ``12``, ``1.5e+03``."""
    if value == 0:
        return "0"
    if abs(value) >= 1000 or abs(value) < 0.01:
        return f"{value:.1e}"
    return f"{value:.3g}"


class CurveWidget(QWidget):
    """Plots up to three series against the step; call :meth:`add_point` as values arrive."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series: dict[str, Series] = {}
        self.x_label = "step"
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 180)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(560, 280)

    def add_series(self, key: str, label: str, unit: str = "") -> Series:
        """Declare a series (its order decides its axis and colour)."""
        colour = SERIES_COLOURS[len(self.series) % len(SERIES_COLOURS)]
        series = self.series.setdefault(key, Series(label, unit, colour))
        return series

    def add_point(self, key: str, x: float, y: float) -> None:
        """Append a value (NaN and inf are ignored: a diverging step must not wreck the scale)."""
        if not math.isfinite(y):
            return
        series = self.series.get(key) or self.add_series(key, key)
        series.points.append((float(x), float(y)))
        self.update()

    def clear(self) -> None:
        for series in self.series.values():
            series.points.clear()
        self.update()

    def x_range(self) -> tuple[float, float]:
        xs = [x for s in self.series.values() for x, _ in s.points]
        if not xs:
            return 0.0, 1.0
        low, high = min(xs), max(xs)
        return (low, high) if high > low else (low, low + 1.0)

    # ---------------------------------------------------------------- drawing
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
        metrics = QFontMetrics(self.font())
        margin = metrics.horizontalAdvance("0.000e+00") + 8
        plot = QRectF(margin, metrics.height() * 1.8, self.width() - 2 * margin,
                      self.height() - metrics.height() * 4.0)
        if plot.width() < 20 or plot.height() < 20:
            return
        text_colour = palette.color(QPalette.ColorRole.Text)
        grid = QColor(text_colour)
        grid.setAlpha(40)
        x_low, x_high = self.x_range()
        self._draw_x_axis(painter, plot, x_low, x_high, text_colour, grid, metrics)
        series = list(self.series.values())
        for index, s in enumerate(series[:3]):
            self._draw_series(painter, plot, s, index, x_low, x_high, grid, metrics)
        self._draw_legend(painter, plot, series, metrics, text_colour)
        if not any(s.points for s in series):
            painter.setPen(text_colour)
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, "waiting for the first values\u2026")
        painter.setPen(QPen(text_colour, 1))
        painter.drawRect(plot)

    def _draw_x_axis(self, painter: QPainter, plot: QRectF, low: float, high: float, text: QColor,
                     grid: QColor, metrics: QFontMetrics) -> None:
        for tick in nice_ticks(low, high, 6):
            x = plot.left() + (tick - low) / (high - low) * plot.width()
            painter.setPen(QPen(grid, 1))
            painter.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))
            painter.setPen(text)
            label = format_tick(tick)
            painter.drawText(QPointF(x - metrics.horizontalAdvance(label) / 2, plot.bottom() + metrics.height()),
                             label)
        painter.drawText(QPointF(plot.center().x() - metrics.horizontalAdvance(self.x_label) / 2,
                                 plot.bottom() + metrics.height() * 2.1), self.x_label)

    def _draw_series(self, painter: QPainter, plot: QRectF, s: Series, index: int, x_low: float, x_high: float,
                     grid: QColor, metrics: QFontMetrics) -> None:
        colour = QColor(s.colour)
        y_low, y_high = s.y_range()

        def to_point(x: float, y: float) -> QPointF:
            return QPointF(plot.left() + (x - x_low) / (x_high - x_low) * plot.width(),
                           plot.bottom() - (y - y_low) / (y_high - y_low) * plot.height())

        # Ticks on this series' own axis, in its colour: left for the first series, right for the second.
        right = index == 1
        for tick in nice_ticks(y_low, y_high, 4):
            y = to_point(x_low, tick).y()
            if index == 0:
                painter.setPen(QPen(grid, 1))
                painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            if index > 1:
                continue
            painter.setPen(colour)
            label = format_tick(tick) + s.unit
            x = plot.right() + 4 if right else plot.left() - 4 - metrics.horizontalAdvance(label)
            painter.drawText(QPointF(x, y + metrics.ascent() / 2 - 1), label)
        if not s.points:
            return
        path = QPainterPath(to_point(*s.points[0]))
        for x, y in s.points[1:]:
            path.lineTo(to_point(x, y))
        painter.setPen(QPen(colour, 2))
        painter.drawPath(path)
        if len(s.points) <= 60:  # dots help read sparse series such as validation
            painter.setBrush(colour)
            for x, y in s.points:
                painter.drawEllipse(to_point(x, y), 2.5, 2.5)
            painter.setBrush(Qt.BrushStyle.NoBrush)

    def _draw_legend(self, painter: QPainter, plot: QRectF, series: list[Series], metrics: QFontMetrics,
                     text: QColor) -> None:
        x = plot.left()
        y = metrics.height() * 1.1
        for s in series[:3]:
            last = f" {format_tick(s.points[-1][1])}{s.unit}" if s.points else ""
            painter.setPen(QPen(QColor(s.colour), 3))
            painter.drawLine(QPointF(x, y - metrics.ascent() / 3), QPointF(x + 16, y - metrics.ascent() / 3))
            painter.setPen(text)
            label = f"{s.label}{last}"
            painter.drawText(QPointF(x + 20, y), label)
            x += 40 + metrics.horizontalAdvance(label)
