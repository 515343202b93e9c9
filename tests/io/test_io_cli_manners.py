"""Command-line manners a new user expects: paths without a subcommand, ``gui --help``, folders as inputs,
no empty output folder after a run where everything failed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from htrgui.cli import main, route
from htrgui.core.pagexml import write_page

from iohelpers import REPO, lxml_lines

SCAN = "poilus/batch-1/TestamentsDePoilus_will_AD78_0005-1"  # a real will of 12 lines


@pytest.fixture
def folder(shared_data, tmp_path):
    """A project folder: one real scan, a 0-byte "scan" and a text file pretending to be a JPEG."""
    d = tmp_path / "project"
    d.mkdir()
    shutil.copy((shared_data / SCAN).with_suffix(".jpg"), d)
    (d / "empty.jpg").write_bytes(b"")
    (d / "notes.jpg").write_text("not a scan", encoding="utf-8")
    return d


def test_paths_without_subcommand_mean_gui(tmp_path):
    (tmp_path / "scan.jpg").write_bytes(b"")
    assert route([str(tmp_path)]) == ["gui", str(tmp_path)]
    assert route([str(tmp_path / "scan.jpg")]) == ["gui", str(tmp_path / "scan.jpg")]
    assert route(["missing.jpg"]) == ["gui", "missing.jpg"]  # mistyped: said below, not "invalid choice"
    assert route(["convert"]) == ["convert"] and route(["--version"]) == ["--version"]
    assert route(["doctor", str(tmp_path)]) == ["doctor", str(tmp_path)]


def test_gui_help_prints_help_without_a_window(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["gui", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "usage: htrgui gui" in out and "FOLDER|SCAN" in out


def test_missing_path_is_one_line(capsys, tmp_path):
    assert main([str(tmp_path / "nope.jpg")]) == 2
    err = capsys.readouterr().err
    assert "nope.jpg: no such folder or file" in err and "invalid choice" not in err


def test_htrgui_folder_opens_the_window_on_it(folder, tmp_path):
    """The real program, offscreen: the window opens the folder (it lands in the recent projects)."""
    home = tmp_path / "home"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HTRGUI_HOME": str(home), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "htrgui", str(folder)], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        opened = False
        while time.time() < deadline and proc.poll() is None and not opened:
            time.sleep(0.3)
            opened = any(folder.name in p.read_text(encoding="utf-8", errors="replace")
                         for p in home.rglob("settings.json"))
        assert opened, (proc.poll(), proc.stdout.read().decode() if proc.poll() is not None else "")
    finally:
        proc.terminate()
        proc.wait(10)


def test_segment_a_folder(folder, tmp_path, capsys, page_xsd):
    out = tmp_path / "out"
    assert main(["segment", str(folder), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "empty.jpg" in err and "notes.jpg" in err  # said, not silently dropped
    result = out / (SCAN.rsplit("/", 1)[1] + ".xml")
    assert [p.name for p in out.iterdir()] == [result.name]
    assert page_xsd.errors(result) == [] and len(lxml_lines(result)) >= 8


def test_segment_a_folder_without_scans_says_so(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["segment", str(tmp_path / "empty"), "-o", str(tmp_path / "out")]) == 2
    assert "no scans" in capsys.readouterr().err


def test_export_a_folder_of_page_files(shared_data, tmp_path, capsys):
    from htrgui.core.io import read_document

    src = tmp_path / "pagefiles"
    src.mkdir()
    for stem in (SCAN, "poilus/batch-1/TestamentsDePoilus_will_AD78_0037-0"):
        write_page(read_document((shared_data / stem).with_suffix(".xml")), src / (stem.rsplit("/", 1)[1] + ".xml"))
    out = tmp_path / "out"
    assert main(["export", str(src), "-o", str(out), "--to", "txt"]) == 0
    assert sorted(p.suffix for p in out.iterdir()) == [".txt", ".txt"]
    assert "nothing to export" not in capsys.readouterr().err


def test_recognize_leaves_no_empty_output_when_everything_failed(folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["recognize", str(folder / "empty.jpg"), str(folder / "notes.jpg"), "-o", str(out),
                 "--lm", "none"]) == 2
    err = capsys.readouterr().err
    assert "empty.jpg" in err and "Traceback" not in err
    assert not out.exists()


def test_recognize_a_folder_keeps_its_stored_lines(folder, shared_data, tmp_path, capsys):
    shutil.copy((shared_data / SCAN).with_suffix(".xml"), folder)  # the eScriptorium ALTO beside the scan
    out = tmp_path / "out"
    assert main(["recognize", str(folder), "-o", str(out), "--lm", "none"]) == 0
    result = out / (SCAN.rsplit("/", 1)[1] + ".xml")
    expected = lxml_lines((shared_data / SCAN).with_suffix(".xml"))
    got = lxml_lines(result)
    assert [ln["id"] for ln in got] == [ln["id"] for ln in expected]
    assert sum(bool(ln["text"].strip()) for ln in got) >= len(got) // 2
