"""The filters that tell writing from other marks (thin strokes, stamps, texture), on real pages where
ground truth says which lines are writing: each filter must drop false lines and keep the true ones."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

from htrgui.core.imaging import load_image
from htrgui.core.segmentation import SegmentationParams, segment_page
from htrgui.core.segmentation.lines import Line, join_pieces
from htrgui.core.segmentation.scoring import score_page

REPO = Path(__file__).resolve().parents[2]

#: A will with pencil outlines drawn round its text and a stamp, one on squared paper with notes, and one
#: whose lines the tracing leaves in pieces.
PAGES = [
    "poilus/batch-2/TestamentsDePoilus_will_AN_0006-0",
    "poilus/batch-1/TestamentsDePoilus_will_AN_0242-0",
    "poilus/batch-1/TestamentsDePoilus_will_AN_0034-0",
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


@pytest.mark.parametrize("field,off", [("min_xheight_ratio", 0.0), ("join_dy", 0.0)])
def test_filter_drops_false_lines_only(shared_data, field, off):
    """With the filter (or the joining of pieces) on, fewer lines are predicted and no true line found
    without it is lost."""
    on = SegmentationParams()
    without = dataclasses.replace(on, **{field: off})
    dropped = 0
    for name in PAGES:
        s_on, s_off = _score(shared_data, name, on), _score(shared_data, name, without)
        assert s_on.matched >= s_off.matched, (name, s_on, s_off)
        dropped += s_off.predicted - s_on.predicted
    assert dropped >= 2


def _line(x0: float, x1: float, y: float, slope: float = 0.0) -> Line:
    xs = np.linspace(x0, x1, 5)
    return Line(xs, y + slope * (xs - x0), 10.0)


def test_join_pieces_continues_a_split_line_only():
    """Pieces that meet end to end at about the same height become one line; a line starting where another
    ends but a line spacing lower (a closing and its signature) stays apart; the nearest piece wins."""
    left, right = _line(0, 100, 50, 0.05), _line(102, 200, 56)
    lower = _line(104, 220, 90)
    out = join_pieces([right, lower, left], scale=10, max_gap=30, max_dy=16)
    assert len(out) == 2
    joined = min(out, key=lambda ln: ln.x0)
    assert joined.x0 == 0 and joined.x1 == 200 and np.all(np.diff(joined.xs) > 0)
    assert any(ln.x0 == 104 for ln in out)
    # too far apart along the line, or too far off in height: left alone
    assert len(join_pieces([left, _line(140, 200, 56)], 10, 30, 16)) == 2
    assert len(join_pieces([left, _line(102, 200, 80)], 10, 30, 16)) == 2


def test_ruled_pages_keep_short_entries(shared_data):
    """On a register page the lower crest threshold of ruled pages finds more of the true lines (numbers and
    dates alone in their cells) than the free-text threshold, without losing precision."""
    name = "lectaurep/lectaurep-random-set-1/FRAN_0025_0149_L-1"
    on = SegmentationParams()
    free = dataclasses.replace(on, ruled_ridge_threshold=on.ridge_threshold)
    s_on, s_free = _score(shared_data, name, on), _score(shared_data, name, free)
    assert s_on.matched >= s_free.matched + 5, (s_on, s_free)
    assert s_on.precision >= s_free.precision - 0.02, (s_on, s_free)
