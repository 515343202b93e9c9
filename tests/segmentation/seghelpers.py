"""Checks shared by the segmentation tests: geometry rules every segmentation must keep."""

from __future__ import annotations

import re

import cv2
import numpy as np

from htrgui.core.document import TextRegion

NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9._-]*$")


def check_geometry(regions: list[TextRegion], width: int, height: int, max_overlap: float = 0.1) -> None:
    """Integer points inside the image, ids unique NCNames, baselines left to right inside their polygons,
    polygons with at least 4 points, and lines of one region overlapping by at most ``max_overlap``."""
    ids = [r.id for r in regions] + [ln.id for r in regions for ln in r.lines]
    assert len(ids) == len(set(ids)), "duplicate ids"
    assert all(NCNAME.match(i) for i in ids), ids
    for region in regions:
        assert len(region.polygon) >= 3
        masks = []
        for line in region.lines:
            pts = list(line.polygon) + list(line.baseline)
            assert all(isinstance(v, int) for p in pts for v in p), line.id
            assert all(0 <= x < width and 0 <= y < height for x, y in pts), line.id
            assert len(line.polygon) >= 4, line.id
            xs = [p[0] for p in line.baseline]
            assert len(set(line.baseline)) >= 2 and xs == sorted(xs) and xs[0] < xs[-1], line.baseline
            contour = np.array(line.polygon, dtype=np.int32).reshape(-1, 1, 2)
            for x, y in line.baseline:
                assert cv2.pointPolygonTest(contour, (float(x), float(y)), False) >= 0, (line.id, (x, y))
            mask = np.zeros((height, width), np.uint8)
            cv2.fillPoly(mask, [contour], 1)
            masks.append(mask)
        for i in range(len(masks)):
            for j in range(i + 1, len(masks)):
                inter = int(np.count_nonzero(masks[i] & masks[j]))
                if inter:
                    smaller = min(int(masks[i].sum()), int(masks[j].sum()))
                    assert inter <= max_overlap * smaller, (region.lines[i].id, region.lines[j].id, inter, smaller)
