"""QApplication set-up and the ``run`` entry point of the desktop app.

The look follows the system's light or dark scheme (Qt 6.5+ reports it; the Fusion style then paints with a
matching palette) unless the user chose one in the preferences. Uncaught exceptions become error dialogs.
"""

from __future__ import annotations

import gc
import sys
import threading

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


def preload_heavy_modules() -> threading.Thread:
    """Import torch and the engines in the background right after start-up.

    Loading torch's libraries holds Python's global lock for about half a second at a time; done by the first
    recognition job it would freeze the window then. Done at start-up, before the person has opened
    anything, it costs nothing they notice.
    """
    def work() -> None:
        try:
            import torch  # noqa: F401

            import htrgui.core.recognition.engine  # noqa: F401
            import htrgui.core.segmentation  # noqa: F401
            import htrgui.core.training.finetune  # noqa: F401

            # the first optimiser step imports torch._dynamo and sympy (~3 s of imports): do it here, not in
            # the middle of the first fine-tuning
            weight = torch.zeros(1, requires_grad=True)
            optimizer = torch.optim.AdamW([weight])
            weight.grad = torch.zeros(1)
            optimizer.step()
        except Exception:  # noqa: BLE001 - the job that needs them reports the error properly
            return
        # torch's objects live as long as the app: keep the garbage collector from walking them (its full
        # collections would otherwise pause the window for up to half a second)
        gc.freeze()

    thread = threading.Thread(target=work, name="htrgui-preload", daemon=True)
    thread.start()
    return thread


def create_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication([sys.argv[0], *(argv or [])])
    app.setOrganizationName("htrgui")
    app.setApplicationName("htrgui")
    app.setApplicationDisplayName("htrgui")
    return app


def run(argv: list[str]) -> int:
    """Start the window; an argument is a folder or scan to open."""
    app = create_app(argv)
    from htrgui.qt.dialogs.errors import install_excepthook
    from htrgui.qt.main_window import MainWindow
    from htrgui.qt.settings import load_settings

    install_excepthook()
    settings = load_settings()
    apply_theme(app, settings.theme)
    hints = QGuiApplication.styleHints()
    if hasattr(hints, "colorSchemeChanged"):
        hints.colorSchemeChanged.connect(lambda _s: apply_theme(app, settings.theme))
    window = MainWindow(settings)
    window.show()
    if argv:
        window.open_path(argv[0])
    elif settings.recent_projects:
        window.statusBar().showMessage("File ▸ Open recent, or open a folder of scans (Ctrl+O)", 10000)
    return app.exec()
