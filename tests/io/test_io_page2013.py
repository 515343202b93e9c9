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
