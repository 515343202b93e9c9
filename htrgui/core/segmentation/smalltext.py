"""A second pass for small print beside large writing (the printed letterhead of a handwritten letter).

The main pass reduces the page so that the dominant writing is about 14 px high; print three times smaller
is then a few pixels high, and its lines smear into one another. This pass looks at the page before that
reduction: ink components far smaller than the main writing that gather into areas of their own (with no
main-size writing among them) are small text; their lines are found in those areas at the small text's
own scale, with the same steps as the main pass, and replace what the main pass found there.

All coordinates here are those of the image the pass is given (the first, fixed-size reduction).
"""

from __future__ import annotations

import cv2
import numpy as np

from htrgui.core.segmentation import binarize as bz
from htrgui.core.segmentation import layout as lay
from htrgui.core.segmentation import lines as ln


#: Share of an area of small text (the small ink grown along and across its lines) that is ink, at least.
MIN_DENSITY = 0.06


def split_by_size(ink: np.ndarray, main_scale: float, ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """(small, large) ink masks: components at most ``ratio`` x ``main_scale`` high (but at least 3 px, to
    leave specks out), and components higher than that."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    hs = stats[:, cv2.CC_STAT_HEIGHT]
    small = (hs >= 3) & (hs <= ratio * main_scale)
    small[0] = False
    large = hs > ratio * main_scale
    large[0] = False
    return small[labels], large[labels]


def small_text_areas(small: np.ndarray, large: np.ndarray, scale: float, min_parts: int,
                     max_large: float) -> np.ndarray:
    """Areas of small text: small components joined along the line (3 x ``scale``) and to the next line
    (1 x ``scale``); an area is kept when it holds at least ``min_parts`` letter-like components (at least
    0.6 ``scale`` high, at most four times as wide as high) and large components
    make at most ``max_large`` of its ink (an area of handwriting has small pieces too: dots, accents), and
    at least :data:`MIN_DENSITY` of it is ink."""
    k = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, int(3 * scale) | 1), max(3, int(scale) | 1)))
    grown = cv2.dilate(small.astype(np.uint8), k)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8)
    if n <= 1:
        return np.zeros_like(small, dtype=bool)
    parts_n, part_labels, pst, _ = cv2.connectedComponentsWithStats(small.astype(np.uint8), connectivity=8)
    # letter-like components per area (as high as the small text, not flat dashes or the specks of an edge):
    # each component counted by one of its pixels
    ph, pw = pst[:, cv2.CC_STAT_HEIGHT], pst[:, cv2.CC_STAT_WIDTH]
    letter = (ph >= 0.6 * scale) & (pw <= 4 * ph)
    first = np.zeros(parts_n, dtype=np.int64)
    ys, xs = np.nonzero(part_labels)
    first[part_labels[ys, xs]] = labels[ys, xs]
    parts = np.bincount(first[1:][letter[1:]], minlength=n)
    small_ink = np.bincount(labels[small], minlength=n)
    large_ink = np.bincount(labels[large & (grown > 0)], minlength=n)
    # print is dense (a line of letters fills a sixth to a quarter of its area); the grain of a textured
    # paper, which gathers into areas of specks of its own when a scan is reduced, fills a fiftieth
    dense = small_ink >= MIN_DENSITY * stats[:, cv2.CC_STAT_AREA]
    keep = (parts >= min_parts) & (large_ink <= max_large * (small_ink + large_ink)) & dense
    keep[0] = False
    return keep[labels]


def small_text_lines(ink: np.ndarray, main_scale: float, ratio: float, min_parts: int, max_large: float,
                     sigma_x: float, sigma_y: float, ridge_radius: float, ridge_threshold: float,
                     max_gap: float, min_length: float, baseline_step: float, baseline_fraction: float,
                     fragment_reach: float, stroke_coverage: float = 0.95,
                     stroke_thickness: float = 0.2,
                     baseline_edge: float | None = None) -> tuple[list[ln.Line], np.ndarray]:
    """Lines of small text on ``ink`` (a page whose main writing is ``main_scale`` px high), and the mask of
    the areas they were looked for in. Nothing when the page has no small text (or its small components are
    the main writing's pieces)."""
    empty = np.zeros_like(ink, dtype=bool)
    small, large = split_by_size(ink, main_scale, ratio)
    if small.sum() < 50:
        return [], empty
    scale = bz.text_scale(small)
    if scale <= 0 or scale > ratio * main_scale:
        return [], empty
    areas = small_text_areas(small, large, scale, min_parts, max_large)
    if not areas.any():
        return [], empty
    # only the small ink counts inside the areas: a large letter reaching in belongs to the main pass
    sub = small & areas
    ys, xs = np.nonzero(areas)
    pad = int(3 * scale)
    y0, y1 = max(0, ys.min() - pad), min(ink.shape[0], ys.max() + pad + 1)
    x0, x1 = max(0, xs.min() - pad), min(ink.shape[1], xs.max() + pad + 1)
    crop = sub[y0:y1, x0:x1]
    density = ln.line_density(crop, scale, sigma_x, sigma_y)
    ridges = ln.find_ridges(density, int(round(ridge_radius * scale)), ridge_threshold)
    traces = ln.trace_ridges(ridges, int(min_length * scale / 2))
    traces = [ln.Trace(t.x0, ln.smooth(t.y, int(scale))) for t in traces]
    traces = ln.merge_traces(traces, max_gap * scale, 0.5 * scale)
    cu8 = crop.astype(np.uint8)
    none = np.zeros_like(cu8)
    found = []
    for t in traces:
        for piece in ln.split_trace(t, cu8, none, scale, max_gap * scale, min_length * scale, max_gap * scale):
            if ln.is_stroke(piece, cu8, scale, stroke_coverage, stroke_thickness):
                continue
            line = ln.fit_baseline(piece, cu8, scale, baseline_step * scale, baseline_fraction, baseline_edge)
            if line is not None:
                found.append(ln.Line(line.xs + x0, line.ys + y0, line.xheight))
    if found:
        found = lay.absorb_fragments(found, lay.line_spacing(found), fragment_reach)
    return found, areas


def cut_out(line: ln.Line, mask: np.ndarray, min_length: float) -> list[ln.Line]:
    """The parts of ``line`` whose baseline lies outside ``mask``, each at least ``min_length`` long: a line
    of large writing that the main pass ran on into a block of small print keeps only its own part."""
    xs = np.arange(int(np.ceil(line.x0)), int(np.floor(line.x1)) + 1)
    if len(xs) < 2:
        return [line]
    ys = np.round(line.at(xs)).astype(int)
    h, w = mask.shape
    ok = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
    hit = np.zeros(len(xs), dtype=bool)
    hit[ok] = mask[ys[ok], xs[ok]]
    if not hit.any():
        return [line]
    out = []
    edges = np.flatnonzero(np.diff(np.concatenate([[1], hit.astype(np.int8), [1]])))
    for s, e in zip(edges[0::2], edges[1::2]):  # runs of columns outside the mask
        if e - 1 - s < min_length:
            continue
        a, b = float(xs[s]), float(xs[e - 1])
        inner = line.xs[(line.xs > a) & (line.xs < b)]
        px = np.concatenate([[a], inner, [b]])
        out.append(ln.Line(px, line.at(px), line.xheight))
    return out
