"""The filters that tell writing from other marks (thin strokes, stamps, texture), on real pages where
ground truth says which lines are writing: each filter must drop false lines and keep the true ones."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

from htrgui.core.imaging import load_image
from htrgui.core.segmentation import SegmentationParams, segment_page
from htrgui.core.segmentation.scoring import score_page

REPO = Path(__file__).resolve().parents[2]

#: A will with pencil outlines drawn round its text and a stamp, and one on squared paper with notes.
PAGES = [
    "poilus/batch-2/TestamentsDePoilus_will_AN_0006-0",
    "poilus/batch-1/TestamentsDePoilus_will_AN_0242-0",
]


def _score(shared_data: Path, name: str, params: SegmentationParams):
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from segmentation import read_truth  # the benchmark's reader: one definition of "truth"
    finally:
        sys.path.pop(0)
    truth, polys, regions = read_truth(shared_data / f"{name}.xml")
    pred = [ln.baseline for r in segment_page(load_image(shared_data / f"{name}.jpg"), params) for ln in r.lines]
    return score_page(truth, polys, pred, regions)


@pytest.mark.parametrize("field,off", [("min_xheight_ratio", 0.0)])
def test_filter_drops_false_lines_only(shared_data, field, off):
    """With the filter on, fewer lines are predicted and none of the true lines found without it is lost."""
    on = SegmentationParams()
    without = dataclasses.replace(on, **{field: off})
    dropped = 0
    for name in PAGES:
        s_on, s_off = _score(shared_data, name, on), _score(shared_data, name, without)
        assert s_on.matched >= s_off.matched, (name, s_on, s_off)
        dropped += s_off.predicted - s_on.predicted
    assert dropped >= 2
