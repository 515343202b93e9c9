"""The segmenter's steps on synthetic pages where the truth is known by construction."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from segsynth import text_page

from htrgui.core.segmentation import binarize as bz
from htrgui.core.segmentation import deskew as dk


def _uneven(img: np.ndarray) -> np.ndarray:
    """The page under bad light: a strong left-to-right gradient and a dark stain."""
    h, w = img.shape
    light = np.linspace(0.45, 1.0, w)[None, :].repeat(h, axis=0)
    yy, xx = np.mgrid[0:h, 0:w]
    stain = 1 - 0.3 * np.exp(-(((xx - w * 0.7) ** 2 + (yy - h * 0.5) ** 2) / (2 * (h / 5) ** 2)))
    return np.clip(img.astype(np.float64) * light * stain, 0, 255).astype(np.uint8)


def test_binarisation_survives_uneven_light():
    clean, _ = text_page(5)
    truth = clean < 128
    dark = _uneven(clean)
    # a global threshold fails on this page: the dark side of the paper is darker than the ink's edges
    norm = bz.flatten_background(dark, 45)
    ink = bz.binarize(norm, 0.82)
    inter = np.count_nonzero(ink & truth)
    union = np.count_nonzero(ink | truth)
    assert inter / union > 0.6
    # and no paper is taken for ink in the dark corner
    assert np.count_nonzero(ink & ~cv2.dilate(truth.astype(np.uint8), np.ones((5, 5))).astype(bool)) < 0.02 * truth.sum()


def test_pencil_writing_is_kept_whole():
    page, _ = text_page(5)
    strokes = page < 128
    # pale pencil: stroke bodies at 185, here and there a darker grain (where the lead pressed) at 140
    pencil = np.where(strokes, 185, 255).astype(np.float64)
    core = cv2.erode(strokes.astype(np.uint8), np.ones((2, 2))).astype(bool)
    pencil[core & (np.random.default_rng(0).random(page.shape) < 0.3)] = 140
    pencil = cv2.GaussianBlur(pencil, (0, 0), 0.8).astype(np.uint8)
    norm = bz.flatten_background(pencil, 45)
    kept = lambda ink: np.count_nonzero(ink & strokes) / np.count_nonzero(strokes)  # noqa: E731
    # Otsu alone splits the darker grain from the stroke bodies: much of the writing is lost
    assert kept(bz.binarize(norm, 0.82, 1.0, 0.8, contrast=0.0)) < 0.7
    # halfway between the page's own ink and the paper keeps the strokes
    assert kept(bz.binarize(norm, 0.82, 1.0, 0.8, contrast=0.5)) > 0.9


def test_bleed_through_stays_out_beside_black_ink():
    page, _ = text_page(5)
    other, _ = text_page(5, seed=3)
    verso = np.roll(cv2.flip(other, 1), 45, axis=0)  # the back of the leaf: mirrored, half a line off
    bleed = (verso < 128) & (page >= 128)
    img = np.where(page < 128, 20, np.where(bleed, 185, 255)).astype(np.float64)
    img = cv2.GaussianBlur(img, (0, 0), 0.8).astype(np.uint8)
    ink = bz.binarize(bz.flatten_background(img, 45), 0.82, 1.0, 0.8, contrast=0.5)
    assert np.count_nonzero(ink & bleed) < 0.05 * np.count_nonzero(bleed)
    assert np.count_nonzero(ink & (page < 128)) > 0.9 * np.count_nonzero(page < 128)


def test_border_mask_finds_the_dark_scan_border_only():
    page, _ = text_page(4)
    framed = np.zeros((page.shape[0] + 120, page.shape[1] + 160), np.uint8)
    framed[60:-60, 80:-80] = page
    mask = bz.border_mask(framed, 0.02)
    assert mask[:40].all() and mask[:, :50].all() and mask[-40:].all()
    inner = mask[80:-80, 100:-100]
    assert inner.mean() < 0.01  # the writing is not border


def test_rule_masks_find_table_lines_not_writing():
    page, _ = text_page(4)
    ruled = page.copy()
    cv2.line(ruled, (0, 40), (page.shape[1] - 1, 40), 0, 2)  # a horizontal rule
    cv2.line(ruled, (30, 0), (30, page.shape[0] - 1), 0, 2)  # a vertical rule
    for y in range(0, page.shape[0], 12):  # a dashed vertical rule
        cv2.line(ruled, (page.shape[1] - 30, y), (page.shape[1] - 30, y + 7), 0, 2)
    ink = ruled < 128
    h, v = bz.rule_masks(ink, 200, 120, 8)
    assert h[40, 300:900].all()
    assert v[100:400, 30].all()
    assert v[100:400, page.shape[1] - 30].mean() > 0.5
    writing = (page < 128) & ~h & ~v
    assert np.count_nonzero(writing) > 0.9 * np.count_nonzero(page < 128)


def test_text_scale_follows_the_writing_size():
    small, _ = text_page(4, scale=1.0)
    big, _ = text_page(4, scale=2.0, spacing=150)
    s1 = bz.text_scale(small < 128)
    s2 = bz.text_scale(big < 128)
    assert 1.6 < s2 / s1 < 2.4


@pytest.mark.parametrize("angle", [-3.0, 2.0])
def test_skew_is_measured(angle):
    page, _ = text_page(8)
    ink = dk.rotate_image((page < 128).astype(np.uint8), angle).astype(bool)
    found = dk.estimate_skew(ink, 6.0, 20.0)
    assert abs(found + angle) <= 0.5  # the angle that straightens it back


def test_unrotate_points_inverts_rotation():
    shape = (500, 800)
    pts = np.array([[100.0, 50.0], [700.0, 450.0]])
    m = dk.rotation(shape, 4.0)
    rotated = pts @ m[:, :2].T + m[:, 2]
    assert np.allclose(dk.unrotate_points(rotated, shape, 4.0), pts, atol=1e-6)


def _letterhead_page() -> tuple[np.ndarray, list[int]]:
    """Large script writing under a block of five lines of small print (a letterhead); the print's baselines."""
    page, _ = text_page(6, width=1400, scale=2.4, spacing=140)
    page = np.vstack([np.full((200, 1400), 255, np.uint8), page])
    rows = [40 + 22 * k for k in range(5)]
    for y in rows:
        cv2.putText(page, "MRS. JANE DOE, 12 MAIN STREET", (40, y), cv2.FONT_HERSHEY_SIMPLEX, 0.5, 20, 1, cv2.LINE_AA)
    return page, rows


def test_small_print_gets_its_own_lines():
    from htrgui.core.segmentation import smalltext as stx

    page, rows = _letterhead_page()
    ink = page < 128
    found, areas = stx.small_text_lines(ink, bz.text_scale(ink), 0.5, 15, 0.2, 2.5, 0.5, 1.0, 0.25, 8.0, 8.0,
                                        4.0, 0.3, 0.4)
    assert sorted(round(float(np.mean(ln.ys))) for ln in found) == pytest.approx(rows, abs=3)
    assert areas[:150, 40:260].any() and not areas[250:].any()  # the print, not the script


def test_small_print_pass_in_the_pipeline():
    import dataclasses

    from htrgui.core.segmentation import SegmentationParams, segment_page

    page, rows = _letterhead_page()

    def top_lines(params):
        return [ln for r in segment_page(page, params) for ln in r.lines if ln.baseline[0][1] < 160]

    # at the scale of the script the five lines of print smear together; the second pass parts them
    assert len(top_lines(SegmentationParams())) == 5
    assert len(top_lines(dataclasses.replace(SegmentationParams(), small_text_ratio=0.0))) < 5


def test_rule_crossings_tell_writing_across_rules_from_table_cells():
    from htrgui.core.segmentation import lines as ln

    ink = np.zeros((60, 400), np.uint8)
    vr = np.zeros_like(ink)
    vr[:, 100:103] = 1  # two vertical rules
    vr[:, 300:303] = 1
    trace = ln.Trace(10, np.full(380, 30.0))
    # writing runs up to the first rule and on after it; the second rule has a blank cell margin beside it
    ink[26:34, 20:100] = 1
    ink[26:34, 103:280] = 1
    ink[26:34, 330:380] = 1
    assert ln.rule_crossings([trace], ink, vr, 10.0, 5.0) == (1, 1)


def test_baseline_at_half_maximum_edge_of_the_band():
    """Descenders (a third of the x-height band's ink) pull a 30 % foot down to their tips; the baseline sits at
    the half-maximum edge, where the letters stand, and the x-height stays measured as before."""
    from htrgui.core.segmentation import lines as ln

    ink = np.zeros((100, 240), np.uint8)
    for x in range(10, 230):
        if x % 5 < 3:
            ink[40:55, x] = 1  # x-height band, rows 40..54: the baseline is at 55
        if x % 5 == 0:
            ink[55:65, x] = 1  # descenders down to row 64
    trace = ln.Trace(10, np.full(220, 47.0))
    low = ln.fit_baseline(trace, ink, 14.0, 56.0, 0.3)
    edge = ln.fit_baseline(trace, ink, 14.0, 56.0, 0.3, 0.5)
    assert abs(float(np.median(edge.ys)) - 55) <= 1.5
    assert float(np.median(low.ys)) > 60  # the old foot: at the descenders' tips
    assert edge.xheight == low.xheight
