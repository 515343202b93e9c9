"""PAGE from older and stranger writers: PAGE 2010 (Aletheia, Transkribus TRP test documents) and TranskribusDU.

Each fixture is small and carries one family of quirks; the output must validate against PAGE 2019 and each
repair must be reported as a FormatWarning naming the file.
"""

from __future__ import annotations

from htrgui.core.pagexml import write_page
from htrgui.core.xmlsafe import PAGE2019

from iohelpers import lxml_root, read_with_warnings as _read

PAGE2010 = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2010-03-19"

#: As Aletheia 2.x wrote PAGE 2010: point lists as <Point> children everywhere, 2010 script names.
ALETHEIA_2010 = f"""<?xml version="1.0" encoding="UTF-8"?>
<PcGts xmlns="{PAGE2010}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="{PAGE2010} http://schema.primaresearch.org/PAGE/gts/pagecontent/2010-03-19/pagecontent.xsd"
  pcGtsId="pc-00000001">
  <Metadata><Creator>Aletheia</Creator><Created>2011-02-01T10:00:00</Created>
    <LastChange>2011-02-02T10:00:00</LastChange></Metadata>
  <Page imageFilename="00000001.tif" imageWidth="800" imageHeight="600">
    <Border><Coords><Point x="5" y="5"/><Point x="795" y="5"/><Point x="795" y="595"/><Point x="5" y="595"/></Coords></Border>
    <PrintSpace><Coords><Point x="20" y="20"/><Point x="780" y="20"/><Point x="780" y="580"/><Point x="20" y="580"/></Coords></PrintSpace>
    <TextRegion id="r1" type="paragraph" primaryScript="Latin" primaryLanguage="English" readingDirection="left-to-right">
      <Coords><Point x="30" y="30"/><Point x="700" y="30"/><Point x="700" y="200"/><Point x="30" y="200"/></Coords>
      <TextLine id="r1l1" primaryScript="Latin">
        <Coords><Point x="40" y="40"/><Point x="600" y="40"/><Point x="600" y="90"/><Point x="40" y="90"/></Coords>
        <Word id="r1l1w1" primaryScript="Latin" language="English">
          <Coords><Point x="40" y="40"/><Point x="200" y="40"/><Point x="200" y="90"/><Point x="40" y="90"/></Coords>
          <Glyph id="r1l1w1g1" script="Latin"><Coords><Point x="40" y="40"/><Point x="60" y="40"/><Point x="60" y="90"/><Point x="40" y="90"/></Coords>
            <TextEquiv><Unicode>H</Unicode></TextEquiv></Glyph>
          <TextEquiv><Unicode>Hello</Unicode></TextEquiv>
        </Word>
        <Word id="r1l1w2" primaryScript="Runic-ish">
          <Coords><Point x="220" y="40"/><Point x="400" y="40"/><Point x="400" y="90"/><Point x="220" y="90"/></Coords>
          <TextEquiv><Unicode>world</Unicode></TextEquiv>
        </Word>
        <TextEquiv><Unicode>Hello world</Unicode></TextEquiv>
      </TextLine>
    </TextRegion>
    <GraphicRegion id="g1" type="decoration">
      <Coords><Point x="30" y="300"/><Point x="300" y="300"/><Point x="300" y="500"/><Point x="30" y="500"/></Coords>
    </GraphicRegion>
    <ImageRegion id="i1"><Coords><Point x="400" y="300"/><Point x="700" y="300"/><Point x="700" y="500"/><Point x="400" y="500"/></Coords></ImageRegion>
  </Page>
</PcGts>
"""

#: As TranskribusDU (table and separator detection) writes PAGE 2013: separators without id and with its own
#: ``orient`` attribute, a table whose polygon leaves the image.
TRANSKRIBUS_DU = """<?xml version="1.0" encoding="UTF-8"?>
<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2013-07-15">
  <Metadata><Creator>NLE Document Understanding</Creator><Created>2019-05-01T10:00:00</Created>
    <LastChange>2019-05-01T10:00:00</LastChange></Metadata>
  <Page imageFilename="du.jpg" imageWidth="1000" imageHeight="800">
    <TableRegion id="t1"><Coords points="-12,10 990,-3 990,700 -12,700"/></TableRegion>
    <SeparatorRegion orient="90.0"><Coords points="500,10 502,10 502,700 500,700"/></SeparatorRegion>
    <SeparatorRegion orient="0"><Coords points="10,400 990,400 990,402 10,402"/></SeparatorRegion>
    <TextRegion id="r1"><Coords points="20,20 480,20 480,100 20,100"/>
      <TextLine id="l1"><Coords points="20,20 480,20 480,60 20,60"/><Baseline points="20,55 480,55"/>
        <TextEquiv><Unicode>Name</Unicode></TextEquiv></TextLine></TextRegion>
  </Page>
</PcGts>
"""




def _write(tmp_path, text, name):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_page2010_carried_elements_get_points_and_2019_scripts(tmp_path, page_xsd):
    page, warned = _read(_write(tmp_path, ALETHEIA_2010, "00000001.xml"))
    assert [ln.text for ln in page.lines()] == ["Hello world"]
    out = tmp_path / "out.xml"
    write_page(page, out)
    assert page_xsd.errors(out) == []
    root = lxml_root(out)
    ns = {"p": PAGE2019}
    assert root.find(".//p:Point", ns) is None
    assert root.find(".//p:Border/p:Coords", ns).get("points") == "5,5 795,5 795,595 5,595"
    assert root.find(".//p:GraphicRegion/p:Coords", ns).get("points") == "30,300 300,300 300,500 30,500"
    assert root.find(".//p:Word[@id='r1l1w1']", ns).get("primaryScript") == "Latn - Latin"
    assert root.find(".//p:Glyph", ns).get("script") == "Latn - Latin"
    assert root.find(".//p:TextRegion", ns).get("primaryScript") == "Latn - Latin"
    assert root.find(".//p:Word[@id='r1l1w2']", ns).get("primaryScript") is None  # unknown: dropped
    assert any("Runic-ish" in w and "00000001.xml" in w for w in warned)
    assert any("<Point>" in w for w in warned)


def test_transkribus_du_separators_and_negative_table(tmp_path, page_xsd):
    page, warned = _read(_write(tmp_path, TRANSKRIBUS_DU, "du.xml"))
    out = tmp_path / "out.xml"
    write_page(page, out)
    assert page_xsd.errors(out) == []
    root = lxml_root(out)
    ns = {"p": PAGE2019}
    seps = root.findall(".//p:SeparatorRegion", ns)
    assert len(seps) == 2 and all(s.get("id") for s in seps) and seps[0].get("id") != seps[1].get("id")
    assert all(s.get("orient") is None for s in seps)
    assert root.find(".//p:TableRegion/p:Coords", ns).get("points") == "0,10 990,0 990,700 0,700"
    joined = "\n".join(warned)
    assert "orient" in joined and "SeparatorRegion" in joined and "negative" in joined
    again, _ = _read(out)  # the repaired file reads back without new repairs of the same kind
    assert [r.id for r in again.regions] == ["r1"]


def _kraken_custom(s: str) -> dict[str, str]:
    """How kraken (and so eScriptorium) reads a custom attribute: split at '}', '{', ';' and the first ':',
    no unescaping (kraken/lib/xml/common.py parse_page_custom)."""
    out = {}
    for chunk in (c for c in s.split("}") if c.strip()):
        tag, vals = chunk.split("{")
        for val in (v.strip() for v in vals.split(";") if v.strip()):
            key, *rest = val.split(":")
            out.setdefault(tag.strip(), {})[key] = ":".join(rest).strip()
    return out


def test_segmonto_subtypes_with_colon_written_as_escriptorium_does(tmp_path, page_xsd):
    from htrgui.core.document import Page, TextLine, TextRegion

    line = TextLine("l1", [(10, 10), (290, 10), (290, 50), (10, 50)], [(10, 45), (290, 45)], text="Typed",
                    type="DefaultLine:Typewritten")
    region = TextRegion("r1", [(5, 5), (295, 5), (295, 95), (5, 95)], type="MainZone:column#1", lines=[line])
    out = tmp_path / "segmonto.xml"
    write_page(Page("x.png", 300, 100, regions=[region]), out)
    assert page_xsd.errors(out) == []
    root = lxml_root(out)
    ns = {"p": PAGE2019}
    line_custom = root.find(".//p:TextLine", ns).get("custom")
    assert "structure {type:DefaultLine:Typewritten;}" in line_custom
    assert "\\u003a" not in line_custom
    assert _kraken_custom(line_custom)["structure"]["type"] == "DefaultLine:Typewritten"
    assert _kraken_custom(root.find(".//p:TextRegion", ns).get("custom"))["structure"]["type"] == "MainZone:column#1"
    again, _ = _read(out)
    assert again.regions[0].type == "MainZone:column#1"
    assert list(again.lines())[0].type == "DefaultLine:Typewritten"


def test_segmonto_subtypes_read_plain_and_escaped(tmp_path):
    xml = f"""<PcGts xmlns="{PAGE2019}"><Page imageFilename="e.jpg" imageWidth="300" imageHeight="200">
      <TextRegion id="r1" custom="structure {{type:MainZone\\u003acolumn;}}"><Coords points="5,5 295,5 295,195 5,195"/>
        <TextLine id="l1" custom="readingOrder {{index:0;}} structure {{type:DefaultLine\\u003aTypewritten;}}">
          <Coords points="10,10 290,10 290,50 10,50"/><Baseline points="10,45 290,45"/></TextLine>
        <TextLine id="l2" custom="readingOrder {{index:1;}} structure {{type:DefaultLine:Handwritten;}}">
          <Coords points="10,60 290,60 290,100 10,100"/><Baseline points="10,95 290,95"/></TextLine>
        <TextLine id="l3" custom="type {{type:HeadingLine:title;}}">
          <Coords points="10,110 290,110 290,150 10,150"/><Baseline points="10,145 290,145"/></TextLine>
      </TextRegion></Page></PcGts>"""
    page, _ = _read(_write(tmp_path, xml, "e.xml"))
    assert page.regions[0].type == "MainZone:column"
    assert [ln.type for ln in page.lines()] == ["DefaultLine:Typewritten", "DefaultLine:Handwritten",
                                                "HeadingLine:title"]
