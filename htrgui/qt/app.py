"""QApplication set-up and the ``run`` entry point of the desktop app.

The look follows the system's light or dark scheme (Qt 6.5+ reports it; the Fusion style then paints with a
matching palette) unless the user chose one in the preferences. Uncaught exceptions become error dialogs.
The app names its icon and its desktop file (docks on Wayland match windows to menu entries by that name),
and opens files the system hands it in a QFileOpenEvent (macOS: dropped on the Dock icon, "Open With").
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication

from htrgui.qt.theme import apply_theme

#: The window icon; installer/make_icons.py makes the platform icons from the same file.
ICON_PATH = Path(__file__).resolve().parent / "icons" / "htrgui.png"
#: Basename of the Linux menu entry (installer/linux/htrgui.desktop): the Wayland app id.
DESKTOP_FILE_NAME = "htrgui"


def create_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication([sys.argv[0], *(argv or [])])
    app.setOrganizationName("htrgui")
    app.setApplicationName("htrgui")
    app.setApplicationDisplayName("htrgui")
    QGuiApplication.setDesktopFileName(DESKTOP_FILE_NAME)
    if ICON_PATH.is_file():
        app.setWindowIcon(QIcon(str(ICON_PATH)))
    return app


class FileOpenHandler(QObject):
    """Opens the files of QFileOpenEvents (sent to the application object) as ``htrgui FILE`` would.

    An event filter on the application rather than a QApplication subclass, so it also works when the
    QApplication was made elsewhere (the frozen smoke test, pytest-qt). macOS may send the event before the
    window exists (the app launched by a drop): paths wait in ``pending`` until ``open_with`` is set.
    """

    def __init__(self, app: QApplication, open_with: Callable[[str], object] | None = None) -> None:
        super().__init__(app)
        self.pending: list[str] = []
        self.open_with = open_with
        app.installEventFilter(self)

    def set_opener(self, open_with: Callable[[str], object]) -> None:
        self.open_with = open_with
        waiting, self.pending = self.pending, []
        for path in waiting:
            open_with(path)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        # A filter on the application sees every event of the app: the cheap identity test first.
        if watched is not self.parent() or event.type() != QEvent.Type.FileOpen:
            return False
        path = event.file() or event.url().toLocalFile()
        if not path:
            return False
        if self.open_with is None:
            self.pending.append(path)
        else:
            self.open_with(path)
        return True


def run(argv: list[str]) -> int:
    """Start the window; an argument is a folder or scan to open."""
    from htrgui.qt.platform_check import check_or_exit

    check_or_exit()  # one readable line and exit 3, before Qt would abort on a missing display or library
    app = create_app(argv)
    opener = FileOpenHandler(app)  # before the window: a launch by a dropped file sends the event early
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
    opener.set_opener(window.open_path)
    try:
        return app.exec()
    finally:  # the application object may outlive this window (tests, the smoke test): no stale opener
        app.removeEventFilter(opener)
        opener.setParent(None)
