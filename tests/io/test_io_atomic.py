"""Saving is atomic: a process killed in the middle of a save leaves the previous file intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from PIL import Image

from htrgui.core.document import TextLine, TextRegion
from htrgui.core.errors import HtrError
from htrgui.core.io import atomic_write_bytes
from htrgui.core.project import Project
from iohelpers import REPO


CHILD = textwrap.dedent("""
    import os, sys, time
    from htrgui.core.project import Project

    real_fsync = os.fsync

    def fsync_then_hang(fd):
        # the new content is in the temporary file; the rename has not happened yet
        real_fsync(fd)
        print("IN_SAVE", flush=True)
        time.sleep(120)

    project = Project.open(sys.argv[1])
    page = project.load_page(project.entries[0])
    for line in page.lines():
        line.set_text("CHANGED BY THE KILLED PROCESS")
    os.fsync = fsync_then_hang
    project.save_page(page)
""")


@pytest.fixture
def project(tmp_path):
    Image.new("L", (300, 200), 255).save(tmp_path / "scan.png")
    proj = Project.open(tmp_path)
    page = proj.load_page(proj.entries[0])
    line = TextLine("l_1", [(10, 10), (200, 10), (200, 60), (10, 60)], [(10, 50), (200, 50)])
    line.set_text("original text")
    page.regions.append(TextRegion("r_1", [(5, 5), (250, 5), (250, 100), (5, 100)], lines=[line]))
    proj.save_page(page)
    return proj


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_killed_save_keeps_the_old_file(project):
    xml = project.entries[0].xml_path
    before = xml.read_bytes()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(project.folder)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env, text=True)
    try:
        assert child.stdout.readline().strip() == "IN_SAVE", child.stderr.read()
        # the new document is on disk, in a temporary file beside the target
        temps = [p for p in xml.parent.iterdir() if p.name.startswith(f".{xml.name}.")]
        assert temps and b"CHANGED BY THE KILLED PROCESS" in temps[0].read_bytes()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
        child.stderr.close()
    assert xml.read_bytes() == before
    again = Project.open(project.folder)
    assert [e.name for e in again.entries] == ["scan"]  # the left-over temporary file is not a page
    assert [ln.text for ln in again.load_page(again.entries[0]).lines()] == ["original text"]


def test_failed_rename_cleans_up(tmp_path, monkeypatch):
    target = tmp_path / "f.xml"
    target.write_bytes(b"old")

    def broken(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(HtrError, match="No space left"):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.xml"]


def test_unwritable_page_is_refused_before_touching_the_file(project):
    page = project.load_page(project.entries[0])
    before = page.xml_path.read_bytes()
    page.width = 0
    with pytest.raises(HtrError, match="image size"):
        project.save_page(page)
    assert page.xml_path.read_bytes() == before


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_permissions_are_kept(tmp_path):
    target = tmp_path / "f.txt"
    target.write_bytes(b"old")
    target.chmod(0o640)
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new" and (target.stat().st_mode & 0o777) == 0o640
