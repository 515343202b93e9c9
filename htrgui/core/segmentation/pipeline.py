"""The whole segmenter: from a grey page image to regions of lines, in page coordinates."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from htrgui.core.document import TextLine, TextRegion, new_id
from htrgui.core.errors import ImageError
from htrgui.core.geometry import bbox_polygon, convex_hull
from htrgui.core.segmentation import binarize as bz
from htrgui.core.segmentation import deskew as dk
from htrgui.core.segmentation import layout as lay
from htrgui.core.segmentation import lines as ln
from htrgui.core.segmentation import smalltext as stx
from htrgui.core.segmentation import spreads as sp
from htrgui.core.segmentation.params import SegmentationParams
from htrgui.core.segmentation.polygons import line_polygon

#: Pages smaller than this (pixels, shorter side) hold no line we could find.
MIN_SIDE = 24


@dataclass
class Analysis:
    """What the steps found on a page, in working coordinates (for debugging pictures and tests)."""

    factor: float  # working image = page x factor
    scale: float  # text scale H in working pixels
    skew: float  # degrees the working image was rotated by
    ink: np.ndarray  # cleaned ink mask, straightened
    lines: list[ln.Line]
    polygons: list[np.ndarray]
    blocks: list[lay.Block]


def _as_gray(image: np.ndarray) -> np.ndarray:
    """A uint8 2-D view of ``image``: colour is converted, other dtypes are rejected."""
    if not isinstance(image, np.ndarray):
        raise ImageError(f"segmentation needs a numpy image, got {type(image).__name__}")
    if image.ndim == 3 and image.shape[2] in (3, 4):
        image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY if image.shape[2] == 3 else cv2.COLOR_RGBA2GRAY)
    if image.ndim != 2:
        raise ImageError(f"segmentation needs a grey or colour image, got an array of shape {image.shape}")
    if image.dtype == bool:
        image = np.where(image, 0, 255).astype(np.uint8)
    if image.dtype != np.uint8:
        raise ImageError(f"segmentation needs 8-bit pixels, got {image.dtype}")
    return image


def _resize(img: np.ndarray, f: float) -> np.ndarray:
    if abs(f - 1.0) < 1e-3:
        return img
    h, w = img.shape
    return cv2.resize(img, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)


def raw_ink(gray: np.ndarray, scale: float, p: SegmentationParams) -> np.ndarray:
    """Ink of the page (background flattened, binarised), without the dark borders of the scan."""
    norm = bz.flatten_background(gray, max(9, int(p.background_window * scale)))
    ink = bz.binarize(norm, p.ink_ratio, p.otsu_factor, p.otsu_floor, p.ink_contrast,
                      round(p.ink_stats_thick * scale))
    return ink & ~bz.border_mask(gray, p.border_min_fraction)


def rules(ink: np.ndarray, scale: float, p: SegmentationParams) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the horizontal and vertical rules of ``ink`` (text scale ``scale``)."""
    return bz.rule_masks(ink, int(p.hrule_length * scale), int(p.vrule_length * scale), int(p.rule_bridge * scale))


def without_frames(ink: np.ndarray, scale: float, p: SegmentationParams) -> np.ndarray:
    """``ink`` without frames drawn round the text and sweeping flourishes."""
    return ink & ~bz.frame_mask(ink, int(p.frame_size * scale), p.frame_fill)


def clean_ink(gray: np.ndarray, scale: float, p: SegmentationParams) -> tuple[np.ndarray, np.ndarray]:
    """Ink without borders, rules and frames, and the vertical-rule mask (used to cut lines at table columns)."""
    ink = raw_ink(gray, scale, p)
    hr, vr = rules(ink, scale, p)
    return without_frames(ink & ~hr & ~vr, scale, p), vr


def _is_ruled(vrules: np.ndarray, columns: int) -> bool:
    """A table or register: at least ``columns`` columns hold a vertical rule spanning 30 % of the height."""
    return int((vrules.sum(axis=0) > 0.3 * vrules.shape[0]).sum()) >= columns


@dataclass
class FirstPass:
    """The page at a fixed size, only to measure the text scale (and to find a spread's gutter)."""

    factor: float  # reduced image = page x factor
    gray: np.ndarray
    ink: np.ndarray
    scale: float  # text scale in reduced pixels; 0 when nothing of letter size was found


def first_pass(gray: np.ndarray, p: SegmentationParams) -> FirstPass:
    """Reduce ``gray`` to ``p.max_side``, clean its ink and measure its text scale."""
    h, w = gray.shape
    f0 = min(1.0, p.max_side / max(h, w))
    g0 = _resize(gray, f0)
    ink0, _ = clean_ink(g0, max(g0.shape) / 120, p)
    h0 = bz.text_scale(ink0)
    # the distance between lines is measured on straightened ink: on a page a few degrees askew, long lines
    # smear the row profile of each vertical strip and the period is lost
    skew0 = dk.estimate_skew(ink0, p.max_skew, h0) if h0 > 0 and p.period_deskew else 0.0
    if abs(skew0) >= 1.0:
        period = bz.line_period(dk.rotate_mask(ink0, skew0))
    else:
        period = bz.line_period(ink0)
    if period > 0 and h0 > 0:
        # touching lines and big loops merge components and inflate the letter height; the distance
        # between lines bounds it (writing is rarely more than half as tall as its line spacing)
        h0 = min(h0, period / p.period_ratio)
    return FirstPass(f0, g0, ink0, h0)


def analyse(gray: np.ndarray, params: SegmentationParams | None = None,
            first: FirstPass | None = None) -> Analysis | None:
    """Run every step on ``gray`` and return what they found (None when the page is too small to hold text).
    ``first``: its :func:`first_pass`, when already made."""
    p = params or SegmentationParams()
    gray = _as_gray(gray)
    h, w = gray.shape
    if min(h, w) < MIN_SIDE:
        return None
    fp = first or first_pass(gray, p)
    f0, g0, ink0, h0 = fp.factor, fp.gray, fp.ink, fp.scale
    if h0 <= 0:
        return Analysis(f0, 0.0, 0.0, ink0, [], [], [])
    f1 = min(1.0, p.target_scale / h0)
    factor = f0 * f1
    g = _resize(g0, f1)
    scale = h0 * f1
    raw = raw_ink(g, scale, p)
    hr, vr = rules(raw, scale, p)
    ink = without_frames(raw & ~hr & ~vr, scale, p)
    # a register or a table (long vertical rules) has short entries in its cells; on free text a short
    # isolated line is far more often a scrap (a loop, a stamp's texture) than writing. Looked at before
    # and after straightening: a wrong skew estimate must not hide a table's rules
    ruled = _is_ruled(vr, p.ruled_columns)
    skew = dk.estimate_skew(ink, p.max_skew, scale)
    if abs(skew) >= 0.25 and p.rules_after_deskew:
        # rules slant with the page: too far off the horizontal and vertical for the rule masks (a 1-degree
        # rule climbs 4 px over 20 H), so a skewed table lost its columns. Looked for again on the whole
        # straightened ink, they are straight; those found before (straight in the scan's frame: edges,
        # folds) stay removed
        raw = dk.rotate_mask(raw, skew)
        hr2, vr2 = rules(raw, scale, p)
        ink = without_frames(raw & ~dk.rotate_mask(hr | vr, skew) & ~hr2 & ~vr2, scale, p)
        vr = dk.rotate_mask(vr, skew) | vr2
    elif abs(skew) >= 0.25:
        ink = dk.rotate_mask(ink, skew)
        vr = dk.rotate_mask(vr, skew)
    else:
        skew = 0.0
    ruled = ruled or _is_ruled(vr, p.ruled_columns)
    density = ln.line_density(ink, scale, p.sigma_x, p.sigma_y)
    traces = find_traces(density, scale, p, ruled)
    if ruled and p.rule_crossing_share < 1:
        # a table's entries stop at its rules; writing on ruled, squared or account paper runs across them:
        # then the rules part nothing and the page is free text
        crossed, parted = ln.rule_crossings(traces, ink.astype(np.uint8), vr.astype(np.uint8), scale,
                                            p.rule_gap * scale)
        if crossed > p.rule_crossing_share * (crossed + parted):
            ruled = False
            vr = np.zeros_like(vr)
            traces = find_traces(density, scale, p, ruled)
    min_length = p.min_line_length if ruled else max(p.min_line_length, p.free_min_line_length)
    lines: list[ln.Line] = []
    inku8 = ink.astype(np.uint8)
    for t in traces:
        for piece in ln.split_trace(t, inku8, vr.astype(np.uint8), scale, p.max_gap * scale,
                                    min_length * scale, p.rule_gap * scale,
                                    p.min_cell_length * scale):
            # in a ruled cell a lone stroke is a ditto mark or a dash: a line of the table
            if not piece.in_cell and ln.is_stroke(piece, inku8, scale, p.stroke_coverage, p.stroke_thickness,
                                                       p.stroke_wobble, p.stroke_pieces):
                continue
            line = ln.fit_baseline(piece, inku8, scale, p.baseline_step * scale, p.baseline_fraction,
                                   p.baseline_edge or None)
            if line is not None:
                lines.append(line)
    lines = ln.drop_thin(lines, p.min_xheight_ratio)
    if p.join_dy > 0:
        # never across a gap that the cutting found wide enough to part two lines
        lines = ln.join_pieces(lines, scale, min(p.join_gap, p.max_gap) * scale,
                               p.join_dy * lay.line_spacing(lines),
                               vr if ruled else None)
    spacing = lay.line_spacing(lines)
    # on free text a short line close to a longer one is a scrap of it; in a table it is an entry
    scrap = 0.0 if ruled else p.scrap_length * scale
    lines = lay.absorb_fragments(lines, spacing, p.fragment_reach, scrap, p.scrap_reach)
    if p.small_text_ratio > 0 and not ruled:
        lines = add_small_text(lines, ink0, h0, f1, skew, ink.shape, p)
    if p.picture_darkness > 0:
        lines = drop_in_pictures(lines, g, scale, skew, p)
    polys = [line_polygon(i, lines, p.ascender, p.descender, 0.5 * p.baseline_step * scale)
             for i in range(len(lines))]
    blocks = lay.group_lines(lines, spacing, p.region_gap)
    lay.classify_blocks(blocks, lines)
    return Analysis(factor, scale, skew, ink, lines, polys, blocks)


def add_small_text(lines: list[ln.Line], ink0: np.ndarray, h0: float, f1: float, skew: float,
                   shape: tuple[int, int], p: SegmentationParams) -> list[ln.Line]:
    """The main pass's ``lines`` (working coordinates) with the small text of ``ink0`` (the page at the first
    reduction, main writing ``h0`` px high) found by :func:`smalltext.small_text_lines`: main-pass lines
    running through the small text's areas (several small lines smeared into one, or a line of the main
    writing run on into a letterhead block) give way there to the small lines."""
    small, areas = stx.small_text_lines(
        ink0, h0, p.small_text_ratio, p.small_text_parts, p.small_text_large, p.sigma_x, p.sigma_y,
        p.ridge_radius, p.ridge_threshold, p.max_gap, p.small_text_length, p.baseline_step,
        p.baseline_fraction, p.fragment_reach, p.stroke_coverage, p.stroke_thickness, p.baseline_edge or None)
    if not small:
        return lines
    m = dk.rotation(shape, skew) if skew else None

    def to_work(xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pts = np.stack([xs, ys], axis=1) * f1
        if m is not None:
            pts = pts @ m[:, :2].T + m[:, 2]
        return pts[:, 0], pts[:, 1]

    # the areas in working coordinates; main-pass lines lose what runs through them
    work = cv2.resize(areas.astype(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
    if skew:
        work = dk.rotate_image(work, skew)
    scale = h0 * f1
    kept = [part for line in lines
            for part in stx.cut_out(line, work.astype(bool), p.free_min_line_length * scale)]
    for line in small:
        xs, ys = to_work(line.xs, line.ys)
        order = np.argsort(xs)
        xs, ys = xs[order], ys[order]
        keep = np.concatenate([[True], np.diff(xs) > 0])
        if keep.sum() >= 2:
            kept.append(ln.Line(xs[keep], ys[keep], max(1.0, line.xheight * f1)))
    return kept


def drop_in_pictures(lines: list[ln.Line], g: np.ndarray, scale: float, skew: float,
                     p: SegmentationParams) -> list[ln.Line]:
    """``lines`` without those lying mostly inside a picture of ``g`` (the working image, not straightened)."""
    pic = bz.picture_mask(g, max(9, int(p.background_window * scale)), p.picture_darkness,
                          p.picture_area * scale * scale)
    if not pic.any():
        return lines
    if skew:
        pic = dk.rotate_mask(pic, skew)
    h, w = pic.shape

    def inside(line: ln.Line) -> float:
        xs = np.clip(np.round(line.xs).astype(int), 0, w - 1)
        ys = np.clip(np.round(line.ys).astype(int), 0, h - 1)
        return float(pic[ys, xs].mean())

    return [line for line in lines if inside(line) < 0.5]


def find_traces(density: np.ndarray, scale: float, p: SegmentationParams, ruled: bool) -> list[ln.Trace]:
    """Line crests of the smoothed ink, smoothed and joined where one continues another."""
    ridges = ln.find_ridges(density, int(round(p.ridge_radius * scale)),
                            p.ruled_ridge_threshold if ruled else p.ridge_threshold)
    traces = ln.trace_ridges(ridges, int(p.min_line_length * scale / 2))
    traces = [ln.Trace(t.x0, ln.smooth(t.y, int(scale))) for t in traces]
    return ln.merge_traces(traces, p.max_gap * scale, 0.5 * scale)


def _to_page(xy: np.ndarray, a: Analysis, shape: tuple[int, int], page: tuple[int, int],
             dx: int = 0) -> list[tuple[int, int]]:
    """Working coordinates -> integer page coordinates inside the image (of shape ``page``, which starts
    ``dx`` columns into the scan: the right part of a spread), consecutive duplicates dropped."""
    pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if a.skew:
        pts = dk.unrotate_points(pts, shape, a.skew)
    pts = pts / a.factor
    ph, pw = page
    pts[:, 0] = np.clip(pts[:, 0], 0, pw - 1)
    pts[:, 1] = np.clip(pts[:, 1], 0, ph - 1)
    out: list[tuple[int, int]] = []
    for x, y in np.rint(pts).astype(int):
        if not out or out[-1] != (x + dx, y):
            out.append((int(x) + dx, int(y)))
    if len(out) > 2 and out[0] == out[-1]:
        out.pop()
    return out


def _left_to_right(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Keep only points right of the previous kept one (rounding after deskew can make two share an x)."""
    out: list[tuple[int, int]] = []
    for pt in points:
        if not out or pt[0] > out[-1][0]:
            out.append(pt)
    return out


def _hull(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Convex hull of the points; their bounding box when the hull is too thin to have four corners."""
    hull = convex_hull(points)
    return hull if len(hull) >= 4 else bbox_polygon(points)


def segment_page(image: np.ndarray, params: SegmentationParams | None = None) -> list[TextRegion]:
    """Find the text lines of a page image and group them into regions in reading order.

    ``image``: uint8 grey (H, W) or RGB (H, W, 3) as returned by ``imaging.load_image``. Returns regions with
    fresh ids, integer coordinates inside the image, each line with a left-to-right baseline inside its
    polygon. A blank, black or tiny image gives an empty list. Two facing pages or two columns (see
    :mod:`spreads`) are segmented part by part, the left part's regions first.
    """
    p = params or SegmentationParams()
    gray = _as_gray(image)
    if min(gray.shape) < MIN_SIDE:
        return []
    fp = first_pass(gray, p)
    found = sp.gutter(fp.ink, fp.scale, sp.min_gutter(gray.shape, p.spread_aspect, p.spread_gap, p.column_gap))
    if found is None:
        return _regions(analyse(gray, p, fp), gray.shape)
    # two facing pages or two columns: each is segmented on its own (its scale, its skew), the left one read
    # first
    x = round(found[0] / fp.factor)
    a_left = analyse(np.ascontiguousarray(gray[:, :x]), p)
    a_right = analyse(np.ascontiguousarray(gray[:, x:]), p)
    left = _regions(a_left, (gray.shape[0], x))
    right = _regions(a_right, (gray.shape[0], gray.shape[1] - x), x)
    # one hand at one size on both sides, its lines going on at the same heights: one sheet after all
    hl, hr = (a.scale / a.factor if a is not None and a.scale > 0 else 0.0 for a in (a_left, a_right))
    if min(hl, hr) > 0 and max(hl, hr) < sp.SAME_SCALE * min(hl, hr):
        h = min(hl, hr)
        if sp.runs_across(left, right, x, 0.5 * found[1] / fp.factor + sp.REACH * h, sp.SAME_HEIGHT * h):
            return _regions(analyse(gray, p, fp), gray.shape)
    return left + right


def _regions(a: Analysis | None, page: tuple[int, int], dx: int = 0) -> list[TextRegion]:
    """The regions of an analysis in reading order, in the coordinates of a page of shape ``page`` that
    starts ``dx`` columns into the scan."""
    if a is None or not a.lines:
        return []
    shape = a.ink.shape
    made: list[tuple[TextRegion, tuple[float, float, float, float]]] = []
    for block in a.blocks:
        tls, boxes = [], []
        for i in block.lines:
            baseline = _left_to_right(_to_page(np.stack([a.lines[i].xs, a.lines[i].ys], axis=1), a, shape, page,
                                                dx))
            polygon = _to_page(a.polygons[i], a, shape, page, dx)
            if len(baseline) < 2 or len(polygon) < 4:
                continue  # a speck: nothing left of it at page resolution
            tls.append(TextLine(id=new_id("l"), polygon=polygon, baseline=baseline))
            xs = [q[0] for q in polygon]
            ys = [q[1] for q in baseline]
            boxes.append((min(xs), min(ys), max(xs), max(ys)))
        if not tls:
            continue
        tls = [tls[k] for k in lay.reading_order(boxes)]
        pts = [q for t in tls for q in t.polygon]
        hull = _hull(pts)
        region = TextRegion(id=new_id("r"), polygon=hull, type=block.type, lines=tls)
        xs = [q[0] for q in hull]
        ys = [q[1] for q in hull]
        made.append((region, (min(xs), min(ys), max(xs), max(ys))))
    order = lay.reading_order([box for _, box in made])
    return [made[k][0] for k in order]
