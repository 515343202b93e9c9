"""The installer's bundle policy (installer/bundle.py, htrgui.spec) against the real source tree and libraries.

Building takes minutes, so these fast checks catch the usual breakages first: a Qt module the GUI starts using
while the spec excludes it, a prune pattern that removes a library the app loads, a broken launcher, or an
install script that leaves a dangling menu entry.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INSTALLER = REPO / "installer"
sys.path.insert(0, str(INSTALLER))
import bundle  # noqa: E402

import htrgui  # noqa: E402


def imported_modules(root: Path) -> dict[str, str]:
    """Every absolute module name imported in ``root``'s Python files -> one file importing it."""
    found: dict[str, str] = {}
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                found.setdefault(name, str(path.relative_to(REPO)))
    return found


def test_spec_compiles_and_points_at_existing_files():
    spec = (INSTALLER / "htrgui.spec").read_text(encoding="utf-8")
    compile(spec, "htrgui.spec", "exec")
    assert '"launcher.py"' in spec and (INSTALLER / "launcher.py").is_file()
    assert "collect_submodules(\"htrgui\")" in spec  # the CLI finds its subcommands at run time
    for src, dest in bundle.datas():
        assert Path(src).is_dir() and dest in ("resources", "models")


def test_nothing_the_app_imports_is_excluded():
    imports = imported_modules(REPO / "htrgui")
    excluded_top = set(bundle.EXCLUDED_MODULES)
    excluded_qt = set(bundle.EXCLUDED_QT_MODULES)
    clashes = {name: where for name, where in imports.items()
               if name.split(".")[0] in excluded_top or ".".join(name.split(".")[:2]) in excluded_qt}
    assert not clashes, f"installer/bundle.py excludes modules the app imports: {clashes}"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_prune_patterns_keep_every_library_the_app_loads():
    """Load torch (and train one step), OpenCV, Pillow, pdfium and a shown Qt window, with the excluded modules
    absent, then check that no shared library or module file that was loaded would be cut from the bundle."""
    absent = bundle.EXCLUDED_MODULES + bundle.EXCLUDED_QT_MODULES
    code = f"import sys\nfor name in {absent!r}:\n    sys.modules[name] = None\n" + r"""
import json, os, sys, site
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
import torch, cv2, PIL.Image, numpy, pypdfium2
m = torch.nn.Linear(4, 3); loss = m(torch.rand(2, 4)).sum(); loss.backward()
torch.optim.AdamW(m.parameters()).step()
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([]); w = QMainWindow(); w.show(); app.processEvents()
libs = set()
for line in open("/proc/self/maps"):
    parts = line.split()
    if len(parts) >= 6 and ".so" in parts[-1]:
        libs.add(parts[-1])
files = [getattr(mod, "__file__", None) for mod in list(sys.modules.values())]
print(json.dumps({"libs": sorted(libs), "files": [f for f in files if f], "site": site.getsitepackages()}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout.strip().splitlines()[-1])
    roots = [Path(p).resolve() for p in data["site"]]
    patterns = bundle.prune_patterns("cpu")
    cut = []
    for f in data["libs"] + data["files"]:
        path = Path(f).resolve()
        rel = next((path.relative_to(r).as_posix() for r in roots if path.is_relative_to(r)), None)
        # System libraries land at the top of the bundle under their own name.
        dest = rel if rel is not None else path.name
        if bundle.is_pruned(dest, patterns):
            cut.append(dest)
    # Files torch looks for at import without loading them (found missing in a frozen build once).
    cut += [f for f in ("torch/bin/torch_shm_manager",) if bundle.is_pruned(f, patterns)]
    assert not cut, f"prune patterns would remove files the app loads: {cut}"
    assert any("libtorch_cpu" in lib for lib in data["libs"])  # the check saw the real libraries


def test_artefact_names_are_versioned():
    name = bundle.artefact_name("cpu")
    assert name.startswith(f"htrgui-{htrgui.__version__}-") and name.endswith("-cpu")
    assert bundle.artefact_name("cuda", version="1.2.3", tag="windows-x64") == "htrgui-1.2.3-windows-x64-cuda"
    assert bundle.app_version() == htrgui.__version__
    assert bundle.platform_tag().split("-")[0] in ("linux", "windows", "macos")


def run_smoke_test(*args: str) -> tuple[int, dict, str]:
    """``launcher.py --smoke-test ARGS`` from source, with every module the bundle excludes made absent (as in
    the frozen build), so an exclusion the GUI cannot live without fails here rather than after a build."""
    absent = bundle.EXCLUDED_MODULES + bundle.EXCLUDED_QT_MODULES
    code = (
        "import sys\n"
        f"for name in {absent!r}:\n"
        "    sys.modules[name] = None  # what 'not bundled' looks like to an import\n"
        f"sys.path[:0] = [{str(INSTALLER)!r}, {str(REPO)!r}]\n"
        f"sys.argv = ['htrgui', '--smoke-test', *{list(args)!r}]\n"
        "import launcher\n"
        "sys.exit(launcher.main())\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240, cwd=REPO,
                         env=env)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no JSON from --smoke-test: {out.stdout}\n{out.stderr}"
    return out.returncode, json.loads(lines[-1])["smoke_test"], out.stderr


def test_launcher_smoke_test_opens_a_scan_and_reaches_the_event_loop(tmp_path):
    """The flag the frozen build's smoke test uses, run from source: the window shows with the folder open,
    then the app quits from inside its event loop."""
    from PIL import Image, ImageDraw

    scan = Image.new("L", (1200, 800), 235)
    draw = ImageDraw.Draw(scan)
    for y in range(120, 700, 90):
        draw.line([(100, y), (1000, y + 8)], fill=30, width=6)
    scan.save(tmp_path / "scan_001.png")
    code, result, err = run_smoke_test(str(tmp_path))
    assert code == 0, (result, err)
    assert result["event_loop"] and result["main_window"] and result["startup_s"] > 0
    assert result["pages"] == 1 and len(result["windows"]) == 1, result  # no error dialog
    # A path that does not exist: the app shows its error dialog, and the smoke test sees it.
    code, result, _ = run_smoke_test(str(tmp_path / "missing"))
    assert result["pages"] == 0 and any(w.startswith("QMessageBox") for w in result["windows"])


def test_windowed_launch_without_streams_logs_to_a_file(tmp_path):
    """A windowed frozen program starts with sys.stdout/stderr = None; the launcher gives them somewhere to go."""
    code = (
        "import sys, warnings\n"
        f"sys.path[:0] = [{str(INSTALLER)!r}, {str(REPO)!r}]\n"
        "sys.stdout = None; sys.stderr = None\n"
        "import launcher\n"
        "launcher.attach_missing_streams()\n"
        "print('to nowhere')\n"
        "warnings.warn('written to the log')\n"
        "sys.stderr.flush()\n"
    )
    env = dict(os.environ, HTRGUI_HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0 and out.stdout == "" and out.stderr == ""
    log = tmp_path / "data" / "htrgui-last-run.log"
    assert "written to the log" in log.read_text(encoding="utf-8")


def test_platform_scripts_name_the_programs_the_spec_builds():
    """The Windows installer and the macOS build call the programs by name: they must be the spec's."""
    import re

    programs = {bundle.APP_NAME, bundle.APP_NAME + "-cli"}
    spec = (INSTALLER / "htrgui.spec").read_text(encoding="utf-8")
    assert 'executable(bundle.APP_NAME + "-cli", console=True)' in spec
    iss = (INSTALLER / "windows" / "htrgui.iss").read_text(encoding="utf-8")
    used = set(re.findall(r"\{app\}\\([\w-]+)\.exe", iss))
    assert used and used <= programs, used
    ps1 = (INSTALLER / "build_windows.ps1").read_text(encoding="utf-8")
    assert set(re.findall(r"dist\\htrgui\\([\w-]+)\.exe", ps1)) <= programs
    mac = (INSTALLER / "build_macos.sh").read_text(encoding="utf-8")
    assert set(re.findall(r"Contents/MacOS/([\w-]+)", mac)) <= programs
    # the installer's output name is the versioned artefact name the build script passes
    assert "/DOutputBaseName=$Name-setup" in ps1 and "OutputBaseFilename={#OutputBaseName}" in iss
