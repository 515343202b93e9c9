"""ALTO in mm10 / inch1200 (newspaper OCR) is converted with the scan's own resolution; PAGE with a 0x0 page
size and no image takes the extent of its coordinates.

The fixtures are real eScriptorium ALTO pages of ../shared/data with their coordinates rewritten (by lxml,
here) into the other units, and the real scans beside them.
"""

from __future__ import annotations

import shutil
import warnings

import pytest
from PIL import Image

from htrgui.core.errors import FormatError
from htrgui.core.imaging import image_resolution
from htrgui.core.io import FormatWarning, read_document
from htrgui.core.pagexml import write_page

from iohelpers import DATA, lxml_etree

REAL = DATA / "lectaurep" / "lectaurep-dufour-1" / "DAFANCH96_048MIC07651_L-0"  # a 200 dpi scan


def _read(path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        page = read_document(path)
    return page, [str(w.message) for w in caught if issubclass(w.category, FormatWarning)]


def _in_units(alto: bytes, unit: str, per_inch: float, dpi: float) -> bytes:
    """The ALTO with every coordinate converted from pixels to ``unit`` (kept as the integers ALTO writers use)."""
    root = lxml_etree.fromstring(alto)
    ns = root.nsmap[None]
    root.find(f"{{{ns}}}Description/{{{ns}}}MeasurementUnit").text = unit
    f = per_inch / dpi
    for e in root.iter(f"{{{ns}}}*"):
        for a in ("HPOS", "VPOS", "WIDTH", "HEIGHT"):
            if e.get(a):
                e.set(a, str(round(float(e.get(a)) * f)))
        for a in ("BASELINE", "POINTS"):
            if e.get(a):
                e.set(a, " ".join(str(round(float(v) * f)) for v in e.get(a).replace(",", " ").split()))
    return lxml_etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@pytest.fixture
def real(shared_data, tmp_path):
    xml, jpg = REAL.with_suffix(".xml"), REAL.with_suffix(".jpg")
    if not xml.exists():
        pytest.skip(f"{xml} is absent")
    shutil.copy(jpg, tmp_path / jpg.name)
    return xml.read_bytes(), tmp_path / jpg.name, tmp_path


def test_image_resolution_reads_the_header(real, tmp_path):
    _, jpg, _ = real
    assert image_resolution(jpg) == (200.0, 200.0)
    for fmt, ext in (("PNG", ".png"), ("TIFF", ".tif"), ("JPEG", ".jpg")):
        path = tmp_path / f"none{ext}"
        Image.new("L", (20, 20)).save(path, fmt)  # no resolution stated (TIFF reads as 1 dpi, JFIF as 1:1)
        assert image_resolution(path) is None
    path = tmp_path / "dpi.png"
    Image.new("L", (20, 20)).save(path, "PNG", dpi=(300, 600))
    x, y = image_resolution(path)
    assert (round(x), round(y)) == (300, 600)


@pytest.mark.parametrize("unit,per_inch", [("mm10", 254.0), ("inch1200", 1200.0)])
def test_alto_units_converted_with_the_scans_dpi(real, unit, per_inch, page_xsd):
    alto, jpg, folder = real
    pixel_path = folder / "pixel.xml"
    pixel_path.write_bytes(alto)
    pixel, _ = _read(pixel_path)
    path = folder / f"{unit}.xml"
    path.write_bytes(_in_units(alto, unit, per_inch, 200.0))
    page, warned = _read(path)
    assert (page.width, page.height) == (pixel.width, pixel.height)
    assert any(unit in w and "200x200 dpi" in w for w in warned)
    a, b = list(pixel.lines()), list(page.lines())
    assert [ln.text for ln in a] == [ln.text for ln in b] and len(a) > 5
    # one unit of mm10 is 0.79 px at 200 dpi: conversion there and back stays within a pixel
    for la, lb in zip(a, b):
        assert all(abs(p[0] - q[0]) <= 1 and abs(p[1] - q[1]) <= 1 for p, q in zip(la.baseline, lb.baseline))
    out = folder / "out.xml"
    write_page(page, out)
    assert page_xsd.errors(out) == []


def test_alto_units_without_a_stated_resolution_say_so(real):
    alto, jpg, folder = real
    Image.open(jpg).convert("L").save(folder / "x.jpg")
    jpg.unlink()
    (folder / "x.jpg").rename(jpg)  # same name, saved without a resolution
    assert image_resolution(jpg) is None
    path = folder / "mm.xml"
    path.write_bytes(_in_units(alto, "mm10", 254.0, 200.0))
    with pytest.raises(FormatError, match=r"mm10.*states no resolution \(DPI\)"):
        read_document(path)
