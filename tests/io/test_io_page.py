"""PAGE-XML as other tools write it: Transkribus 2013 dialect, explicit reading order, OCR-D prefixes,
status and provenance; everything the model does not interpret must survive a read-write cycle."""

from __future__ import annotations

import re
import warnings

import pytest

from htrgui.core.document import TextLine, TextRegion
from htrgui.core.io import FormatWarning, read_document
from htrgui.core.pagexml import write_page
from htrgui.core.xmlsafe import PAGE2013, PAGE2019, local

from iohelpers import lxml_root, read_with_warnings as _read

TRANSKRIBUS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<PcGts xmlns="{PAGE2013}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="{PAGE2013} http://schema.primaresearch.org/PAGE/gts/pagecontent/2013-07-15/pagecontent.xsd">
  <Metadata>
    <Creator>prov=University of Rostock/Institute of Mathematics/CITlab:::TRP</Creator>
    <Created>2020-03-05T10:11:12.000+01:00</Created>
    <LastChange>2020-03-06T10:11:12.000+01:00</LastChange>
    <TranskribusMetadata docId="123" pageId="456" pageNr="1" imgUrl="https://files.transkribus.eu/Get?id=XYZ" status="GT"/>
  </Metadata>
  <Page imageFilename="scan_0001.jpg" imageWidth="2000" imageHeight="1500">
    <Relations><Relation type="link" custom="relationType {{type:x;}}"><RegionRef regionRef="r1"/>
      <RegionRef regionRef="r2"/><RegionRef regionRef="g1"/></Relation></Relations>
    <TextRegion orientation="0.0" type="paragraph" id="r2" custom="readingOrder {{index:1;}} note {{text:see\\u0020back;}} structure {{type:paragraph;}}">
      <Coords points="100,500 1900,500 1900,900 100,900"/>
      <TextLine id="r2l2" custom="readingOrder {{index:1;}}">
        <Coords points="110,700 900,700 900,790 110,790"/>
        <Baseline points="110,780 900,782"/>
        <Word id="w1" custom="readingOrder {{index:1;}}">
          <Coords points="500,700 900,700 900,790 500,790"/>
          <TextEquiv><Unicode>world</Unicode></TextEquiv>
        </Word>
        <Word id="w0" custom="readingOrder {{index:0;}}">
          <Coords points="110,700 480,700 480,790 110,790"/>
          <TextEquiv><Unicode>Hello</Unicode></TextEquiv>
        </Word>
      </TextLine>
      <TextLine id="r2l1" rotated="no" custom="readingOrder {{index:0;}} textStyle {{offset:0; length:4;bold:true;}} person {{offset:5; length:4; firstname:Jan\\u0020Pieter;}}">
        <Coords points="110,510 900,510 900,600 110,600"/>
        <Baseline points="110,590 900,592"/>
        <TextEquiv conf="0.87"><Unicode>Dear John</Unicode></TextEquiv>
      </TextLine>
      <TextEquiv><Unicode>Dear John
Hello world</Unicode></TextEquiv>
    </TextRegion>
    <TextRegion id="r1" type="heading" custom="readingOrder {{index:0;}} structure {{type:heading;}}">
      <Coords points="100,100 1900,100 1900,300 100,300"/>
      <TextLine id="r1l1" custom="readingOrder {{index:0;}}">
        <Coords points="120,120 1000,120 1000,220 120,220"/>
        <TextEquiv><Unicode></Unicode></TextEquiv>
      </TextLine>
      <TextLine id="r1l2" custom="readingOrder {{index:1;}}">
        <TextEquiv><Unicode>lost</Unicode></TextEquiv>
      </TextLine>
    </TextRegion>
    <GraphicRegion id="g1"><Coords points="10,1000 300,1000 300,1400 10,1400"/></GraphicRegion>
  </Page>
</PcGts>
"""




@pytest.fixture
def transkribus(tmp_path):
    path = tmp_path / "page" / "scan_0001.xml"
    path.parent.mkdir()
    path.write_text(TRANSKRIBUS, encoding="utf-8")
    return path


def test_transkribus_reading_order_words_and_confidence(transkribus):
    page, messages = _read(transkribus)
    assert [r.id for r in page.regions] == ["r1", "r2"]  # custom readingOrder, not document order
    assert [ln.id for ln in page.regions[1].lines] == ["r2l1", "r2l2"]
    first, second = page.regions[1].lines
    assert second.text == "Hello world"  # folded from Words in their own reading order
    assert (first.text, first.confidence, first.status) == ("Dear John", 0.87, "predicted")
    assert first.source == "import:transkribus"
    assert page.regions[0].type == "heading" and page.regions[1].type == "paragraph"
    # the line without any geometry is skipped and named; the one without baseline gets one
    assert [ln.id for ln in page.regions[0].lines] == ["r1l1"]
    assert any("r1l2" in m and str(transkribus) in m for m in messages)
    assert any("r1l1" in m and "Baseline" in m for m in messages)
    bl = page.regions[0].lines[0].baseline
    assert len(bl) == 2 and bl[0][0] < bl[1][0]
    assert page.regions[0].lines[0].status == "empty"


def test_transkribus_to_page2019_validates_and_keeps_extras(transkribus, tmp_path, page_xsd):
    page, _ = _read(transkribus)
    out = tmp_path / "out.xml"
    write_page(page, out)
    assert page_xsd.errors(out) == []
    root = lxml_root(out)
    assert root.nsmap[None] == PAGE2019 and root.prefix is None
    xml = out.read_text(encoding="utf-8")
    assert "<Relations" not in xml  # Transkribus' n-ary links are invalid PAGE 2019: kept in UserDefined
    assert "&lt;Relations" in xml
    assert 'id="g1"' in xml and 'id="w0"' in xml and 'id="w1"' in xml
    assert 'orientation="0.0"' in xml
    customs = {e.get("id"): e.get("custom") for e in root.iter() if e.get("custom")}
    assert customs["r2"].startswith("readingOrder {index:1;}") and customs["r2"].endswith("structure {type:paragraph;}")
    # eScriptorium's own (greedy) pattern must still find the type in what we write
    assert re.search(r"structure\s?{.*?type:\s?(.+);", customs["r2"]).group(1) == "paragraph"
    assert "note {text:see\\u0020back;}" in customs["r2"]
    assert "person {offset:5; length:4; firstname:Jan\\u0020Pieter;}" in customs["r2l1"]
    ro = [(r.get("index"), r.get("regionRef")) for r in root.iter(f"{{{PAGE2019}}}RegionRefIndexed")]
    assert ro == [("0", "r1"), ("1", "r2")]

    again, _ = _read(out)
    kept = [lxml_root(s.encode()) for s in again.extras.elements]
    assert [local(e.tag) for e in kept if local(e.tag) == "Relations"] == ["Relations"]
    meta = [e for e in kept if local(e.tag) == "Metadata"]
    assert meta and meta[0][0].get("docId") == "123" and local(meta[0][0].tag) == "TranskribusMetadata"
    assert [ln.id for ln in again.lines()] == ["r1l1", "r2l1", "r2l2"]
    assert [ln.text for ln in again.lines()] == ["", "Dear John", "Hello world"]
    assert again.regions[1].extras.attrs.get("orientation") == "0.0"
    assert again.regions[1].lines[0].extras.attrs.get("rotated") == "no"  # not PAGE 2019: kept in UserDefined
    assert 'name="htrgui-attribute:rotated"' in xml
    # a second cycle writes the same document (apart from the LastChange time)
    out2 = tmp_path / "out2.xml"
    write_page(again, out2)
    strip = lambda s: re.sub(r"<LastChange>.*?</LastChange>", "", s)  # noqa: E731
    assert strip(out2.read_text(encoding="utf-8")) == strip(xml)


def test_changed_text_drops_words_and_offset_tags(transkribus, tmp_path, page_xsd):
    page, _ = _read(transkribus)
    first, second = page.regions[1].lines
    second.set_text("Hello there")
    first.set_text("Dear Jan")
    out = tmp_path / "out.xml"
    write_page(page, out)
    assert page_xsd.errors(out) == []
    xml = out.read_text(encoding="utf-8")
    assert 'id="w0"' not in xml and "textStyle" not in xml and "person {" not in xml
    again, _ = _read(out)
    a, b = again.regions[1].lines
    assert (a.text, a.status, a.source) == ("Dear Jan", "verified", "person")
    assert b.text == "Hello there"


def test_status_and_provenance_roundtrip(tmp_path, page_xsd):
    from htrgui.core.document import Page

    line = TextLine("l_a", [(10, 10), (200, 10), (200, 60), (10, 60)], [(10, 50), (200, 50)])
    line.set_text("Ab c", source="model:htrconvtext-small", confidence=0.734, char_confidences=[0.9, 0.5, 1.0, 0.25])
    empty = TextLine("l_b", [(10, 70), (200, 70), (200, 120), (10, 120)], [(10, 110), (200, 110)])
    done = TextLine("l_c", [(10, 130), (200, 130), (200, 180), (10, 180)], [(10, 170), (200, 170)])
    done.set_text("checked")
    page = Page("x.png", 300, 200, regions=[TextRegion("r_a", [(5, 5), (250, 5), (250, 190), (5, 190)],
                                                       type="MainZone", lines=[line, empty, done])])
    out = tmp_path / "p.xml"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_page(page, out)
        again = read_document(out)
    assert page_xsd.errors(out) == []
    a, b, c = again.lines()
    assert (a.status, a.source, a.text) == ("predicted", "model:htrconvtext-small", "Ab c")
    assert a.confidence == pytest.approx(0.734, abs=1e-4)
    assert a.char_confidences == pytest.approx([0.9, 0.5, 1.0, 0.25], abs=1 / 255)
    assert (b.status, b.text) == ("empty", "")
    assert (c.status, c.source) == ("verified", "person")
    assert again.regions[0].type == "MainZone"
    xml = out.read_text(encoding="utf-8")
    assert 'type="' not in xml.split("<TextRegion", 1)[1].split(">", 1)[0]  # not a PAGE @type value


def test_explicit_reading_order_and_prefixed_namespace(tmp_path):
    xml = f"""<pc:PcGts xmlns:pc="{PAGE2019}">
      <pc:Metadata><pc:Creator>ocrd</pc:Creator><pc:Created>2024-01-01T00:00:00</pc:Created>
        <pc:LastChange>2024-01-01T00:00:00</pc:LastChange></pc:Metadata>
      <pc:Page imageFilename="a.png" imageWidth="100" imageHeight="100">
        <pc:ReadingOrder><pc:OrderedGroup id="g" caption="x">
          <pc:RegionRefIndexed index="1" regionRef="ra"/><pc:RegionRefIndexed index="0" regionRef="rb"/>
        </pc:OrderedGroup></pc:ReadingOrder>
        <pc:TextRegion id="ra" custom="readingOrder {{index:0;}}"><pc:Coords points="0,0 50,0 50,40 0,40"/>
          <pc:TextLine id="la"><pc:Coords points="1,1 40,1 40,30 1,30"/><pc:Baseline points="1,25 40,25"/>
            <pc:TextEquiv><pc:Unicode>first in file</pc:Unicode></pc:TextEquiv></pc:TextLine></pc:TextRegion>
        <pc:TextRegion id="rb" custom="readingOrder {{index:1;}}"><pc:Coords points="0,50 50,50 50,90 0,90"/>
          <pc:TextLine id="lb"><pc:Coords points="1,51 40,51 40,80 1,80"/><pc:Baseline points="1,75 40,75"/>
            <pc:TextEquiv><pc:Unicode>first to read</pc:Unicode></pc:TextEquiv></pc:TextLine></pc:TextRegion>
      </pc:Page></pc:PcGts>"""
    path = tmp_path / "o.xml"
    path.write_text(xml, encoding="utf-8")
    page, _ = _read(path)
    assert [r.id for r in page.regions] == ["rb", "ra"]  # explicit ReadingOrder wins over custom and document
    assert page.text() == "first to read\n\nfirst in file\n"


TABLE = f"""<PcGts xmlns="{PAGE2013}">
  <Metadata><Creator>Transkribus</Creator><Created>2021-01-01T00:00:00</Created>
    <LastChange>2021-01-01T00:00:00</LastChange></Metadata>
  <Page imageFilename="t.jpg" imageWidth="1000" imageHeight="800">
    <Relations/>
    <TextRegion id="after" custom="readingOrder {{index:1;}}"><Coords points="0,700 900,700 900,790 0,790"/>
      <TextLine id="la"><Coords points="5,705 800,705 800,780 5,780"/><Baseline points="5,770 800,770"/>
        <TextEquiv><Unicode>below the table</Unicode></TextEquiv></TextLine></TextRegion>
    <TableRegion id="t1" custom="readingOrder {{index:0;}}">
      <Coords points="0,0 900,0 900,600 0,600"/>
      {"".join(f'''<TableCell row="{r}" col="{c}" rowSpan="1" colSpan="1" id="c{r}{c}">
        <Coords points="{c * 450},{r * 300} {c * 450 + 440},{r * 300} {c * 450 + 440},{r * 300 + 290} {c * 450},{r * 300 + 290}"/>
        <TextLine id="l{r}{c}"><Coords points="{c * 450 + 5},{r * 300 + 5} {c * 450 + 400},{r * 300 + 5} {c * 450 + 400},{r * 300 + 80} {c * 450 + 5},{r * 300 + 80}"/>
          <Baseline points="{c * 450 + 5},{r * 300 + 70} {c * 450 + 400},{r * 300 + 70}"/>
          <TextEquiv><Unicode>cell {r} {c}</Unicode></TextEquiv></TextLine>
        <CornerPts>0 1 2 3</CornerPts>
      </TableCell>''' for r, c in [(1, 1), (0, 1), (1, 0), (0, 0)])}
    </TableRegion>
  </Page>
</PcGts>"""


def test_transkribus_table_cells_become_regions(tmp_path, page_xsd):
    path = tmp_path / "t.xml"
    path.write_text(TABLE, encoding="utf-8")
    page, _ = _read(path)
    assert [r.id for r in page.regions] == ["c00", "c01", "c10", "c11", "after"]
    assert all(r.type == "table-cell" for r in page.regions[:4])
    assert page.text().split("\n\n")[:2] == ["cell 0 0", "cell 0 1"]
    out = tmp_path / "out.xml"
    write_page(page, out)
    assert page_xsd.errors(out) == []
    root = lxml_root(out)
    ns = {"p": PAGE2019}
    role = root.find(".//p:TextRegion[@id='c10']/p:Roles/p:TableCellRole", ns)
    assert (role.get("rowIndex"), role.get("columnIndex")) == ("1", "0")
    assert root.find(".//p:TableRegion[@id='t1']/p:Coords", ns) is not None
    assert root.find(".//p:Relations", ns) is None  # an empty Relations is invalid and means nothing
    assert "table {id:t1;}" in root.find(".//p:TextRegion[@id='c10']", ns).get("custom")
    again, _ = _read(out)
    assert [r.id for r in again.regions] == [r.id for r in page.regions]
    assert [ln.text for ln in again.lines()] == [ln.text for ln in page.lines()]
    out2 = tmp_path / "out2.xml"
    write_page(again, out2)
    strip = lambda s: re.sub(r"<LastChange>.*?</LastChange>", "", s)  # noqa: E731
    assert strip(out2.read_text(encoding="utf-8")) == strip(out.read_text(encoding="utf-8"))


def test_escriptorium_dummy_block_and_kraken_types(tmp_path, page_xsd):
    xml = f"""<PcGts xmlns="{PAGE2019}"><Metadata><Creator>escriptorium</Creator>
      <Created>2024-01-01T00:00:00</Created><LastChange>2024-01-01T00:00:00</LastChange></Metadata>
      <Page imageFilename="e.jpg" imageWidth="500" imageHeight="400">
        <TextRegion id="eSc_dummyblock_">
          <TextLine id="eSc_line_1" custom="type {{type:HeadingLine;}}"><Coords points="10,10 300,10 300,50 10,50"/>
            <Baseline points="10,45 300,45"/><TextEquiv><Unicode>Titel</Unicode></TextEquiv></TextLine>
          <TextLine id="eSc_line_2"><Coords points="10,60 300,60 300,100 10,100"/>
            <Baseline points="10,95 300,95"/><TextEquiv><Unicode>Text</Unicode></TextEquiv></TextLine>
        </TextRegion></Page></PcGts>"""
    path = tmp_path / "e.xml"
    path.write_text(xml, encoding="utf-8")
    page, _ = _read(path)
    region = page.regions[0]
    assert not region.id.startswith("eSc_dummyblock_")
    xs = [p[0] for p in region.polygon]
    ys = [p[1] for p in region.polygon]
    assert (min(xs), min(ys), max(xs), max(ys)) == (10, 10, 300, 100)  # the box around its lines
    assert [ln.type for ln in region.lines] == ["HeadingLine", ""]
    assert region.lines[0].source == "import:escriptorium"
    out = tmp_path / "out.xml"
    write_page(page, out)
    assert page_xsd.errors(out) == []
    assert "structure {type:HeadingLine;}" in out.read_text(encoding="utf-8")


def test_numpy_and_float_coordinates_are_written_as_integers(tmp_path, page_xsd):
    import numpy as np

    from htrgui.core.document import Page

    poly = [(np.float64(10.4), np.int64(10)), (200.6, 10), (200, 60), (10, 60)]
    line = TextLine("l_np", poly, [(np.int32(10), np.int32(50)), (np.float32(199.5), 50)])
    page = Page("x.png", 300, 200, regions=[TextRegion("r_np", [(5, 5), (250, 5), (250, 100.2), (5, 100)],
                                                       lines=[line])])
    out = tmp_path / "np.xml"
    write_page(page, out)
    assert page_xsd.errors(out) == []
    assert 'points="10,10 201,10 200,60 10,60"' in out.read_text(encoding="utf-8")


def test_duplicate_ids_are_fixed_before_writing(tmp_path, page_xsd):
    from htrgui.core.document import Page

    a = TextLine("same", [(10, 10), (90, 10), (90, 40), (10, 40)], [(10, 35), (90, 35)])
    b = TextLine("same", [(10, 50), (90, 50), (90, 80), (10, 80)], [(10, 75), (90, 75)])
    page = Page("x.png", 100, 100, regions=[TextRegion("9", [(5, 5), (95, 5), (95, 95), (5, 95)], lines=[a, b])])
    out = tmp_path / "dup.xml"
    with pytest.warns(FormatWarning, match="renamed"):
        write_page(page, out)
    assert page_xsd.errors(out) == []
    assert len(page.ids()) == 3


OCRD = """<pc:PcGts xmlns:pc="http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15" pcGtsId="OCR-D-SEG_0001">
  <pc:Metadata externalRef="http://x">
    <pc:Creator>OCR-D</pc:Creator><pc:Created>2024-01-01T00:00:00</pc:Created><pc:LastChange>2024-01-01T00:00:00</pc:LastChange>
    <pc:MetadataItem type="processingStep" name="layout/segmentation" value="ocrd-tesserocr-segment">
      <pc:Labels externalModel="ocrd-tool" externalId="parameters"><pc:Label value="true" type="shrink_polygons"/></pc:Labels>
    </pc:MetadataItem>
  </pc:Metadata>
  <pc:Page imageFilename="OCR-D-IMG/FILE_0001.tif" imageWidth="1000" imageHeight="800" orientation="0.5" primaryLanguage="German">
    <pc:AlternativeImage filename="OCR-D-BIN/FILE_0001.png" comments="binarized"/>
    <pc:Border><pc:Coords points="0,0 999,0 999,799 0,799"/></pc:Border>
    <pc:ReadingOrder><pc:OrderedGroup id="ro0"><pc:RegionRefIndexed index="0" regionRef="r0"/></pc:OrderedGroup></pc:ReadingOrder>
    <pc:TextRegion id="r0" type="paragraph" readingDirection="left-to-right">
      <pc:Coords points="10,10 900,10 900,300 10,300"/>
      <pc:TextLine id="r0l0" primaryLanguage="German">
        <pc:AlternativeImage filename="x.png"/>
        <pc:Coords points="20,20 800,20 800,80 20,80"/><pc:Baseline points="20,70 800,70"/>
        <pc:Word id="r0l0w0"><pc:Coords points="20,20 300,20 300,80 20,80"/>
          <pc:Glyph id="g0"><pc:Coords points="20,20 40,20 40,80 20,80"/><pc:TextEquiv conf="0.9"><pc:Unicode>H</pc:Unicode></pc:TextEquiv></pc:Glyph>
          <pc:TextEquiv conf="0.8"><pc:Unicode>Hallo</pc:Unicode></pc:TextEquiv><pc:TextStyle fontSize="12"/></pc:Word>
        <pc:TextEquiv index="1" conf="0.8"><pc:Unicode>Hallo</pc:Unicode></pc:TextEquiv>
        <pc:TextEquiv index="2" conf="0.1"><pc:Unicode>Halle</pc:Unicode></pc:TextEquiv>
        <pc:TextStyle bold="true"/>
        <pc:UserDefined><pc:UserAttribute name="foo" value="bar"/></pc:UserDefined>
        <pc:Labels><pc:Label value="x" type="y"/></pc:Labels>
      </pc:TextLine>
      <pc:TextEquiv><pc:Unicode>Hallo</pc:Unicode></pc:TextEquiv>
    </pc:TextRegion>
    <pc:ImageRegion id="img0"><pc:Coords points="10,400 200,400 200,600 10,600"/></pc:ImageRegion>
  </pc:Page>
</pc:PcGts>
"""


def test_ocrd_page_carried_through(tmp_path, page_xsd):
    path = tmp_path / "ocrd.xml"
    path.write_text(OCRD.format(), encoding="utf-8")
    page, _ = _read(path)
    line = next(page.lines())
    assert (line.text, line.confidence) == ("Hallo", 0.8)
    out = tmp_path / "out.xml"
    write_page(page, out)
    assert page_xsd.errors(out) == []
    root = lxml_root(out)
    ns = {"p": PAGE2019}
    assert root.get("pcGtsId") == "OCR-D-SEG_0001"
    for kept in ("p:Metadata/p:MetadataItem/p:Labels/p:Label", "p:Page/p:AlternativeImage", "p:Page/p:Border",
                 "p:Page/p:ImageRegion", ".//p:Word/p:Glyph/p:TextEquiv", ".//p:TextLine/p:Labels",
                 ".//p:TextLine/p:UserDefined/p:UserAttribute[@name='foo']", ".//p:TextLine/p:TextStyle"):
        assert root.find(kept, ns) is not None, kept
    equivs = root.findall(".//p:TextLine/p:TextEquiv", ns)
    assert [(e.get("index"), e.find("p:Unicode", ns).text) for e in equivs] == [("1", "Hallo"), ("2", "Halle")]
    again, _ = _read(out)
    assert next(again.lines()).text == "Hallo"
    out2 = tmp_path / "out2.xml"
    write_page(again, out2)
    strip = lambda s: re.sub(r"<LastChange>.*?</LastChange>", "", s)  # noqa: E731
    assert strip(out2.read_text(encoding="utf-8")) == strip(out.read_text(encoding="utf-8"))
