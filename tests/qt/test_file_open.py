"""The app names its icon and desktop file, and opens a file the system hands it in a QFileOpenEvent (macOS:
dropped on the Dock icon, "Open With") as ``htrgui FILE`` would: a real event, sent to the running app."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication

pytestmark = pytest.mark.gui


#: Runs in a fresh process (as the app does): run() installs app-wide state (excepthook, theme, a window that
#: outlives the event loop) that later tests of this session must not inherit.
DROP_SCRIPT = """
import json, sys
from PySide6.QtCore import QTimer
from PySide6.QtGui import QFileOpenEvent, QGuiApplication
from PySide6.QtWidgets import QApplication, QMainWindow
from htrgui.qt.app import run

app = QApplication([sys.argv[0]])
seen = {}

def drop():  # what macOS sends when a scan is dropped on the Dock icon
    QApplication.sendEvent(app, QFileOpenEvent(sys.argv[1]))
    QTimer.singleShot(0, look)

def look():
    (win,) = [w for w in app.topLevelWidgets() if isinstance(w, QMainWindow) and w.isVisible()]
    s = win.session
    seen.update(folder=str(s.folder), current=str(s.entries[s.current].image_path), title=win.windowTitle(),
                icon=not win.windowIcon().isNull(), desktop=QGuiApplication.desktopFileName())
    app.exit(0)

QTimer.singleShot(0, drop)
code = run([])
print(json.dumps({"code": code, **seen}))
"""


def test_running_app_opens_the_file_of_a_file_open_event(scans, tmp_path):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from htrgui.qt.app import DESKTOP_FILE_NAME

    scan = sorted(scans.glob("*.jpg"))[1]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HTRGUI_HOME=str(tmp_path / "home"))
    done = subprocess.run([sys.executable, "-c", DROP_SCRIPT, str(scan)], capture_output=True, text=True,
                          env=env, cwd=Path(__file__).resolve().parents[2], timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["code"] == 0 and Path(seen["folder"]).resolve() == scans.resolve()
    assert Path(seen["current"]).resolve() == scan.resolve()  # the dropped scan is shown, not the first one
    assert seen["icon"] and seen["title"] == "scans"
    assert seen["desktop"] == DESKTOP_FILE_NAME == "htrgui"  # installer/linux/htrgui.desktop's basename


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


def test_window_icon_is_the_installers_drawing(qtbot, tmp_path):
    import subprocess
    import sys

    from PIL import Image
    from htrgui.core.paths import app_root
    from htrgui.qt.app import create_app
    from htrgui.qt.appicon import draw_icon

    icon = create_app().windowIcon()  # the running QApplication gets the drawn icon
    assert not icon.isNull() and icon.availableSizes()
    out = app_root() / "build" / "icons" / "htrgui.png"
    done = subprocess.run([sys.executable, str(app_root() / "installer" / "make_icons.py")], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert list(Image.open(out).convert("RGBA").getdata()) == list(draw_icon(512).getdata())
