"""The whole segmenter on synthetic pages: the lines it must find are known exactly."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from seghelpers import check_geometry
from segsynth import text_page

from htrgui.core.errors import ImageError
from htrgui.core.segmentation import SegmentationParams, segment_page
from htrgui.core.segmentation.scoring import score_page


def _baselines(regions):
    return [line.baseline for r in regions for line in r.lines]


def _score(truth, regions, height):
    polys = [[(b[0][0], b[0][1] - height), (b[-1][0], b[0][1] + height // 3)] for b in truth]
    return score_page(truth, polys, _baselines(regions), None)


def test_finds_every_line_of_a_clean_page():
    img, truth = text_page(7)
    regions = segment_page(img)
    check_geometry(regions, img.shape[1], img.shape[0])
    s = _score(truth, regions, 60)
    assert s.matched == len(truth) and s.predicted == len(truth)


def test_columns_of_a_table_are_separate_lines():
    left, truth_l = text_page(5, width=560, seed=1)
    right, truth_r = text_page(5, width=560, seed=2)
    rule = np.full((left.shape[0], 40), 255, np.uint8)
    cv2.line(rule, (20, 0), (20, rule.shape[0] - 1), 0, 2)
    img = np.hstack([left, rule, right])
    truth = truth_l + [[(x + 600, y) for x, y in b] for b in truth_r]
    regions = segment_page(img)
    check_geometry(regions, img.shape[1], img.shape[0])
    s = _score(truth, regions, 60)
    assert s.matched >= 9 and s.predicted <= 11


def test_skewed_page_is_straightened():
    img, truth = text_page(6)
    h, w = img.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 3.0, 1.0)
    rotated = cv2.warpAffine(img, m, (w, h), borderValue=255)
    truth = [[tuple(int(round(v)) for v in m[:, :2] @ p + m[:, 2]) for p in b] for b in truth]
    regions = segment_page(rotated)
    check_geometry(regions, w, h)
    assert _score(truth, regions, 60).matched >= 5


def test_touching_lines_stay_apart():
    img, truth = text_page(6, spacing=52, scale=1.6)  # ascenders and descenders of neighbours touch
    regions = segment_page(img)
    check_geometry(regions, img.shape[1], img.shape[0], max_overlap=0.15)
    assert _score(truth, regions, 40).matched >= 5


def test_reading_order_is_top_to_bottom():
    img, _ = text_page(6)
    lines = [line for r in segment_page(img) for line in r.lines]
    ys = [np.mean([p[1] for p in line.baseline]) for line in lines]
    assert ys == sorted(ys)


@pytest.mark.parametrize("image", [
    np.full((800, 600), 255, np.uint8),  # blank
    np.zeros((800, 600), np.uint8),  # all black
    np.full((10, 10), 255, np.uint8),  # tiny
    np.zeros((1, 5000), np.uint8),  # a one-pixel strip
], ids=["blank", "black", "tiny", "strip"])
def test_pages_without_writing_give_no_lines(image):
    assert segment_page(image) == []


def test_pure_noise_gives_no_lines():
    rng = np.random.default_rng(3)
    assert segment_page(rng.integers(0, 256, (600, 800)).astype(np.uint8)) == []


def test_noisy_scan_still_gives_its_lines():
    img, truth = text_page(6)
    rng = np.random.default_rng(4)
    noisy = np.clip(img.astype(np.float64) * 0.85 + rng.normal(0, 25, img.shape), 0, 255).astype(np.uint8)
    regions = segment_page(noisy)
    check_geometry(regions, img.shape[1], img.shape[0])
    s = _score(truth, regions, 60)
    assert s.matched >= 5 and s.predicted <= 8


def test_colour_input_is_accepted_and_bad_arrays_refused():
    img, _ = text_page(3)
    rgb = np.stack([img] * 3, axis=2)
    assert len([ln for r in segment_page(rgb) for ln in r.lines]) == 3
    with pytest.raises(ImageError):
        segment_page(img.astype(np.float32))
    with pytest.raises(ImageError):
        segment_page(np.zeros((4, 4, 4, 4), np.uint8))
    with pytest.raises(ImageError):
        segment_page("page.jpg")


def test_large_page_is_reduced_not_refused():
    img, truth = text_page(5, width=1200)
    big = cv2.resize(img, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)  # 3600 px wide, a 600 dpi scan
    regions = segment_page(big)
    check_geometry(regions, big.shape[1], big.shape[0])
    truth = [[(3 * x, 3 * y) for x, y in b] for b in truth]
    assert _score(truth, regions, 180).matched == 5


def test_parameters_change_the_result():
    img, _ = text_page(4)
    # a page-wide gap allowance keeps lines whole; a tiny one cuts them at every word
    whole = [ln for r in segment_page(img) for ln in r.lines]
    cut = [ln for r in segment_page(img, SegmentationParams(max_gap=0.2)) for ln in r.lines]
    assert len(cut) > len(whole)
