"""The app names its icon and desktop file, and opens a file the system hands it in a QFileOpenEvent (macOS:
dropped on the Dock icon, "Open With") as ``htrgui FILE`` would: a real event, sent to the running app."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QFileOpenEvent, QGuiApplication
from PySide6.QtWidgets import QApplication, QMainWindow

pytestmark = pytest.mark.gui


def _main_windows(app):
    return [w for w in app.topLevelWidgets() if isinstance(w, QMainWindow) and w.isVisible()]


def test_running_app_opens_the_file_of_a_file_open_event(qapp, scans):
    from htrgui.qt.app import DESKTOP_FILE_NAME, run

    folder = scans
    scan = sorted(folder.glob("*.jpg"))[1]
    seen: dict = {}

    def drop() -> None:  # what macOS sends when a scan is dropped on the Dock icon
        QApplication.sendEvent(QApplication.instance(), QFileOpenEvent(str(scan)))
        QTimer.singleShot(0, look)

    def look() -> None:
        (win,) = _main_windows(qapp)
        session = win.session
        seen.update(folder=session.folder, current=session.entries[session.current].image_path,
                    icon=not win.windowIcon().isNull(), title=win.windowTitle())
        win.close()
        win.runner.shutdown()
        session.close()
        qapp.exit(0)

    QTimer.singleShot(0, drop)
    assert run([]) == 0
    assert seen["folder"].resolve() == folder.resolve()
    assert seen["current"].resolve() == scan.resolve()  # the dropped scan is shown, not the first one
    assert seen["icon"] and seen["title"] == "scans"
    assert QGuiApplication.desktopFileName() == DESKTOP_FILE_NAME == "htrgui"  # installer/linux/htrgui.desktop
    assert not qapp.windowIcon().isNull()


def test_a_file_opened_before_the_window_exists_waits_for_it(qapp, qtbot, scans, tmp_path):
    """Launched by a drop, macOS may send the event before the window is made."""
    from htrgui.qt.app import FileOpenHandler
    from htrgui.qt.main_window import MainWindow

    folder = tmp_path / "early"
    folder.mkdir()
    shutil.copy(sorted(scans.glob("*.jpg"))[0], folder)
    handler = FileOpenHandler(qapp)
    try:
        QApplication.sendEvent(qapp, QFileOpenEvent(str(folder)))
        assert handler.pending == [str(folder)]
        win = MainWindow(autosave_ms=200)
        qtbot.addWidget(win)
        win.show()
        handler.set_opener(win.open_path)
        assert handler.pending == [] and win.session.folder.resolve() == folder.resolve()
        # later events go straight to the window; events for other objects are left alone
        other = scans
        QApplication.sendEvent(qapp, QFileOpenEvent(str(other)))
        assert win.session.folder.resolve() == other.resolve()
        assert not handler.eventFilter(win, QFileOpenEvent(str(folder)))
        win.runner.shutdown()
        win.session.close()
    finally:
        qapp.removeEventFilter(handler)


def test_icon_file_is_the_one_the_installers_use():
    import sys

    from htrgui.qt.app import ICON_PATH
    from htrgui.core.paths import app_root

    sys.path.insert(0, str(app_root() / "installer"))
    import make_icons

    assert ICON_PATH.is_file() and make_icons.SOURCE == ICON_PATH
