"""Word export: real pages written as .docx, the package opened with zipfile and its XML read back."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from defusedxml import ElementTree as SafeET

from htrgui.cli import main
from htrgui.core.docxexport import docx_bytes, write_docx
from htrgui.core.document import Page, TextLine, TextRegion
from htrgui.core.io import export_pages, read_document

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def paragraphs(path: Path) -> list[list[tuple[str, dict]]]:
    """Per paragraph, its lines as (text, run properties) split at the line breaks."""
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        assert {"[Content_Types].xml", "_rels/.rels", "word/document.xml"} <= names
        rels = SafeET.fromstring(z.read("_rels/.rels"))
        assert [r.get("Target") for r in rels] == ["word/document.xml"]
        root = SafeET.fromstring(z.read("word/document.xml"))
    out = []
    for p in root.iter(f"{W}p"):
        lines, text, props = [], "", {}
        for r in p.findall(f"{W}r"):
            if r.find(f"{W}br") is not None:
                lines.append((text, props))
                text, props = "", {}
                continue
            text += "".join(t.text or "" for t in r.findall(f"{W}t"))
            rpr = r.find(f"{W}rPr")
            props = {local.tag[len(W):]: local.get(f"{W}val", "") for local in (rpr if rpr is not None else [])}
        if text or lines:
            lines.append((text, props))
            out.append(lines)
    return out


@pytest.mark.filterwarnings("ignore:.*not found")
def test_real_pages_keep_regions_lines_and_order(shared_data, tmp_path):
    for collection in ("poilus", "lectaurep", "stanford"):
        xml = sorted((shared_data / collection).rglob("*.xml"))[0]
        page = read_document(xml)
        out = tmp_path / f"{xml.stem}.docx"
        write_docx(page, out)
        got = paragraphs(out)
        want = [[ln.text for ln in r.lines if ln.text.strip()] for r in page.regions]
        assert [[t for t, _ in p] for p in got] == [w for w in want if w]
        assert docx_bytes(page) == out.read_bytes()  # the same page gives the same file


def test_unchecked_lines_are_marked_and_bad_characters_dropped(tmp_path):
    def line(n, text, status):
        return TextLine(id=f"l{n}", polygon=[(0, n * 20), (99, n * 20), (99, n * 20 + 15), (0, n * 20 + 15)],
                        baseline=[(0, n * 20 + 12), (99, n * 20 + 12)], text=text, status=status)

    body = TextRegion(id="r1", polygon=[(0, 0), (99, 0), (99, 99), (0, 99)],
                      lines=[line(0, "Anno dñi <1642> & ſ", "verified"), line(1, "a guess\x07", "predicted"),
                             line(2, "", "empty")])
    note = TextRegion(id="r2", type="marginalia", polygon=[(0, 0), (9, 0), (9, 9)],
                      lines=[line(3, "note", "verified")])
    empty = TextRegion(id="r3", polygon=[(0, 0), (9, 0), (9, 9)], lines=[line(4, " ", "empty")])
    page = Page(image_filename="scan.png", width=100, height=100, regions=[body, note, empty])
    write_docx(page, tmp_path / "p.docx")
    got = paragraphs(tmp_path / "p.docx")
    assert [[t for t, _ in p] for p in got] == [["Anno dñi <1642> & ſ", "a guess"], ["note"]]
    assert "u" not in got[0][0][1] and got[0][1][1]["u"] == "dotted"  # predicted: dotted underline
    assert "i" in got[1][0][1]  # marginalia in italics
    blank = Page(image_filename="b.png", width=10, height=10)
    write_docx(blank, tmp_path / "b.docx")
    assert paragraphs(tmp_path / "b.docx") == []


@pytest.mark.filterwarnings("ignore:.*not found")
def test_export_and_cli_write_docx(shared_data, tmp_path):
    xml = sorted((shared_data / "stanford").rglob("*.xml"))[0]
    progress = list(export_pages([(xml.stem, xml)], tmp_path / "a", "docx"))
    assert "error" not in progress[-1].info
    assert main(["convert", str(xml), "-o", str(tmp_path / "b"), "--to", "docx"]) == 0
    assert (tmp_path / "a" / f"{xml.stem}.docx").read_bytes() == (tmp_path / "b" / f"{xml.stem}.docx").read_bytes()
