"""installer/smoke_linux.sh and its checker as the README runs them, short of the minutes-long build: a Python
without torch gets told what to install, --no-build without a build names the missing tarball, the checker
works without lxml and answers a missing output with JSON, not a traceback; ``gui --measure-startup`` (what
the smoke test and benchmarks/startup.py time from outside) reports the window's first paint."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INSTALLER = REPO / "installer"
PAGE = "poilus/batch-2/TestamentsDePoilus_will_AN_0183-0"  # smoke_linux.sh's default page

posix = pytest.mark.skipif(sys.platform == "win32" or not shutil.which("bash"), reason="POSIX scripts")


def script_copy(tmp_path: Path) -> Path:
    """The installer folder in a fresh 'checkout' (no dist/): what a clean clone has."""
    root = tmp_path / "clone"
    shutil.copytree(INSTALLER, root / "installer", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "htrgui").mkdir()
    shutil.copy(REPO / "htrgui" / "__init__.py", root / "htrgui")  # the version names the tarball
    return root


@posix
def test_smoke_with_a_python_without_torch_says_what_to_install(tmp_path, shared_data):
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=120)
    root = script_copy(tmp_path)
    env = dict(os.environ, PYTHON=str(bare / "bin" / "python"), HTRGUI_SHARED=str(shared_data.parent))
    env.pop("HTRGUI_BUILD_VENV", None)
    for args in ([], ["--no-build"]):  # before any building
        done = subprocess.run(["bash", str(root / "installer" / "smoke_linux.sh"), *args], capture_output=True,
                              text=True, env=env, timeout=120)
        assert done.returncode == 2, done.stderr
        assert "cannot run htrgui from source: ModuleNotFoundError: No module named 'torch'" in done.stderr
        assert "HTRGUI_BUILD_VENV=build/venv installer/smoke_linux.sh" in done.stderr
        assert "Traceback" not in done.stderr and not (root / "dist").exists() and not (root / "build").exists()
    done = subprocess.run(["bash", str(root / "installer" / "build_linux.sh")], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 2 and "has no torch" in done.stderr and "Traceback" not in done.stderr


@posix
def test_smoke_no_build_without_a_build_names_the_tarball(tmp_path, shared_data):
    root = script_copy(tmp_path)
    env = dict(os.environ, PYTHON=sys.executable, HTRGUI_SHARED=str(shared_data.parent))
    env.pop("HTRGUI_BUILD_VENV", None)
    done = subprocess.run(["bash", str(root / "installer" / "smoke_linux.sh"), "--no-build"], capture_output=True,
                          text=True, env=env, timeout=300)
    assert done.returncode == 2
    assert "dist/htrgui-" in done.stderr and "missing: build it first" in done.stderr
    assert "segment" not in done.stderr


def run_checker(args: list[str], block_lxml: bool) -> subprocess.CompletedProcess:
    """smoke_check.py in a Python where ``import lxml`` fails (the build venv has no lxml) or works."""
    code = ("import runpy, sys\n"
            + ("sys.modules['lxml'] = None\n" if block_lxml else "")
            + f"sys.argv = ['smoke_check.py', *{args!r}]\n"
            f"runpy.run_path({str(INSTALLER / 'smoke_check.py')!r}, run_name='__main__')\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_checker_needs_no_lxml_and_checks_a_real_page(tmp_path, shared_data, schemas):
    alto = shared_data / f"{PAGE}.xml"
    out = tmp_path / "page"
    conv = subprocess.run([sys.executable, "-m", "htrgui", "convert", str(alto), "-o", str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert conv.returncode == 0, conv.stderr
    page = out / alto.name
    args = ["--page", str(page), "--xsd", str(schemas / "pagecontent-2019-07-15.xsd"),
            "--ground-truth", str(alto), "--reference", str(page)]
    for block in (True, False):
        done = run_checker(args, block_lxml=block)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stdout + done.stderr
        summary = json.loads(done.stdout)
        assert summary["ok"] and summary["same_as_source_run"] and summary["lines"] >= 5
        assert summary["page_cer"] == 0  # the ground truth's own text, read back from the PAGE file
        if block:
            assert summary["schema"] in ("xmllint",) or summary["schema"].startswith("not checked")
        else:
            assert summary["schema"] == "lxml"
    # An invalid file is caught by whichever validator is there.
    bad = tmp_path / "bad.xml"
    bad.write_text(page.read_text(encoding="utf-8").replace("<TextLine ", "<TextLine bogus=\"1\" ", 1),
                   encoding="utf-8")
    done = run_checker(["--page", str(bad), "--xsd", args[3]], block_lxml=False)
    assert done.returncode == 1 and "not valid PAGE 2019 (lxml)" in json.loads(done.stdout)["failures"][0]


def test_checker_answers_a_missing_or_empty_output_with_json(tmp_path, schemas):
    empty = tmp_path / "empty.xml"
    empty.write_text("")
    for page in (empty, tmp_path / "missing.xml"):
        done = run_checker(["--page", str(page), "--xsd", str(schemas / "pagecontent-2019-07-15.xsd")],
                           block_lxml=True)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        result = json.loads(done.stdout)
        assert not result["ok"] and "cannot read the output" in result["failures"][0]


@pytest.mark.gui
def test_measure_startup_reports_the_first_paint(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HTRGUI_HOME=str(tmp_path))
    started = time.time()
    done = subprocess.run([sys.executable, "-m", "htrgui", "gui", "--measure-startup"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    ended = time.time()
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])["startup"]
    assert started < seen["window_painted_unix"] < ended and seen["platform"] == "offscreen"
    if sys.platform.startswith("linux"):  # counted from the process start, imports included
        assert 0 < seen["process_age_s"] <= ended - started + 0.05
