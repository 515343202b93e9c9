"""Every real eScriptorium ALTO page of ../shared/data: ALTO -> PAGE 2019 (and ALTO 4) -> re-import.

Expectations come from parsing the original files with lxml here, independently of htrgui's readers.
"""

from __future__ import annotations

import warnings

import pytest

from htrgui.core.alto import alto_to_bytes
from htrgui.core.io import read_document
from htrgui.core.pagewrite import page_to_bytes

from iohelpers import DATA, lxml_lines, lxml_root

FILES = sorted(DATA.rglob("*.xml")) if DATA.exists() else []


def _clip(pts, w, h):
    return [(min(max(x, 0), w - 1), min(max(y, 0), h - 1)) for x, y in pts]


def _dedup(pts):
    """Consecutive repeated points are dropped on import (they make zero-length edges)."""
    return [p for i, p in enumerate(pts) if i == 0 or p != pts[i - 1]]


def _open(pts):
    pts = _dedup(pts)
    return pts[:-1] if len(pts) > 1 and pts[0] == pts[-1] else pts


def _same_shape(original, written):
    """``written`` holds the original points in order; any added point lies on an edge of the original."""
    if len(original) < 3:  # a degenerate polygon is replaced by the line's box
        xs, ys = [p[0] for p in written], [p[1] for p in written]
        assert all(min(xs) <= x <= max(xs) and min(ys) <= y <= max(ys) for x, y in original)
        return
    it = iter(written)
    assert all(p in it for p in original), (original, written)
    extra = [p for p in written if p not in original]
    ring = list(zip(original, original[1:] + original[:1]))
    for x, y in extra:
        assert any(min(a[0], b[0]) <= x <= max(a[0], b[0]) and min(a[1], b[1]) <= y <= max(a[1], b[1])
                   for a, b in ring), (x, y)


@pytest.fixture(scope="module")
def outdir(tmp_path_factory):
    return tmp_path_factory.mktemp("roundtrip")


@pytest.mark.skipif(not FILES, reason="../shared/data is absent")
@pytest.mark.parametrize("alto", FILES, ids=lambda p: p.stem)
def test_alto_page_roundtrip(alto, outdir, page_xsd, alto_xsd, alto42_xsd):
    root = lxml_root(alto)
    ns = root.nsmap[None]
    pg = root.find(f".//{{{ns}}}Page")
    w, h = int(pg.get("WIDTH")), int(pg.get("HEIGHT"))
    expected = lxml_lines(alto)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # only "image not found beside the output" is expected here
        page = read_document(alto)
        # written without fsync to keep the suite fast; atomic saving has its own tests
        page_bytes, alto_bytes = page_to_bytes(page), alto_to_bytes(page)
        out_page = outdir / f"{alto.stem}.xml"
        out_page.write_bytes(page_bytes)
        again = read_document(out_page)
    assert (page.width, page.height) == (w, h)

    assert page_xsd.errors(page_bytes) == []
    assert alto_xsd.errors(alto_bytes) == []
    assert alto42_xsd.errors(alto_bytes) == []

    written = lxml_lines(page_bytes)
    assert [ln["id"] for ln in written] == [ln["id"] for ln in expected]
    for exp, got in zip(expected, written):
        assert got["text"] == exp["text"].strip()  # PAGE text has no surrounding whitespace
        assert got["baseline"] == _dedup(_clip(_dedup(exp["baseline"]), w, h))
        if exp["polygon"] is None:  # eScriptorium writes a few tiny lines with only a box
            assert len(got["polygon"]) >= 4
        else:
            _same_shape(_dedup(_clip(_open(exp["polygon"]), w, h)), got["polygon"])
        assert not got["block"].startswith("eSc_dummyblock_")
        if not exp["block"].startswith("eSc_dummyblock_"):
            assert got["block"] == exp["block"]
    assert [(ln["id"], ln["text"], ln["baseline"], ln["polygon"]) for ln in lxml_lines(alto_bytes)] == \
        [(ln["id"], ln["text"], ln["baseline"], ln["polygon"]) for ln in written]

    # reading order: the explicit ReadingOrder lists the regions in document order, indexes 0..n-1
    out = lxml_root(page_bytes)
    pns = out.nsmap[None]
    refs = out.findall(f".//{{{pns}}}RegionRefIndexed")
    assert [int(r.get("index")) for r in refs] == list(range(len(refs)))
    assert [r.get("regionRef") for r in refs] == [r.get("id") for r in out.iter(f"{{{pns}}}TextRegion")]

    # re-import gives the same document
    assert [r.id for r in again.regions] == [r.id for r in page.regions]
    assert [r.type for r in again.regions] == [r.type for r in page.regions]
    for a, b in zip(page.lines(), again.lines()):
        assert (a.id, a.text, a.status, a.source, a.type) == (b.id, b.text, b.status, b.source, b.type)
        assert b.baseline == _dedup(_clip(a.baseline, w, h))
        _same_shape(_dedup(_clip(a.polygon, w, h)), b.polygon)
    assert sum(1 for _ in again.lines()) == len(expected)
