"""PAGE 2013 export (for Transkribus): valid against the 2013 schema, same lines when read back."""

from __future__ import annotations

import warnings

import pytest
from iohelpers import DATA, lxml_root

from htrgui.core.io import read_document
from htrgui.core.pagewrite import page_to_bytes
from htrgui.core.xmlsafe import PAGE2013

import test_io_page as samples

# every 25th real page keeps this cheap; the 2019 writer it builds on is tested on all of them
FILES = sorted(DATA.rglob("*.xml"))[::25] if DATA.exists() else []


def _roundtrip(page, tmp_path, xsd):
    data = page_to_bytes(page, "2013")
    assert xsd.errors(data) == []
    assert lxml_root(data).nsmap[None] == PAGE2013
    out = tmp_path / "p2013.xml"
    out.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = read_document(out)
    assert [r.id for r in again.regions] == [r.id for r in page.regions]
    assert [(ln.id, ln.text, ln.status, ln.source) for ln in again.lines()] == \
        [(ln.id, ln.text, ln.status, ln.source) for ln in page.lines()]
    return data


@pytest.mark.skipif(not FILES, reason="../shared/data is absent")
@pytest.mark.parametrize("alto", FILES, ids=lambda p: p.stem)
def test_shared_pages_as_page2013(alto, tmp_path, page2013_xsd):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        page = read_document(alto)
    _roundtrip(page, tmp_path, page2013_xsd)


@pytest.mark.parametrize("sample", ["TRANSKRIBUS", "TABLE", "OCRD"])
def test_other_tools_as_page2013(sample, tmp_path, page2013_xsd):
    path = tmp_path / "in.xml"
    path.write_text(getattr(samples, sample).format() if sample == "OCRD" else getattr(samples, sample),
                    encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        page = read_document(path)
    data = _roundtrip(page, tmp_path, page2013_xsd)
    if sample == "TRANSKRIBUS":
        # words (with their reading order) survive, which Transkribus needs
        assert b'id="w0"' in data and b"readingOrder {index:0;}" in data


SCRIPTS_2019 = """<?xml version="1.0" encoding="UTF-8"?>
<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15">
  <Metadata><Creator>OCR-D</Creator><Created>2020-03-05T10:11:12</Created>
    <LastChange>2020-03-05T10:11:12</LastChange></Metadata>
  <Page imageFilename="a.jpg" imageWidth="100" imageHeight="100" primaryScript="Latn - Latin">
    <TextRegion id="r1" type="list-label" primaryScript="Latf - Latin (Fraktur variant)" secondaryScript="Grek - Greek">
      <Coords points="1,1 90,1 90,40 1,40"/>
      <TextLine id="l1"><Coords points="1,1 90,1 90,20 1,20"/><Baseline points="1,18 90,18"/>
        <TextEquiv><Unicode>abc</Unicode></TextEquiv></TextLine>
    </TextRegion>
    <TextRegion id="r2" type="paragraph" primaryScript="Zyyy - Code for undetermined script">
      <Coords points="1,50 90,50 90,90 1,90"/></TextRegion>
  </Page>
</PcGts>
"""


def test_2019_scripts_and_region_types_become_2013_values(tmp_path, page2013_xsd):
    """ISO 15924 codes and 2019's list-label are not 2013 values: Transkribus would refuse the file."""
    path = tmp_path / "in.xml"
    path.write_text(SCRIPTS_2019, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        page = read_document(path)
    root = lxml_root(_roundtrip(page, tmp_path, page2013_xsd))
    regions = {r.get("id"): r for r in root.iter(f"{{{PAGE2013}}}TextRegion")}
    assert (regions["r1"].get("primaryScript"), regions["r1"].get("secondaryScript")) == ("Latin", "Greek")
    assert regions["r2"].get("primaryScript") == "other"
    assert regions["r1"].get("type") == "other" and "list-label" in regions["r1"].get("custom")
    assert regions["r2"].get("type") == "paragraph"
    # the working format keeps the codes as they were
    assert b'primaryScript="Latf - Latin (Fraktur variant)"' in page_to_bytes(page, "2019")
