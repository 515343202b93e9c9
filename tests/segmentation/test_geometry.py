"""core/geometry.py on real pages: the one home of the polygon and baseline rules."""

from __future__ import annotations

import numpy as np

from htrgui.core import geometry as geo
from htrgui.core.document import Page, TextLine, TextRegion
from htrgui.core.io import read_document


def _page(shared_data):
    """The first poilus page with a region of three lines or more."""
    for xml in sorted((shared_data / "poilus").glob("*/*.xml")):
        page = read_document(xml)
        if any(len(r.lines) >= 3 for r in page.regions):
            return page
    raise AssertionError("no poilus page has a region of three lines")


def test_a_drawn_baseline_joins_the_region_it_lies_in(shared_data):
    page = _page(shared_data)
    for region in page.regions:
        for line in region.lines[:2]:
            assert geo.region_for(page, line.baseline) == region.id
    # far outside every region: the nearest one, never None while the page has regions
    assert geo.region_for(page, [(0, 0), (5, 0)]) is not None


def test_a_new_region_around_a_baseline_stays_inside_the_page(shared_data):
    page = _page(shared_data)
    base = [(3, 10), (page.width + 50, 12)]
    box = geo.region_around(base, page)
    x0, y0, x1, y1 = geo.bounds(box)
    assert (x0, y0) == (0, 0) and x1 == page.width - 1 and y1 == 12 + 40
    assert geo.inside(box, [(10, 11)])


def test_recomputed_band_stops_short_of_its_neighbours():
    page = Page(image_filename="p.png", width=1000, height=400)
    lines = [TextLine(id=f"l{i}", polygon=[], baseline=[(100, y), (500, y + 4), (900, y)])
             for i, y in enumerate((100, 160, 220))]
    page.regions = [TextRegion(id="r", polygon=[(50, 40), (950, 40), (950, 260), (50, 260)], lines=lines)]
    band = geo.band_polygon(page, page.regions[0], lines[1], 100, 100)  # far too tall on its own
    assert geo.inside(band, lines[1].baseline)
    ys = [p[1] for p in band]
    assert min(ys) == round(160 - (1 - geo.SPLIT) * 60) and max(ys) == round(164 + geo.SPLIT * 60)
    for other in (lines[0], lines[2]):
        assert not any(geo.inside(band, [p]) for p in other.baseline)
    alone = geo.band_polygon(page, TextRegion(id="s", polygon=[], lines=[lines[1]]), lines[1], 100, 100)
    assert geo.bounds(alone)[1] == 60 and geo.bounds(alone)[3] == 264


def test_stacked_band_caps_at_the_split():
    xs = np.array([0.0, 50.0, 100.0])
    base = np.full(3, 100.0)
    poly = geo.stacked_band(xs, base, 80, 80, [(0, 100, np.full(3, 60.0))], floor=1.5)
    top, bottom = poly[:3], poly[3:]
    assert np.allclose(top[:, 1], 100 - (1 - geo.SPLIT) * 40)  # capped by the line 40 px above
    assert np.allclose(bottom[:, 1], 180)                      # nothing below: the full reach
    assert top[0, 0] == -1 and top[-1, 0] == 101               # the ends reach past the baseline


def test_polygons_without_points_get_usable_ones():
    assert geo.parse_polygon("1,2 3.6,4 3.6,4 1,2") == [(1, 2), (4, 4)]
    assert geo.parse_points("1 2 3") is None
    assert len(geo.polygon_for_export([(0, 0), (10, 5)])) == 4
    assert geo.polygon_from_baseline([(0, 10), (20, 10)], height=40) == [(0, 0), (20, 0), (20, 20), (0, 20)]
    assert geo.baseline_from_polygon([(0, 0), (10, 0), (10, 50), (0, 50)]) == [(0, 40), (10, 40)]
