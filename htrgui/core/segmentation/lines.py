"""Finding text lines in a (straightened) ink mask: smoothed ink, ridges, traces, gaps and baselines.

A text line is a horizontal band of dense ink. Smoothing the ink mask with a wide and flat Gaussian turns
each line into a ridge whose crest follows the line's x-height band even where the line bends or touches its
neighbours (crests of touching lines stay apart where connected components would merge them). Crests are
traced column by column, cut where the line's band holds no ink for a long stretch or crosses a vertical
rule (table columns), and each piece gets a baseline from the ink profile under its crest.

All coordinates here are in the working image (reduced and straightened); the pipeline maps them back.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class Trace:
    """A line crest: for every column ``x0 <= x < x0 + len(y)`` the crest row ``y[x - x0]`` (float)."""

    x0: int
    y: np.ndarray
    #: Set by :func:`split_trace` when the piece sits in a ruled table cell.
    in_cell: bool = False

    @property
    def x1(self) -> int:
        """One past the last column."""
        return self.x0 + len(self.y)

    def at(self, x: np.ndarray | float) -> np.ndarray:
        """Crest row at column(s) ``x`` (clamped to the ends)."""
        return np.interp(x, np.arange(self.x0, self.x1), self.y)


@dataclass
class Line:
    """A detected line: its baseline (x ascending, working coordinates) and its x-height in pixels."""

    xs: np.ndarray
    ys: np.ndarray
    xheight: float

    def at(self, x: np.ndarray | float) -> np.ndarray:
        """Baseline row at column(s) ``x`` (clamped to the ends)."""
        return np.interp(x, self.xs, self.ys)

    @property
    def x0(self) -> float:
        return float(self.xs[0])

    @property
    def x1(self) -> float:
        return float(self.xs[-1])


def line_density(ink: np.ndarray, scale: float, sigma_x: float, sigma_y: float) -> np.ndarray:
    """The ink smoothed with a wide, flat Gaussian (sigmas in units of the text scale): lines become ridges."""
    sx, sy = max(1.0, sigma_x * scale), max(0.7, sigma_y * scale)
    return cv2.GaussianBlur(ink.astype(np.float32), (0, 0), sigmaX=sx, sigmaY=sy, borderType=cv2.BORDER_CONSTANT)


def find_ridges(density: np.ndarray, radius: int, threshold: float) -> np.ndarray:
    """Crest pixels: the maximum of their column within +-``radius`` rows and above ``threshold`` x typical.

    "Typical" is a high percentile of the crest values, so the threshold follows the page's ink density.
    """
    k = cv2.getStructuringElement(cv2.MORPH_RECT, (1, 2 * max(1, radius) + 1))
    peak = cv2.dilate(density, k)
    cand = (density >= peak) & (density > 1e-3)
    if not cand.any():
        return cand
    typical = float(np.percentile(density[cand], 90))
    return cand & (density > threshold * typical)


def trace_ridges(ridges: np.ndarray, min_length: int) -> list[Trace]:
    """Group crest pixels into traces: 8-connected after bridging 1-2 px jumps; one row per column (mean)."""
    link = cv2.dilate(ridges.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
    n, labels = cv2.connectedComponents(link, connectivity=8)
    ys, xs = np.nonzero(ridges)
    lab = labels[ys, xs]
    order = np.argsort(lab, kind="stable")
    ys, xs, lab = ys[order], xs[order], lab[order]
    bounds = np.searchsorted(lab, np.arange(1, n + 1))
    traces = []
    for i in range(1, n):
        s, e = bounds[i - 1], bounds[i]
        if e - s == 0:
            continue
        tx, ty = xs[s:e], ys[s:e]
        x0, x1 = int(tx.min()), int(tx.max()) + 1
        if x1 - x0 < min_length:
            continue
        cnt = np.bincount(tx - x0, minlength=x1 - x0).astype(np.float64)
        tot = np.bincount(tx - x0, weights=ty, minlength=x1 - x0)
        have = cnt > 0
        cols = np.arange(x1 - x0)
        y = np.interp(cols, cols[have], tot[have] / cnt[have])
        traces.append(Trace(x0, y))
    return traces


def smooth(y: np.ndarray, window: int) -> np.ndarray:
    """Moving average with the ends held (the crest wobbles with individual letters)."""
    if window < 3 or len(y) < 3:
        return y
    w = min(window, len(y)) | 1
    pad = np.pad(y, (w // 2, w // 2), mode="edge")
    return np.convolve(pad, np.ones(w) / w, mode="valid")


def _junction_dy(cur: Trace, u: Trace) -> float:
    """Row difference where ``u`` continues ``cur``: mean over their common columns, or end to start."""
    lo, hi = max(cur.x0, u.x0), min(cur.x1, u.x1)
    if hi > lo:
        xs = np.arange(lo, hi)
        return float(np.mean(np.abs(cur.at(xs) - u.at(xs))))
    return abs(float(u.y[0]) - float(cur.y[-1]))


def merge_traces(traces: list[Trace], max_gap: float, max_dy: float) -> list[Trace]:
    """Join traces that continue each other: the next starts within ``max_gap`` columns of the end (or
    overlaps it) at about the same row; a trace lying within another at the same row is absorbed."""
    traces = sorted(traces, key=lambda t: t.x0)
    used = [False] * len(traces)
    out = []
    for i, t in enumerate(traces):
        if used[i]:
            continue
        used[i] = True
        cur = t
        while True:
            best, best_cost = -1, None
            for j in range(i + 1, len(traces)):
                if used[j]:
                    continue
                u = traces[j]
                gap = u.x0 - cur.x1
                if gap > max_gap:
                    break
                dy = _junction_dy(cur, u)
                if dy > max_dy:
                    continue
                if u.x1 <= cur.x1:  # inside: a second crest of the same line
                    used[j] = True
                    continue
                cost = dy + 0.1 * max(0, gap)
                if best_cost is None or cost < best_cost:
                    best, best_cost = j, cost
            if best < 0:
                break
            u = traces[best]
            used[best] = True
            gap = max(0, u.x0 - cur.x1)
            fill = np.linspace(cur.y[-1], u.y[0], gap + 2)[1:-1]
            tail = u.y[max(0, cur.x1 - u.x0):]
            cur = Trace(cur.x0, np.concatenate([cur.y, fill, tail]))
        out.append(cur)
    return out


def band(ink: np.ndarray, trace: Trace, above: int, below: int) -> np.ndarray:
    """The ink around a trace, straightened: ``out[r, i]`` is the pixel ``r - above`` rows below the crest at
    column ``x0 + i`` (0 outside the image)."""
    h = ink.shape[0]
    rows = np.round(trace.y).astype(np.int64)[None, :] + np.arange(-above, below + 1)[:, None]
    cols = np.arange(trace.x0, trace.x1)[None, :].repeat(rows.shape[0], axis=0)
    inside = (rows >= 0) & (rows < h)
    out = np.zeros(rows.shape, dtype=np.uint8)
    out[inside] = ink[rows[inside], cols[inside]]
    return out


def split_trace(trace: Trace, ink: np.ndarray, vrules: np.ndarray, scale: float, max_gap: float,
                min_length: float, rule_gap: float, min_cell: float | None = None) -> list[Trace]:
    """Cut a trace where its x-height band has no ink for more than ``max_gap`` columns, or for more than
    ``rule_gap`` columns where the gap holds a vertical rule (table columns; a crease or a rule that the
    writing runs across does not cut), and trim each piece to its ink.

    Pieces shorter than ``min_length`` go, except pieces next to a rule, which may be as short as
    ``min_cell``: in a ruled table a lone number or ditto mark in its cell is a line of its own.
    """
    half = max(1, int(round(0.5 * scale)))
    has_ink = band(ink, trace, half, half).any(axis=0)
    rule = band(vrules, trace, half, half).any(axis=0)
    cols = np.nonzero(has_ink)[0]
    if len(cols) == 0:
        return []
    cuts = [0]
    by_rule = [False]
    for a, b in zip(cols[:-1], cols[1:]):
        gap = b - a - 1
        ruled = gap > rule_gap and bool(rule[a + 1:b].any())
        if gap > max_gap or ruled:
            cuts.append(b)
            by_rule.append(ruled)
    cuts.append(len(has_ink))
    by_rule.append(False)
    out = []
    for k in range(len(cuts) - 1):
        seg = cols[(cols >= cuts[k]) & (cols < cuts[k + 1])]
        s, e = int(seg[0]), int(seg[-1]) + 1
        # in a cell: cut off by a rule, or with rules on both sides along the trace
        in_cell = by_rule[k] or by_rule[k + 1] or bool(rule[:s].any() and rule[e:].any())
        shortest = min_cell if (in_cell and min_cell is not None) else min_length
        if e - s >= shortest:
            out.append(Trace(trace.x0 + s, trace.y[s:e].copy(), in_cell))
    return out


def is_stroke(trace: Trace, ink: np.ndarray, scale: float, coverage: float, thickness: float,
              wobble: float = 0.0, pieces: float = 0.0) -> bool:
    """Whether a trace follows a single pen stroke (an underline, a flourish, a frame, a rule left over)
    rather than writing: ink in nearly every column of its x-height band (``coverage``), but only a thin
    stroke's worth in each (median ink per column at most ``thickness`` x H). Writing leaves gaps between
    letters; a line struck through keeps its letters' ink, so it stays.

    With ``wobble`` > 0, a trace is a stroke only if the middle of its ink moves on average less than
    ``wobble`` x H from one column to the next: cursive in a fine pen, reduced to the working scale, is as
    thin and unbroken as an underline, but its ink jumps between the tops and feet of the letters, while
    a stroke drawn along the line drifts smoothly.

    With ``pieces`` > 0, thin ink in at least that share of the columns, all of it on one straight line
    (nine columns in ten within 0.15 H), is a stroke too: a faint or dashed printed rule that the
    binarisation left in pieces."""
    r = max(1, int(round(0.5 * scale)))
    b = band(ink, trace, r, r)
    col = b.sum(axis=0)
    have = col > 0
    if not have.any():
        return True
    if np.median(col[have]) > thickness * scale:
        return False
    rows = np.arange(b.shape[0], dtype=np.float64)[:, None]
    if have.mean() >= coverage:
        if wobble <= 0 or have.sum() < 3:
            return True
        centre = (b * rows).sum(axis=0)[have] / col[have]
        return bool(np.mean(np.abs(np.diff(centre))) < wobble * scale)
    if pieces <= 0 or have.mean() < pieces:
        return False
    if have.sum() < 3:
        return True
    centre = (b * rows).sum(axis=0)[have] / col[have]
    xs = np.flatnonzero(have).astype(np.float64)
    fit = np.polyval(np.polyfit(xs, centre, 1), xs)
    # nine columns in ten on the line: writing on a rule keeps its letters off it
    return bool(np.mean(np.abs(centre - fit) < 0.15 * scale) >= 0.9)


def fit_baseline(trace: Trace, ink: np.ndarray, scale: float, step: float, fraction: float,
                 edge: float | None = None) -> Line | None:
    """Baseline of a trace: per piece of ``step`` columns, the row below the crest where the ink profile falls
    under ``edge`` of its peak (the foot of the x-height band; ``fraction`` when not given). Offsets are
    smoothed across pieces; the x-height is the median height of the band where the profile stays above
    ``fraction`` (kept apart from ``edge``: the x-height is a measure of the band's whole extent, which the
    thin-stroke test compares between lines, the baseline the edge the letters stand on)."""
    edge = fraction if edge is None else edge
    reach = max(3, int(round(1.5 * scale)))
    b = band(ink, trace, reach, reach).astype(np.float32)
    n = b.shape[1]
    k = max(1, int(round(step)))
    edges = list(range(0, n, k))
    if n - edges[-1] < k / 2 and len(edges) > 1:
        edges.pop()
    edges.append(n)
    offs, feet, tops, mids, weights = [], [], [], [], []
    for s, e in zip(edges[:-1], edges[1:]):
        prof = b[:, s:e].sum(axis=1)
        prof = np.convolve(prof, np.ones(3) / 3, mode="same")
        # the peak nearest the crest, not an ascender loop or a neighbour's descender
        lo, hi = reach - int(0.6 * scale), reach + int(0.6 * scale) + 1
        p = lo + int(np.argmax(prof[lo:hi]))
        peak = prof[p]
        if peak <= 0:
            continue
        below = np.nonzero(prof[p:] < fraction * peak)[0]
        above = np.nonzero(prof[: p + 1][::-1] < fraction * peak)[0]
        bot = p + (int(below[0]) if len(below) else len(prof) - p)
        top = p - (int(above[0]) if len(above) else p)
        foot = np.nonzero(prof[p:] < edge * peak)[0]
        offs.append(bot - reach)
        feet.append(p + (int(foot[0]) if len(foot) else len(prof) - p) - reach)
        tops.append(top - reach)
        mids.append(trace.x0 + (s + e - 1) / 2)
        weights.append(prof.sum())
    if not offs:
        return None
    offs = np.array(offs, dtype=np.float64)
    tops = np.array(tops, dtype=np.float64)
    med = float(np.median(offs))
    # pieces with a weak profile (a lone stroke) or far from the rest take the line's median offset
    w = np.array(weights)
    bad = (w < 0.25 * np.median(w)) | (np.abs(offs - med) > 0.5 * scale)
    offs[bad] = med
    if len(offs) >= 3:
        offs = np.convolve(np.pad(offs, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    xheight = float(max(2.0, np.median(offs) - np.median(tops)))
    # the baseline: the same smoothing on the feet at the ``edge`` level
    feet = np.array(feet, dtype=np.float64)
    fmed = float(np.median(feet))
    feet[(w < 0.25 * np.median(w)) | (np.abs(feet - fmed) > 0.5 * scale)] = fmed
    if len(feet) >= 3:
        feet = np.convolve(np.pad(feet, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    mids = np.array(mids)
    xs = np.concatenate([[trace.x0], mids, [trace.x1 - 1]])
    o = np.concatenate([[feet[0]], feet, [feet[-1]]])
    xs, idx = np.unique(xs, return_index=True)
    ys = trace.at(xs) + o[idx]
    if len(xs) < 2:
        xs = np.array([trace.x0, trace.x1 - 1], dtype=np.float64)
        ys = trace.at(xs) + fmed
    return Line(xs.astype(np.float64), ys, xheight)


def drop_thin(lines: list[Line], ratio: float) -> list[Line]:
    """Lines whose x-height is at least ``ratio`` x the page's median x-height. Writing on one page keeps a
    similar letter height; a band far flatter than the rest is one thin stroke running along (a pencil
    outline round the text, an underline, what is left of a rule), whatever the scan's resolution."""
    if len(lines) < 3 or ratio <= 0:
        return lines
    typical = float(np.median([line.xheight for line in lines]))
    return [line for line in lines if line.xheight >= ratio * typical]


def _rule_between(vrules: np.ndarray, a: Line, b: Line, scale: float) -> bool:
    """Whether a vertical rule runs where line ``a`` ends and ``b`` starts (a table column's edge)."""
    xa, xb = sorted((int(a.x1), int(b.x0)))
    ya, yb = sorted((float(a.at(a.x1)), float(b.at(b.x0))))
    h, w = vrules.shape
    x0, x1 = max(0, int(xa - 0.5 * scale)), min(w, int(xb + 0.5 * scale) + 1)
    y0, y1 = max(0, int(ya - scale)), min(h, int(yb) + 1)
    return x1 > x0 and y1 > y0 and bool(vrules[y0:y1, x0:x1].any())


def join_pieces(lines: list[Line], scale: float, max_gap: float, max_dy: float,
                vrules: np.ndarray | None = None) -> list[Line]:
    """Join a line to the one that starts where it ends (gap at most ``max_gap`` pixels, overlap at most one
    ``scale``) with its baseline at most ``max_dy`` pixels off: the crest of a slanted or curved line jumps
    at a tall letter and the tracing leaves two pieces of one line. A line continues at most one other, the
    nearest in height. In a table give ``vrules`` (a mask): entries of neighbouring cells meet end to end,
    so pieces are never joined across a vertical rule."""
    order = sorted(range(len(lines)), key=lambda i: lines[i].x0)
    nxt: dict[int, int] = {}
    taken: set[int] = set()
    for i in order:
        a = lines[i]
        best, best_dy = -1, None
        for j in order:
            b = lines[j]
            if j == i or j in taken or not (-scale <= b.x0 - a.x1 <= max_gap) or b.x1 <= a.x1:
                continue
            dy = abs(float(b.at(b.x0)) - float(a.at(a.x1)))
            if dy > max_dy or (vrules is not None and _rule_between(vrules, a, b, scale)):
                continue
            if best_dy is None or dy < best_dy:
                best, best_dy = j, dy
        if best >= 0:
            nxt[i] = best
            taken.add(best)
    out = []
    for i in order:
        if i in taken:
            continue
        cur = lines[i]
        k = i
        while k in nxt:
            b = lines[nxt[k]]
            keep = b.xs > cur.x1
            w0, w1 = cur.x1 - cur.x0, b.x1 - b.x0
            cur = Line(np.concatenate([cur.xs, b.xs[keep]]), np.concatenate([cur.ys, b.ys[keep]]),
                       (cur.xheight * w0 + b.xheight * w1) / max(1e-6, w0 + w1))
            k = nxt[k]
        out.append(cur)
    return out


def rule_crossings(traces: list[Trace], ink: np.ndarray, vrules: np.ndarray, scale: float,
                   reach: float) -> tuple[int, int]:
    """(crossed, parted): how many times the traces meet a vertical rule with writing on both sides of it
    (ink within ``reach`` pixels left and right of the rule in the trace's band), and how many times with a
    gap beside it. Writing on ruled or squared paper runs across the rules; a table's entries stop at them."""
    half = max(1, int(round(0.5 * scale)))
    r = max(1, int(round(reach)))
    crossed = parted = 0
    for t in traces:
        rule = band(vrules, t, half, half).any(axis=0)
        if not rule.any():
            continue
        has_ink = band(ink, t, half, half).any(axis=0)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], rule.astype(np.int8), [0]])))
        for s, e in zip(edges[0::2], edges[1::2]):
            if s < r or e + r > len(rule):
                continue  # at the trace's end: says nothing
            if has_ink[s - r:s].any() and has_ink[e:e + r].any():
                crossed += 1
            else:
                parted += 1
    return crossed, parted
