"""QApplication set-up and the ``run`` entry point of the desktop app.

The look follows the system's light or dark scheme (Qt 6.5+ reports it; the Fusion style then paints with a
matching palette) unless the user chose one in the preferences. Uncaught exceptions become error dialogs.
"""

from __future__ import annotations

import sys

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from htrgui.qt.theme import apply_theme

def create_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication([sys.argv[0], *(argv or [])])
    app.setOrganizationName("htrgui")
    app.setApplicationName("htrgui")
    app.setApplicationDisplayName("htrgui")
    return app


def run(argv: list[str]) -> int:
    """Start the window; an argument is a folder or scan to open."""
    from htrgui.qt.platform_check import check_or_exit

    check_or_exit()  # one readable line and exit 3, before Qt would abort on a missing display or library
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
