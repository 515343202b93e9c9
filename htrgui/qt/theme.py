"""The light and dark looks of the window (Fusion style, a dark palette, icons in the text colour)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

DARK = {
    QPalette.ColorRole.Window: QColor(45, 45, 48), QPalette.ColorRole.WindowText: QColor(230, 230, 230),
    QPalette.ColorRole.Base: QColor(30, 30, 32), QPalette.ColorRole.AlternateBase: QColor(45, 45, 48),
    QPalette.ColorRole.Text: QColor(230, 230, 230), QPalette.ColorRole.Button: QColor(55, 55, 58),
    QPalette.ColorRole.ButtonText: QColor(230, 230, 230), QPalette.ColorRole.Highlight: QColor(42, 110, 210),
    QPalette.ColorRole.HighlightedText: QColor(255, 255, 255), QPalette.ColorRole.ToolTipBase: QColor(60, 60, 64),
    QPalette.ColorRole.ToolTipText: QColor(230, 230, 230), QPalette.ColorRole.PlaceholderText: QColor(150, 150, 150),
    QPalette.ColorRole.Link: QColor(100, 160, 255),
}


def system_is_dark() -> bool:
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    return scheme is not None and scheme() == Qt.ColorScheme.Dark


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, color in DARK.items():
        palette.setColor(role, color)
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(120, 120, 120))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(120, 120, 120))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor(120, 120, 120))
    return palette


def apply_theme(app: QApplication, theme: str = "system") -> str:
    """Apply ``system``, ``light`` or ``dark``; returns the look actually used (``light`` or ``dark``)."""
    app.setStyle("Fusion")
    dark = system_is_dark() if theme == "system" else theme == "dark"
    app.setPalette(dark_palette() if dark else app.style().standardPalette())
    import qtawesome as qta

    # icons drawn in the palette's text colour so they stay visible on both looks
    qta.reset_cache()
    qta.set_defaults(color=app.palette().color(QPalette.ColorRole.WindowText).name())
    return "dark" if dark else "light"
