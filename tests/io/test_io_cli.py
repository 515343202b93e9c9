"""``htrgui convert`` and ``htrgui export`` on real and generated files."""

from __future__ import annotations

import shutil

import pytest
from PIL import Image

from htrgui.cli import main
from htrgui.core.document import TextLine, TextRegion
from htrgui.core.project import Project

from iohelpers import lxml_lines


@pytest.fixture
def alto_alone(shared_data, tmp_path):
    """A real ALTO file copied without its image."""
    src = sorted(shared_data.rglob("*.xml"))[0]
    dst = tmp_path / "in" / src.name
    dst.parent.mkdir()
    shutil.copy(src, dst)
    return src, dst


@pytest.mark.parametrize("fmt, suffix", [("page", ".xml"), ("alto", ".xml"), ("txt", ".txt")])
def test_convert_without_image(alto_alone, tmp_path, capsys, fmt, suffix, page_xsd, alto_xsd):
    original, copy = alto_alone
    out = tmp_path / "out"
    assert main(["convert", str(copy), "-o", str(out), "--to", fmt]) == 0
    err = capsys.readouterr().err
    assert "warning" in err and "not found" in err and copy.name in err
    result = out / f"{copy.stem}{suffix}"
    expected = lxml_lines(original)
    if fmt == "txt":
        text = result.read_text(encoding="utf-8")
        assert [t for t in text.split("\n") if t.strip()] == [ln["text"].strip() for ln in expected
                                                                if ln["text"].strip()]
    else:
        assert (page_xsd if fmt == "page" else alto_xsd).errors(result) == []
        assert [ln["id"] for ln in lxml_lines(result)] == [ln["id"] for ln in expected]


def test_convert_reports_bad_files_and_goes_on(alto_alone, tmp_path, capsys):
    _, good = alto_alone
    bad = tmp_path / "in" / "bad.xml"
    bad.write_text("<alto><Layout>", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["convert", str(bad), str(good), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad.xml" in err and "not well-formed" in err and "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == [good.name]


def test_convert_a_folder(alto_alone, tmp_path):
    _, copy = alto_alone
    out = tmp_path / "out"
    assert main(["convert", str(copy.parent), "-o", str(out), "--to", "txt"]) == 0
    assert [p.name for p in out.iterdir()] == [copy.stem + ".txt"]


def test_convert_refuses_to_overwrite_its_input(alto_alone, capsys):
    _, good = alto_alone
    before = good.read_bytes()
    assert main(["convert", str(good), "-o", str(good.parent)]) == 2
    assert "overwrite" in capsys.readouterr().err
    assert good.read_bytes() == before


def test_export_project(tmp_path, capsys, alto42_xsd):
    Image.new("L", (300, 200), 255).save(tmp_path / "a.png")
    Image.new("L", (300, 200), 255).save(tmp_path / "b.png")
    project = Project.open(tmp_path)
    page = project.load_page(project.entry("a"))
    lines = []
    for i, text in enumerate(["erste Zeile", "zweite Zeile"]):
        line = TextLine(f"l_{i}", [(10, 10 + 50 * i), (200, 10 + 50 * i), (200, 50 + 50 * i), (10, 50 + 50 * i)],
                        [(10, 45 + 50 * i), (200, 45 + 50 * i)])
        line.set_text(text)
        lines.append(line)
    page.regions = [TextRegion("r_0", [(5, 5), (250, 5), (250, 60), (5, 60)], lines=lines[:1]),
                    TextRegion("r_1", [(5, 60), (250, 60), (250, 120), (5, 120)], lines=lines[1:])]
    project.save_page(page)
    out = tmp_path / "export"
    assert main(["export", str(tmp_path), "-o", str(out), "--to", "txt"]) == 0
    err = capsys.readouterr().err
    assert "1 page(s) have no page/*.xml" in err and "[1/1]" in err
    assert (out / "a.txt").read_text(encoding="utf-8") == "erste Zeile\n\nzweite Zeile\n"
    assert main(["export", str(tmp_path), "-o", str(out), "--to", "alto"]) == 0
    assert alto42_xsd.errors(out / "a.xml") == []
    assert [ln["text"] for ln in lxml_lines(out / "a.xml")] == ["erste Zeile", "zweite Zeile"]


def test_help_documents_the_commands(capsys):
    for command in ("convert", "export"):
        with pytest.raises(SystemExit) as info:
            main([command, "--help"])
        assert info.value.code == 0
        assert "--to" in capsys.readouterr().out


def test_export_escriptorium_folder(shared_data, tmp_path, capsys, page_xsd):
    """A folder as eScriptorium exports it (scans with ALTO beside them) exports without being opened first."""
    pairs = [p for p in sorted(shared_data.rglob("*.xml")) if p.with_suffix(".jpg").exists()][:2]
    for xml in pairs:
        shutil.copy(xml, tmp_path)
        shutil.copy(xml.with_suffix(".jpg"), tmp_path)
    out = tmp_path / "out"
    assert main(["export", str(tmp_path), "-o", str(out), "--to", "page"]) == 0
    for xml in pairs:
        assert page_xsd.errors(out / xml.name) == []
        assert [ln["id"] for ln in lxml_lines(out / xml.name)] == [ln["id"] for ln in lxml_lines(xml)]
    assert "skipped" not in capsys.readouterr().err
