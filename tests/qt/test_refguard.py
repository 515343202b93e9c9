"""PySide6 6.12 wheels lose a reference to None on many calls under Python < 3.12; the guard must hold."""

from __future__ import annotations

import subprocess
import sys

import pytest

CODE = """
import os, sys
os.environ['QT_QPA_PLATFORM'] = 'offscreen'
import htrgui.qt  # installs the guard
from PySide6.QtWidgets import QApplication, QWidget
app = QApplication([])
w = QWidget()
for _ in range(40000):  # far more than None's reference count (~10-20k) without the guard
    app.processEvents()
    w.setEnabled(True)
print('alive')
"""


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12 on")
def test_many_qt_calls_do_not_deallocate_none():
    result = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "alive"
