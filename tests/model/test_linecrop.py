"""Line crops from real pages: fixed height, aspect ratio kept, neighbours masked."""

from __future__ import annotations

import numpy as np

from htrgui.core.geometry import crop_outline
from htrgui.core.recognition.linecrop import crop_line, crop_polygon


def _first_page(shared_data):
    from htrgui.core.imaging import load_image
    from htrgui.core.io import read_document

    xml = sorted((shared_data / "poilus").glob("*/*.xml"))[0]
    page = read_document(xml)
    return page, load_image(page.image_path, mode="L")


def test_crop_keeps_aspect_and_height(shared_data):
    page, gray = _first_page(shared_data)
    lines = [line for line in page.lines() if len(line.polygon) >= 3]
    assert lines
    for line in lines[:5]:
        x0, y0, x1, y1 = [int(v) for v in (min(p[0] for p in line.polygon), min(p[1] for p in line.polygon),
                                           max(p[0] for p in line.polygon), max(p[1] for p in line.polygon))]
        img = crop_line(gray, line)
        assert img.dtype == np.uint8 and img.shape[0] == 64
        expected = (x1 - x0 + 1) * 64 / (y1 - y0 + 1)
        assert abs(img.shape[1] - expected) <= 2
        # ink is there and the paper is white
        assert img.min() < 128 and np.median(img) > 200


def test_outside_polygon_is_white(shared_data):
    page, gray = _first_page(shared_data)
    line = next(line for line in page.lines() if len(line.polygon) >= 3)
    crop = crop_polygon(gray, crop_outline(line, gray.shape[0]))
    pts = np.array(line.polygon)
    x0, y0 = pts.min(axis=0)
    import cv2

    mask = np.zeros(crop.shape, np.uint8)
    cv2.fillPoly(mask, [pts.astype(np.int32) - np.array([x0, y0], np.int32)], 1)
    assert (crop[mask == 0] == 255).all()
    assert (crop[mask == 1] < 255).any()


def test_baseline_only_line_gets_a_band(shared_data):
    from htrgui.core.document import TextLine

    page, gray = _first_page(shared_data)
    real = next(line for line in page.lines() if len(line.baseline) >= 2)
    bare = TextLine(id="b", polygon=[], baseline=real.baseline)
    img = crop_line(gray, bare)
    assert img.shape[0] == 64 and img.shape[1] > 64 and img.min() < 128
