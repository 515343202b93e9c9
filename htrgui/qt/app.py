"""QApplication set-up and the ``run`` entry point of the desktop app."""

from __future__ import annotations

import sys


def run(argv: list[str]) -> int:
    from PySide6.QtWidgets import QApplication, QMainWindow

    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setOrganizationName("htrgui")
    app.setApplicationName("htrgui")
    window = QMainWindow()
    window.setWindowTitle("htrgui")
    window.resize(1200, 800)
    window.show()
    return app.exec()
