"""Scoring a segmentation against ground truth: one-to-one baseline matching, precision, recall, F1.

A predicted and a true line match when each baseline covers at least half of the other: half of its length
lies within ``tolerance`` pixels of the other baseline. The tolerance is 0.3 x the median true line height
(at least 6 px). Matching is one-to-one (best pairs first), so a merged or split line scores as errors.
Predicted lines whose baseline lies mostly outside every true text region are not judged: ground truth
often leaves stamps and later notes out.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

Points = list[tuple[int, int]]


def resample(polyline: Points, step: float = 2.0) -> np.ndarray:
    """Points every ``step`` pixels along a polyline (its vertices included), shape (N, 2)."""
    pts = np.asarray(polyline, dtype=np.float64).reshape(-1, 2)
    if len(pts) == 1:
        return pts
    out = [pts[:1]]
    for a, b in zip(pts[:-1], pts[1:]):
        n = max(1, int(np.ceil(np.hypot(*(b - a)) / step)))
        t = np.arange(1, n + 1)[:, None] / n
        out.append(a + (b - a) * t)
    return np.concatenate(out)


def _seg_distance(p: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Distance from each point of ``p`` (N, 2) to the polyline ``line`` (M, 2)."""
    if len(line) == 1:
        return np.hypot(*(p - line[0]).T)
    a, b = line[:-1], line[1:]
    ab = b - a
    ap = p[:, None, :] - a[None, :, :]
    t = np.clip((ap * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-9), 0, 1)
    proj = a[None] + t[..., None] * ab[None]
    return np.hypot(*(p[:, None, :] - proj).transpose(2, 0, 1)).min(axis=1)


def coverage(a: Points, b: Points, tolerance: float) -> float:
    """Fraction of baseline ``a``'s length lying within ``tolerance`` of baseline ``b``."""
    pa = resample(a)
    return float(np.mean(_seg_distance(pa, np.asarray(b, dtype=np.float64)) <= tolerance))


def median_height(polygons: list[Points]) -> float:
    """Median height (bounding box) of line polygons."""
    hs = [max(p[1] for p in poly) - min(p[1] for p in poly) for poly in polygons if poly]
    return float(np.median(hs)) if hs else 0.0


def tolerance_for(truth_polygons: list[Points]) -> float:
    """0.3 x the median true line height, at least 6 px."""
    return max(6.0, 0.3 * median_height(truth_polygons))


def judged(baseline: Points, regions: list[Points] | None) -> bool:
    """Whether a predicted line is judged: its baseline lies mostly inside some true region (``None`` = the
    whole page is a region)."""
    if regions is None:
        return True
    pts = resample(baseline, 4.0)
    for reg in regions:
        cnt = np.asarray(reg, dtype=np.float32).reshape(-1, 1, 2)
        inside = sum(cv2.pointPolygonTest(cnt, (float(x), float(y)), False) >= 0 for x, y in pts)
        if inside >= 0.5 * len(pts):
            return True
    return False


@dataclass
class Score:
    """Counts of one page (or of a sum of pages)."""

    matched: int
    predicted: int  # judged predicted lines
    truth: int

    @property
    def precision(self) -> float:
        return self.matched / self.predicted if self.predicted else (1.0 if not self.truth else 0.0)

    @property
    def recall(self) -> float:
        return self.matched / self.truth if self.truth else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: "Score") -> "Score":
        return Score(self.matched + other.matched, self.predicted + other.predicted, self.truth + other.truth)


def match_lines(truth: list[Points], predicted: list[Points], tolerance: float) -> list[tuple[int, int]]:
    """One-to-one matching: pairs (truth index, predicted index) where each baseline covers at least half of
    the other, taken greedily by the smaller of the two coverages."""
    cands = []
    boxes_t = [np.asarray(t).reshape(-1, 2) for t in truth]
    boxes_p = [np.asarray(p).reshape(-1, 2) for p in predicted]
    for i, t in enumerate(boxes_t):
        tx0, tx1 = t[:, 0].min(), t[:, 0].max()
        ty0, ty1 = t[:, 1].min() - tolerance, t[:, 1].max() + tolerance
        for j, p in enumerate(boxes_p):
            if p[:, 0].max() < tx0 or p[:, 0].min() > tx1 or p[:, 1].max() < ty0 or p[:, 1].min() > ty1:
                continue
            c1 = coverage(truth[i], predicted[j], tolerance)
            if c1 < 0.5:
                continue
            c2 = coverage(predicted[j], truth[i], tolerance)
            if c2 >= 0.5:
                cands.append((min(c1, c2), i, j))
    cands.sort(reverse=True)
    used_t, used_p, pairs = set(), set(), []
    for _, i, j in cands:
        if i not in used_t and j not in used_p:
            used_t.add(i)
            used_p.add(j)
            pairs.append((i, j))
    return pairs


def tight_matches(truth: list[Points], predicted: list[Points], tolerance: float,
                  share: float = 0.9) -> list[tuple[int, int]]:
    """Pairs (truth index, predicted index) of baselines that each lie along at least ``share`` of the other:
    the same line found whole, neither cut short nor run into a neighbour (one-to-one)."""
    return [(i, j) for i, j in match_lines(truth, predicted, tolerance)
            if min(coverage(truth[i], predicted[j], tolerance), coverage(predicted[j], truth[i], tolerance)) >= share]


def score_page(truth: list[Points], truth_polygons: list[Points], predicted: list[Points],
               regions: list[Points] | None) -> Score:
    """Score of one page: true baselines and polygons, predicted baselines, true regions (None = whole page)."""
    tol = tolerance_for(truth_polygons)
    pairs = match_lines(truth, predicted, tol)
    matched = {j for _, j in pairs}
    # a matched line is always judged, whatever the regions say
    unjudged = sum(1 for j, p in enumerate(predicted) if j not in matched and not judged(p, regions))
    return Score(len(pairs), len(predicted) - unjudged, len(truth))


def _band(line_polygon: Points, baseline: Points) -> tuple[np.ndarray, bool]:
    """A line's area as a polygon to fill, or (when it has no usable polygon) its baseline to stroke."""
    if line_polygon and len(line_polygon) >= 3:
        return np.asarray(line_polygon, dtype=np.float64).reshape(-1, 2), True
    return np.asarray(baseline or [(0, 0)], dtype=np.float64).reshape(-1, 2), False


def _overlaps(truth: list[tuple[Points, Points]], predicted: list[tuple[Points, Points]], scale: float = 0.25
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hits, predicted areas, true areas) on a raster at ``scale``: ``hits[j, i]`` is the area of predicted
    line j lying on true line i. Lines are (polygon, baseline) pairs; one without a polygon counts as a band of
    the median true line height around its baseline. Where true lines overlap, the smaller keeps its pixels."""
    height = max(4.0, median_height([p for p, _ in truth if p]) or 40.0)
    shapes = [_band(p, b) for p, b in truth + predicted]
    hits = np.zeros((len(predicted), len(truth)), np.int64)
    if not shapes:
        return hits, np.zeros(0, np.int64), np.zeros(0, np.int64)
    extent = np.concatenate([s for s, _ in shapes]).max(axis=0)
    w, h = (int(np.ceil(v * scale)) + 2 for v in extent)
    labels = np.zeros((h, w), np.int32)

    def draw(canvas: np.ndarray, shape: np.ndarray, closed: bool, value: int) -> None:
        pts = np.round(shape * scale).astype(np.int32).reshape(-1, 1, 2)
        if closed:
            cv2.fillPoly(canvas, [pts], value)
        else:
            cv2.polylines(canvas, [pts], False, value, thickness=max(1, int(round(height * scale))))

    # larger true lines first, so a small line inside another's polygon keeps its own pixels
    order = sorted(range(len(truth)), key=lambda i: -cv2.contourArea(shapes[i][0].astype(np.float32))
                   if shapes[i][1] else 0.0)
    for i in order:
        draw(labels, *shapes[i], i + 1)
    true_area = np.bincount(labels.ravel(), minlength=len(truth) + 1)[1:]
    areas = np.zeros(len(predicted), np.int64)
    for j, (shape, closed) in enumerate(shapes[len(truth):]):
        mask = np.zeros_like(labels, np.uint8)
        draw(mask, shape, closed, 1)
        hits[j] = np.bincount(labels[mask.astype(bool)], minlength=len(truth) + 1)[1:]
        areas[j] = max(1, int(mask.sum()))
    return hits, areas, true_area


def line_groups(truth: list[tuple[Points, Points]], predicted: list[tuple[Points, Points]],
                scale: float = 0.25, min_share: float = 0.2, contained: float = 0.5
                ) -> list[tuple[list[int], list[int]]]:
    """The lines of a page read from scratch, grouped by where they lie: (true line indexes, predicted line
    indexes) per group, every line in exactly one group.

    A predicted line belongs with the true line its area overlaps most (when at least ``min_share`` of it lies
    there) and with every true line that lies at least ``contained`` inside it; groups
    are the connected sets of such links. So a true line the segmentation split has its pieces in its group,
    two true lines one found line covers (a transcriber's two lines on one line of writing, or two lines of
    writing merged) share a group, and a line on its own is missing (no predicted line) or stray (no true
    line). A found line's tall polygon brushing the next true line links nothing: on `general/validation`
    that rule (any fifth of the found line's area) chained 121 true lines into 54 groups of several, this one
    4 into 2."""
    hits, areas, true_area = _overlaps(truth, predicted, scale)
    n = len(truth)
    parent = list(range(n + len(predicted)))

    def find(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for j in range(len(predicted) if n else 0):
        best = int(hits[j].argmax())
        for i in np.flatnonzero(hits[j]):
            if (i == best and hits[j, i] >= min_share * areas[j]) or hits[j, i] >= contained * max(1, true_area[i]):
                parent[find(n + j)] = find(int(i))
    groups: dict[int, tuple[list[int], list[int]]] = {}
    for k in range(n + len(predicted)):
        t, p = groups.setdefault(find(k), ([], []))
        (t if k < n else p).append(k if k < n else k - n)
    return list(groups.values())


def _box(polygon: Points, baseline: Points) -> tuple[float, float, float, float]:
    pts, _ = _band(polygon, baseline)
    return float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())


def _read_in_order(lines: list[tuple[Points, Points, str]]) -> str:
    """The texts of ``lines`` in reading order (side by side left to right, else top to bottom), joined by a
    space."""
    from htrgui.core.segmentation.layout import reading_order

    order = reading_order([_box(p, b) for p, b, _ in lines])
    return " ".join(lines[k][2] for k in order if lines[k][2].strip())


def end_to_end_pairs(truth: list[tuple[Points, Points, str]], predicted: list[tuple[Points, Points, str]],
                     regions: list[Points] | None = None) -> list[tuple[str, str]]:
    """(reading, truth) pairs for scoring a page read from its own segmentation against the ground truth:
    what the user would retype.

    ``truth`` and ``predicted`` are (polygon, baseline, text) per line. Per group of :func:`line_groups`, the
    texts of its predicted lines against those of its true lines, each side in reading order and joined by a
    space: a split line is put back together, a line of writing the transcriber cut in two (a date beside a
    place, a later insertion at the end of a line) and the app found whole costs nothing, two lines of writing
    merged into one cost what their reading gets wrong, a missing line all its characters. A stray predicted
    line (no true line) is extra text against an empty truth (a pair for every such line, even one read as
    empty, so readings of one segmentation pair up alike) when it lies in a true region, and not judged outside
    them (ground truth often leaves stamps and notes out); so are groups whose true lines have no text."""
    groups = line_groups([(p, b) for p, b, _ in truth], [(p, b) for p, b, _ in predicted])
    pairs = []
    for t_idx, p_idx in groups:
        ref = _read_in_order([truth[i] for i in t_idx])
        if t_idx and not ref.strip():
            continue
        if not t_idx:
            pairs += [(predicted[j][2], "") for j in p_idx if judged(predicted[j][1] or predicted[j][0], regions)]
            continue
        pairs.append((_read_in_order([predicted[j] for j in p_idx]), ref))
    return pairs
