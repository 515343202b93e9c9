"""The first-start probe: without a display, or without the xcb plugin's libraries, one clear line and exit 3
instead of Qt's abort; the README and CI install the same Debian packages the probe names."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from htrgui.qt import platform_check
from htrgui.qt.platform_check import DEBIAN_PACKAGES, XCB_LIBRARIES, missing_libraries, problem

REPO = Path(__file__).resolve().parents[2]


def _qxcb() -> Path:
    import PySide6

    path = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    if not path.exists():
        pytest.skip("PySide6 without the xcb plugin (not Linux)")
    return path


def test_probe_agrees_with_ldd_on_the_real_plugin():
    """What ``ldd libqxcb.so`` says is missing is what the probe says is missing (checked independently)."""
    if shutil.which("ldd") is None:
        pytest.skip("no ldd")
    out = subprocess.run(["ldd", str(_qxcb())], capture_output=True, text=True, check=False).stdout
    not_found = {m.group(1) for m in re.finditer(r"^\s*(\S+) => not found", out, re.M)}
    assert not_found <= set(XCB_LIBRARIES), not_found - set(XCB_LIBRARIES)  # the table knows each one
    assert set(missing_libraries()) == not_found & set(XCB_LIBRARIES)


def test_problem_names_packages_and_only_on_linux_xcb():
    fake = {"libxcb-icccm.so.4": "libxcb-icccm4", "libhtrgui-does-not-exist.so.9": "libhtrgui-test0"}
    line = problem({"DISPLAY": ":0"}, "linux", fake)
    assert line is not None and "\n" not in line
    assert "libhtrgui-does-not-exist.so.9" in line and "sudo apt install" in line and "libhtrgui-test0" in line
    assert problem({}, "linux", fake).startswith("htrgui: no display")
    assert problem({"QT_QPA_PLATFORM": "offscreen"}, "linux", fake) is None
    assert problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux", fake) is None
    assert problem({}, "darwin", fake) is None and problem({}, "win32", fake) is None


def _run_app(env_changes: dict[str, str | None]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update({k: v for k, v in env_changes.items() if v is not None})
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-m", "htrgui"], env=env, capture_output=True, text=True, timeout=120)


def test_no_display_is_one_line_and_exit_3(tmp_path):
    result = _run_app({"HTRGUI_HOME": str(tmp_path)})
    assert result.returncode == platform_check.EXIT_NO_WINDOW, result.stderr[-2000:]
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "no display" in lines[0]


def test_missing_xcb_libraries_are_named_before_qt_aborts(tmp_path):
    missing = missing_libraries()
    if not missing:
        pytest.skip("every xcb library is installed here: nothing to report")
    result = _run_app({"HTRGUI_HOME": str(tmp_path), "DISPLAY": ":99"})  # no X server needed: we stop first
    assert result.returncode == platform_check.EXIT_NO_WINDOW, result.stderr[-2000:]
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and all(XCB_LIBRARIES[m] in lines[0] for m in missing)


def test_readme_and_ci_install_the_same_packages():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    for package in DEBIAN_PACKAGES:
        assert re.search(rf"(?<![\w-]){re.escape(package)}(?![\w-])", readme), f"README lacks {package}"
        assert re.search(rf"(?<![\w-]){re.escape(package)}(?![\w-])", ci), f".ci/run lacks {package}"
