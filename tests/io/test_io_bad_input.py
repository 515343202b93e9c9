"""Hostile and broken inputs: a clear FormatError or a FormatWarning naming the file, never a traceback."""

from __future__ import annotations

import warnings

import pytest

from htrgui.core.errors import FormatError
from htrgui.core.io import FormatWarning, read_document
from htrgui.core.xmlsafe import ALTO4, PAGE2019

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<PcGts xmlns="{ns}"><Page imageFilename="a.png" imageWidth="10" imageHeight="10">&lol9;</Page></PcGts>
""".replace("{ns}", PAGE2019)

EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE PcGts [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<PcGts xmlns="{ns}"><Page imageFilename="&xxe;" imageWidth="10" imageHeight="10"/></PcGts>
""".replace("{ns}", PAGE2019)

EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE PcGts SYSTEM "http://example.invalid/evil.dtd">
<PcGts xmlns="{ns}"><Page imageFilename="a.png" imageWidth="10" imageHeight="10"/></PcGts>
""".replace("{ns}", PAGE2019)

LINE = """<TextRegion id="r"><Coords points="0,0 90,0 90,90 0,90"/>{lines}</TextRegion>"""


def _page(tmp_path, body: str, width="100", height="100", name="p.xml", image="a.png"):
    path = tmp_path / name
    path.write_text(f'<PcGts xmlns="{PAGE2019}"><Page imageFilename="{image}" imageWidth="{width}" '
                    f'imageHeight="{height}">{body}</Page></PcGts>', encoding="utf-8")
    return path


def _read(path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        page = read_document(path)
    return page, [str(w.message) for w in caught if issubclass(w.category, FormatWarning)]


@pytest.mark.parametrize("text", [BILLION_LAUGHS, EXTERNAL, EXTERNAL_DTD])
def test_hostile_xml_is_refused(tmp_path, text):
    path = tmp_path / "evil.xml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FormatError, match="DTD.*entit") as info:
        read_document(path)
    assert str(path) in str(info.value) and "refused" in str(info.value)


@pytest.mark.parametrize("text, words", [
    ("", "empty"),
    ("<PcGts><Page>", "not well-formed XML at line 1"),
    ("<html><body/></html>", "neither PAGE-XML nor ALTO"),
    (f'<PcGts xmlns="{PAGE2019}"><Metadata/></PcGts>', "no <Page>"),
    (f'<alto xmlns="{ALTO4}"><Description/></alto>', "Layout"),
    (f'<PcGts xmlns="{PAGE2019}"><Page imageFilename="a.png" imageWidth="wide" imageHeight="9"/></PcGts>',
     "not numbers"),
])
@pytest.mark.filterwarnings("ignore::htrgui.core.xmlsafe.FormatWarning")
def test_malformed_files_name_the_file(tmp_path, text, words):
    path = tmp_path / "bad.xml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FormatError, match=words) as info:
        read_document(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(FormatError, match="not found"):
        read_document(tmp_path / "nothing.xml")


def test_missing_image_with_size_is_a_warning(tmp_path):
    page, messages = _read(_page(tmp_path, ""))
    assert (page.width, page.height) == (100, 100) and page.image_path is None
    assert any("'a.png' not found" in m and "p.xml" in m for m in messages)


def test_zero_size_without_image_or_coordinates_is_an_error(tmp_path):
    with pytest.raises(FormatError, match="page size unknown"):
        read_document(_page(tmp_path, "", width="0", height="0"))


def test_zero_size_without_image_takes_the_extent_of_the_coordinates(tmp_path, page_xsd):
    from htrgui.core.pagexml import write_page

    lines = '<TextLine id="l"><Coords points="10,10 250,10 250,40 10,40"/><Baseline points="10,38 260,38"/></TextLine>'
    body = '<TextRegion id="r"><Coords points="5,5 255,5 255,120 5,120"/>' + lines + '</TextRegion>'
    page, messages = _read(_page(tmp_path, body, width="0", height="0"))
    assert (page.width, page.height) == (261, 121)
    assert any("extent of the coordinates" in m and "261x121" in m and "p.xml" in m for m in messages)
    out = tmp_path / "out.xml"
    write_page(page, out)
    assert page_xsd.errors(out) == []
    assert next(read_document(out).lines()).baseline == [(10, 38), (260, 38)]


def test_zero_size_is_taken_from_the_image(tmp_path):
    from PIL import Image

    Image.new("L", (64, 48), 255).save(tmp_path / "a.png")
    page, _ = _read(_page(tmp_path, "", width="0", height="0"))
    assert (page.width, page.height) == (64, 48)


def test_wrong_size_is_reported(tmp_path):
    from PIL import Image

    Image.new("L", (64, 48), 255).save(tmp_path / "a.png")
    _, messages = _read(_page(tmp_path, ""))
    assert any("100x100" in m and "64x48" in m for m in messages)


def test_lines_without_coordinates(tmp_path):
    lines = ('<TextLine id="nocoords"><TextEquiv><Unicode>x</Unicode></TextEquiv></TextLine>'
             '<TextLine id="onlybase"><Baseline points="10,50 80,50"/></TextLine>'
             '<TextLine id="float"><Coords points="1.5,2 80.2,2 80,40.7 1,40"/>'
             '<Baseline points="1,30.4 80,30"/></TextLine>'
             '<TextLine id="garbage"><Coords points="a,b c,d"/><Baseline points="1"/></TextLine>')
    page, messages = _read(_page(tmp_path, LINE.format(lines=lines)))
    ids = [ln.id for ln in page.lines()]
    assert ids == ["onlybase", "float"]
    assert any("nocoords" in m and "garbage" in m and "skipped" in m for m in messages)
    assert any("onlybase" in m for m in messages)
    only = page.regions[0].lines[0]
    assert len(only.polygon) >= 3 and only.baseline == [(10, 50), (80, 50)]
    assert page.regions[0].lines[1].polygon == [(2, 2), (80, 2), (80, 41), (1, 40)]  # rounded


def test_invalid_and_duplicate_ids_are_made_valid(tmp_path):
    lines = ('<TextLine id="1"><Coords points="0,0 9,0 9,9 0,9"/><Baseline points="0,8 9,8"/></TextLine>'
             '<TextLine id="r"><Coords points="0,10 9,10 9,19 0,19"/><Baseline points="0,18 9,18"/></TextLine>')
    page, messages = _read(_page(tmp_path, LINE.format(lines=lines)))
    ids = [page.regions[0].id] + [ln.id for ln in page.lines()]
    assert len(set(ids)) == 3 and ids[0] == "r"
    assert all(i[0].isalpha() or i[0] == "_" for i in ids)
    assert any("renamed" in m for m in messages)


def test_alto_in_millimetres_without_its_scan_is_refused(tmp_path):
    path = tmp_path / "mm.xml"
    path.write_text(f'<alto xmlns="{ALTO4}"><Description><MeasurementUnit>mm10</MeasurementUnit></Description>'
                    '<Layout><Page WIDTH="10" HEIGHT="10"/></Layout></alto>', encoding="utf-8")
    with pytest.raises(FormatError, match="mm10.*resolution.*not found"):
        read_document(path)


def test_two_point_region_box_and_placeholder_line(tmp_path):
    body = ('<TextRegion id="box"><Coords points="5,5 95,60"/>'
            '<TextLine id="ph"><Coords points="0,0 0,0"/><Baseline points="10,50 80,50"/></TextLine></TextRegion>')
    page, _ = _read(_page(tmp_path, body))
    region = page.regions[0]
    assert region.polygon == [(5, 5), (95, 5), (95, 60), (5, 60)]
    line = region.lines[0]
    assert (0, 0) not in line.polygon and line.baseline == [(10, 50), (80, 50)]


def test_missing_image_name_uses_the_scan_with_the_same_stem(tmp_path):
    from PIL import Image

    Image.new("L", (100, 100), 255).save(tmp_path / "p.png")
    page, messages = _read(_page(tmp_path, "", image=""))
    assert page.image_filename == "p.png" and page.image_path == tmp_path / "p.png"
    assert any("does not name its image" in m and "p.png" in m for m in messages)


def _deep_page(tmp_path, levels: int):
    region = '<TextRegion id="r{n}"><Coords points="0,0 9,0 9,9 0,9"/>'
    body = "".join(region.format(n=n) for n in range(levels)) + "</TextRegion>" * levels
    return _page(tmp_path, body, name=f"deep{levels}.xml")


def test_deeply_nested_file_is_refused_with_a_clear_message(tmp_path, capsys):
    from htrgui.cli import main
    from htrgui.core.xmlsafe import MAX_XML_DEPTH

    with pytest.raises(FormatError, match=f"nested more than {MAX_XML_DEPTH} levels"):
        read_document(_deep_page(tmp_path, 5000))
    # the whole command: one line naming the file, no RecursionError traceback
    assert main(["convert", str(tmp_path / "deep5000.xml"), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "deep5000.xml" in err and "nested more than" in err and "Traceback" not in err
    page, _ = _read(_deep_page(tmp_path, 20))  # nested regions as real files have them still read
    assert [r.id for r in page.regions] == ["r0"]
