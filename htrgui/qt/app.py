"""QApplication set-up and the ``run`` entry point of the desktop app.

The look follows the system's light or dark scheme (Qt 6.5+ reports it; the Fusion style then paints with a
matching palette) unless the user chose one in the preferences. Uncaught exceptions become error dialogs.
The app names its icon and its desktop file (docks on Wayland match windows to menu entries by that name),
and opens files the system hands it in a QFileOpenEvent (macOS: dropped on the Dock icon, "Open With").
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from htrgui.qt.appicon import window_icon
from htrgui.qt.theme import apply_theme

#: Basename of the Linux menu entry (installer/linux/htrgui.desktop): the Wayland app id.
DESKTOP_FILE_NAME = "htrgui"


def create_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication([sys.argv[0], *(argv or [])])
    app.setOrganizationName("htrgui")
    app.setApplicationName("htrgui")
    app.setApplicationDisplayName("htrgui")
    QGuiApplication.setDesktopFileName(DESKTOP_FILE_NAME)
    app.setWindowIcon(window_icon())  # installer/make_icons.py draws the platform icons the same way
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


def process_age() -> float | None:
    """Seconds since this process was started (Linux: /proc), None elsewhere: start-up measured from the
    launch, interpreter start and imports included, not from the first line of our code."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])  # field 22, after the command name
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        return round(uptime - start_ticks / os.sysconf("SC_CLK_TCK"), 3)
    except (OSError, ValueError, IndexError):
        return None


class FirstPaint(QObject):
    """``--measure-startup``: once the main window has painted for the first time (it is on screen, drawn),
    print when (Unix time, for a launcher that noted its own start) and quit."""

    def __init__(self, window: QObject, app: QApplication) -> None:
        super().__init__(window)
        self.app = app
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            print(json.dumps({"startup": {"window_painted_unix": time.time(), "process_age_s": process_age(),
                                          "platform": QGuiApplication.platformName()}}), flush=True)
            QTimer.singleShot(0, self.app.quit)
        return False


def run(argv: list[str], measure_startup: bool = False) -> int:
    """Start the window; an argument is a folder or scan to open. ``measure_startup``: quit once the window
    has painted, printing the time as JSON (benchmarks/startup.py, installer/smoke_linux.sh)."""
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
    if measure_startup:
        FirstPaint(window, app)
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
