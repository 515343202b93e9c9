"""A real wheel (``pip install .`` builds one) ships the default model and the bundled word lists inside the
package, and an installed copy finds them: no "default model is not installed" outside a checkout."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MODEL = "htrconvtext-small.pt"


def _sources(dst: Path) -> Path:
    """A clean copy of the checkout's tracked files (and the models), so the build leaves the checkout alone."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO, capture_output=True, check=True).stdout
    names = [n for n in files.decode().split("\0") if n]
    names += [f"models/{p.name}" for p in (REPO / "models").iterdir()]  # large files may be untracked
    for name in dict.fromkeys(names):
        src = REPO / name
        if src.is_file():
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / name)
    return dst


@pytest.mark.slow
def test_wheel_ships_the_model_and_the_installed_copy_finds_it(tmp_path):
    if not (REPO / "models" / MODEL).is_file() or shutil.which("git") is None:
        pytest.skip("no model in this checkout, or no git")
    src = _sources(tmp_path / "src")
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(wheels), str(src)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-3000:]
    wheel = next(wheels.glob("htrgui-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        assert f"htrgui/models/{MODEL}" in names and not any(n.endswith(".npz") for n in names)
        assert "htrgui/qt/appicon.py" in names  # the window icon is drawn, not a file
        assert {"htrgui/resources/wordlists/english.txt", "htrgui/resources/wordlists/english.copyright"} <= names
        assert zf.getinfo(f"htrgui/models/{MODEL}").file_size == (REPO / "models" / MODEL).stat().st_size
        target = tmp_path / "site"
        zf.extractall(target)  # what pip install puts in site-packages
    probe = ("from htrgui.core.paths import bundled_models_dir; "
             "from htrgui.core.recognition.library import default_model_path; "
             "from htrgui.core.recognition.lm import text_lines, word_list_path; "
             "print(bundled_models_dir()); print(default_model_path()); print(word_list_path('english')); "
             "print(len(text_lines('english')))")
    run = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "HTRGUI_HOME": str(tmp_path / "h")})
    assert run.returncode == 0, run.stderr[-3000:]
    folder, model, words, lines = run.stdout.split()
    assert Path(folder) == target / "htrgui" / "models" and Path(model) == target / "htrgui" / "models" / MODEL
    assert Path(words) == target / "htrgui" / "resources" / "wordlists" / "english.txt" and int(lines) > 8000
