"""ALTO as other tools write it (v2 word level, hyphenation, old single-number baselines) and back."""

from __future__ import annotations

import warnings

import pytest

from htrgui.core.alto import write_alto
from htrgui.core.io import read_document

from iohelpers import lxml_root


def _read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_document(path), None


def test_alto_v2_with_words_and_single_number_baseline(tmp_path, alto_xsd):
    ns = "http://www.loc.gov/standards/alto/ns-v2#"
    path = tmp_path / "v2.xml"
    path.write_text(f"""<alto xmlns="{ns}"><Description><MeasurementUnit>pixel</MeasurementUnit>
      <sourceImageInformation><fileName>scan.tif</fileName></sourceImageInformation></Description>
      <Layout><Page ID="p" WIDTH="400" HEIGHT="300" PHYSICAL_IMG_NR="7"><PrintSpace>
        <TextBlock ID="b1" HPOS="10" VPOS="10" WIDTH="300" HEIGHT="100">
          <TextLine ID="t1" HPOS="10" VPOS="10" WIDTH="300" HEIGHT="40" BASELINE="45">
            <String ID="s1" CONTENT="Ein" WC="0.5" HPOS="10" VPOS="10" WIDTH="50" HEIGHT="40"/><SP/>
            <String ID="s2" CONTENT="Wort-" WC="1.0" HPOS="70" VPOS="10" WIDTH="80" HEIGHT="40"/>
            <HYP CONTENT="¬"/>
          </TextLine></TextBlock></PrintSpace></Page></Layout></alto>""", encoding="utf-8")
    page, _ = _read(path)
    line = next(page.lines())
    assert line.text == "Ein Wort-¬"
    assert line.baseline == [(10, 45), (310, 45)]
    assert line.confidence == pytest.approx((0.5 * 3 + 1.0 * 5) / 8)
    assert page.page_index == 0 and page.image_filename == "scan.tif"

    # written back as ALTO 4: the word Strings survive while the text is unchanged
    out = tmp_path / "v4.xml"
    write_alto(page, out)
    assert alto_xsd.errors(out) == []
    root = lxml_root(out)
    ns = {"a": root.nsmap[None]}
    assert [s.get("ID") for s in root.iterfind(".//a:String", ns)] == ["s1", "s2"]
    assert root.find(".//a:SP", ns) is not None and root.find(".//a:HYP", ns) is not None
    line.set_text("Ein Wort")
    write_alto(page, out)
    assert [s.get("CONTENT") for s in lxml_root(out).iterfind(".//a:String", ns)] == ["Ein Wort"]
    again, _ = _read(out)
    assert next(again.lines()).text == "Ein Wort"


def test_alto43_reading_order_and_dummy_block(tmp_path, alto_xsd):
    ns = "http://www.loc.gov/standards/alto/ns-v4#"

    def line(i, y):
        return (f'<TextLine ID="l{i}" BASELINE="10 {y + 30} 200 {y + 30}"><Shape><Polygon POINTS="10 {y} 200 {y} '
                f'200 {y + 35} 10 {y + 35}"/></Shape><String CONTENT="line {i}"/></TextLine>')

    path = tmp_path / "ro.xml"
    path.write_text(f"""<alto xmlns="{ns}"><Description><MeasurementUnit>pixel</MeasurementUnit>
      <sourceImageInformation><fileName>ro.png</fileName></sourceImageInformation></Description>
      <Tags><OtherTag ID="BT1" LABEL="MainZone"/></Tags>
      <ReadingOrder><OrderedGroup ID="g"><ElementRef ID="e1" REF="l3"/><ElementRef ID="e2" REF="l1"/>
        <ElementRef ID="e3" REF="l2"/></OrderedGroup></ReadingOrder>
      <Layout><Page ID="p" WIDTH="300" HEIGHT="300" PHYSICAL_IMG_NR="1"><PrintSpace>
        <TextBlock ID="eSc_dummyblock_">{line(1, 10)}{line(2, 60)}</TextBlock>
        <TextBlock ID="b2" TAGREFS="BT1"><Shape><Polygon POINTS="5 150 250 150 250 250 5 250"/></Shape>
          {line(3, 160)}</TextBlock>
      </PrintSpace></Page></Layout></alto>""", encoding="utf-8")
    page, _ = _read(path)
    assert [r.id for r in page.regions][0] == "b2" and page.regions[0].type == "MainZone"
    assert not page.regions[1].id.startswith("eSc_dummyblock_")
    assert [ln.id for ln in page.lines()] == ["l3", "l1", "l2"]
    out = tmp_path / "out.xml"
    write_alto(page, out)
    assert alto_xsd.errors(out) == []
    again, _ = _read(out)
    assert [ln.id for ln in again.lines()] == ["l3", "l1", "l2"]  # document order now carries the order
    assert [r.type for r in again.regions] == ["MainZone", ""]


def test_page_words_become_alto_strings(tmp_path, alto_xsd):
    from test_io_page import OCRD

    path = tmp_path / "ocrd.xml"
    path.write_text(OCRD.format(), encoding="utf-8")
    page, _ = _read(path)
    out = tmp_path / "alto.xml"
    write_alto(page, out)
    assert alto_xsd.errors(out) == []
    root = lxml_root(out)
    ns = {"a": root.nsmap[None]}
    strings = root.findall(".//a:String", ns)
    assert [(s.get("ID"), s.get("CONTENT"), s.get("HPOS"), s.get("WIDTH"), s.get("WC")) for s in strings] == \
        [("r0l0w0", "Hallo", "20", "280", "0.8000")]


def test_two_page_words_and_word_order_fallback(tmp_path, alto_xsd):
    from htrgui.core.xmlsafe import PAGE2019

    words = "".join(f'<Word id="w{i}"><Coords points="{x},10 {x + 40},10 {x + 40},40 {x},40"/>'
                    f'<TextEquiv><Unicode>{t}</Unicode></TextEquiv></Word>'
                    for i, (x, t) in enumerate([(10, "zwei"), (60, "Worte")]))
    path = tmp_path / "w.xml"
    path.write_text(f'<PcGts xmlns="{PAGE2019}"><Page imageFilename="w.png" imageWidth="200" imageHeight="100">'
                    '<TextRegion id="r"><Coords points="0,0 150,0 150,50 0,50"/><TextLine id="l">'
                    f'<Coords points="5,5 110,5 110,45 5,45"/><Baseline points="5,40 110,40"/>{words}'
                    '<TextEquiv><Unicode>zwei Worte</Unicode></TextEquiv></TextLine></TextRegion></Page></PcGts>',
                    encoding="utf-8")
    page, _ = _read(path)
    out = tmp_path / "a.xml"
    write_alto(page, out)
    assert alto_xsd.errors(out) == []
    root = lxml_root(out)
    ns = {"a": root.nsmap[None]}
    line = root.find(".//a:TextLine", ns)
    assert [c.tag.split("}")[1] for c in line if not c.tag.endswith("Shape")] == ["String", "SP", "String"]
    # once the words no longer spell the line, the whole line is one String
    next(page.lines()).set_text("drei Worte")
    write_alto(page, out)
    assert [s.get("CONTENT") for s in lxml_root(out).iterfind(".//a:String", ns)] == ["drei Worte"]


def test_alto_keeps_who_wrote_each_line_and_whether_it_was_checked(tmp_path, alto_xsd, alto42_xsd):
    from htrgui.core.document import Page, TextLine, TextRegion

    def line(n, text, status, source, conf):
        y = 20 + 40 * n
        return TextLine(id=f"l{n}", polygon=[(10, y - 15), (300, y - 15), (300, y + 10), (10, y + 10)],
                        baseline=[(10, y), (300, y)], text=text, status=status, source=source, confidence=conf)

    lines = [line(0, "checked by a person", "verified", "person", None),
             line(1, "read by the model, then verified", "verified", "model:small", 0.62),
             line(2, "still a guess", "predicted", "model:small", 0.41),
             line(3, "", "empty", "", None),
             line(4, "another guess", "predicted", "model:ft-2026", 0.9)]
    page = Page(image_filename="scan.png", width=400, height=300,
                regions=[TextRegion(id="r1", polygon=[(0, 0), (399, 0), (399, 299), (0, 299)], lines=lines)])
    out = tmp_path / "scan.xml"
    write_alto(page, out)
    assert alto_xsd.errors(out) == [] and alto42_xsd.errors(out) == []
    root = lxml_root(out)
    ns = {"a": root.nsmap[None]}
    wc = {le.get("ID"): le.find("a:String", ns).get("WC") for le in root.iterfind(".//a:TextLine", ns)}
    assert wc["l1"] is None and wc["l2"] == "0.4100"  # checked text carries no OCR confidence
    assert len(root.findall(".//a:Processing", ns)) == 4  # one per (status, source) of lines with text
    again, _ = _read(out)
    got = {ln.id: (ln.status, ln.source if ln.text else "", ln.text) for ln in again.lines()}
    assert got == {ln.id: (ln.status, ln.source, ln.text) for ln in lines}
    # a tool that drops our Processing entries leaves the usual reading: WC means predicted
    for proc in root.findall(".//a:Processing", ns):
        proc.getparent().remove(proc)
    for le in root.iterfind(".//a:TextLine", ns):
        le.attrib.pop("PROCESSINGREFS", None)
    root.getroottree().write(str(out))
    plain, _ = _read(out)
    assert [ln.status for ln in plain.lines()] == ["verified", "verified", "predicted", "empty", "predicted"]
