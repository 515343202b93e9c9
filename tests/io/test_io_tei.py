"""TEI P5 export: real pages written and parsed back with defusedxml, zones and line texts checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from defusedxml import ElementTree as SafeET

from htrgui import __version__
from htrgui.cli import main
from htrgui.core.document import Page, TextLine, TextRegion
from htrgui.core.io import export_pages, read_document
from htrgui.core.teiexport import write_tei

from iohelpers import lxml_lines, points

T = "{http://www.tei-c.org/ns/1.0}"
XML_ID = "{http://www.w3.org/XML/1998/namespace}id"


def real_pages(shared_data: Path) -> list[Path]:
    """One ALTO page of each collection (the first by path)."""
    return [sorted((shared_data / c).rglob("*.xml"))[0] for c in ("poilus", "lectaurep", "stanford")]


def body_lines(root) -> list[tuple[str, str, str]]:
    """(region zone ref, line zone ref, text) of every ``lb`` in document order: the text is the lb's tail."""
    out = []
    for ab in root.iter(f"{T}ab"):
        for lb in ab.findall(f"{T}lb"):
            out.append((ab.get("facs"), lb.get("facs"), (lb.tail or "").rstrip("\n")))
    return out


def test_real_pages(shared_data, tmp_path):
    for xml in real_pages(shared_data):
        page = read_document(xml)
        out = tmp_path / f"{xml.stem}.tei.xml"
        write_tei(page, out)
        root = SafeET.parse(out).getroot()  # well-formed, and no entity tricks
        assert root.tag == f"{T}TEI"
        assert root.findtext(f"{T}teiHeader/{T}fileDesc/{T}titleStmt/{T}title") == page.image_filename
        assert root.find(f"{T}teiHeader/{T}fileDesc/{T}sourceDesc") is not None
        app = root.find(f"{T}teiHeader/{T}encodingDesc/{T}appInfo/{T}application")
        assert app.get("ident") == "htrgui" and app.get("version") == __version__
        surface = root.find(f"{T}facsimile/{T}surface")
        assert (surface.get("lrx"), surface.get("lry")) == (str(page.width), str(page.height))
        assert surface.find(f"{T}graphic").get("url") == page.image_filename

        zones = {z.get(XML_ID): z for z in surface.iter(f"{T}zone")}
        refs = [ref for ab in root.iter(f"{T}ab") for ref in [ab.get("facs")]]
        refs += [lb.get("facs") for lb in root.iter(f"{T}lb")]
        assert all(r.startswith("#") for r in refs)
        # every zone is referenced from the text exactly once, and every reference has its zone
        assert sorted(r[1:] for r in refs) == sorted(zones)

        # line texts and geometry, in reading order, as an independent parser (lxml) reads the ALTO file
        expected = lxml_lines(xml)
        got = body_lines(root)
        assert [t for _, _, t in got] == [ln["text"] for ln in expected]
        assert [lb.get("n") for lb in root.iter(f"{T}lb")] == [str(i) for i in range(1, len(expected) + 1)]
        for (region_ref, line_ref, _), line in zip(got, page.lines()):
            zone = zones[line_ref[1:]]
            assert zone.get("type") == "line" and points(zone.get("points")) == line.polygon
            assert zone in list(zones[region_ref[1:]])  # line zones nest in their region's zone


def test_escaping_status_and_ids(tmp_path):
    texts = ['a < b & "c" > d', "ſꝛ ꝑ e\u0301", "bad\x0ccontrol", ""]
    lines = [TextLine(f"l{i}", [(0, 10 * i), (50, 10 * i), (50, 10 * i + 8), (0, 10 * i + 8)], [], t)
             for i, t in enumerate(texts)]
    lines[0].status = "verified"
    lines[1].status, lines[1].confidence = "predicted", 0.876
    # an id that is not an NCName, and a line id equal to the surface's default id
    region = TextRegion("1 bad id", [], "marginalia", lines=lines)
    lines[2].id = "surface"
    page = Page("scan & co.jpg", 100, 60, [region])
    write_tei(page, tmp_path / "p.tei.xml")
    root = SafeET.parse(tmp_path / "p.tei.xml").getroot()
    assert [t for _, _, t in body_lines(root)] == ['a < b & "c" > d', "ſꝛ ꝑ e\u0301", "badcontrol", ""]
    lbs = list(root.iter(f"{T}lb"))
    assert [lb.get("cert") for lb in lbs] == ["high", "0.88", None, None]
    ids = [e.get(XML_ID) for e in root.iter() if e.get(XML_ID)]
    assert len(ids) == len(set(ids)) == 6  # surface, region, 4 lines
    ab = root.find(f"{T}text/{T}body/{T}div/{T}ab")
    assert ab.get("type") == "marginalia"
    region_zone = root.find(f"{T}facsimile/{T}surface/{T}zone")
    assert region_zone.get("points") == "0,0 50,0 50,38 0,38"  # no polygon: the lines' box
    assert root.findtext(f"{T}teiHeader/{T}fileDesc/{T}titleStmt/{T}title") == "scan & co.jpg"


def test_empty_page(tmp_path):
    write_tei(Page("empty.jpg", 10, 20), tmp_path / "e.tei.xml")
    root = SafeET.parse(tmp_path / "e.tei.xml").getroot()
    assert root.find(f"{T}text/{T}body/{T}div") is not None
    assert list(root.iter(f"{T}zone")) == [] and list(root.iter(f"{T}lb")) == []


@pytest.mark.filterwarnings("ignore:.*not found")
def test_export_pages_and_cli_write_tei(shared_data, tmp_path):
    xml = real_pages(shared_data)[2]
    progress = list(export_pages([(xml.stem, xml)], tmp_path / "a", "tei"))
    assert "error" not in progress[-1].info
    assert main(["convert", str(xml), "-o", str(tmp_path / "b"), "--to", "tei"]) == 0
    for folder in ("a", "b"):
        root = SafeET.parse(tmp_path / folder / f"{xml.stem}.tei.xml").getroot()
        assert [t for _, _, t in body_lines(root)] == [ln["text"] for ln in lxml_lines(xml)]


@pytest.mark.filterwarnings("ignore:.*not found")
def test_converting_a_folder_twice_skips_the_tei_it_wrote(shared_data, tmp_path):
    import shutil

    folder = tmp_path / "f"
    folder.mkdir()
    shutil.copy(real_pages(shared_data)[2], folder)
    for _ in range(2):  # the second run finds p.tei.xml beside p.xml and must not read it as input
        assert main(["convert", str(folder), "-o", str(folder), "--to", "tei"]) == 0
    assert sorted(p.name for p in folder.iterdir()) == sorted([real_pages(shared_data)[2].name,
                                                               real_pages(shared_data)[2].stem + ".tei.xml"])
