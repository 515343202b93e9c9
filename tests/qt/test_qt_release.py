"""PySide6 6.12 wheels lose a reference to None on many calls under Python < 3.12: the dependency excludes
that release, and the installed Qt must survive many calls (it fails on 6.12.0 with Python 3.11)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement

CODE = """
import os, sys
os.environ['QT_QPA_PLATFORM'] = 'offscreen'
import htrgui.qt
from PySide6.QtWidgets import QApplication, QWidget
app = QApplication([])
w = QWidget()
for _ in range(40000):  # far more than None's reference count (~10-20k) if each call lost one
    app.processEvents()
    w.setEnabled(True)
print('alive')
"""


def _pyside_requirements() -> list[Requirement]:
    data = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    return [r for r in map(Requirement, data["project"]["dependencies"]) if r.name.lower() == "pyside6-essentials"]


@pytest.mark.parametrize("python", ["3.10", "3.11", "3.12", "3.13"])
def test_the_dependency_excludes_pyside6_6_12_where_it_loses_references(python):
    env = {**default_environment(), "python_version": python}
    allowed = [r for r in _pyside_requirements() if r.marker is None or r.marker.evaluate(env)]
    assert len(allowed) == 1
    assert allowed[0].specifier.contains("6.11.3")
    assert allowed[0].specifier.contains("6.12.0") == (python >= "3.12")


def test_many_qt_calls_do_not_deallocate_none():
    result = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "alive"
