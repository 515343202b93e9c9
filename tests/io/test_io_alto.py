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
