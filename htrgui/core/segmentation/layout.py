"""Regions and reading order: grouping lines into blocks, naming the block types, ordering both."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cmp_to_key

import numpy as np

from htrgui.core.segmentation.lines import Line


@dataclass
class Block:
    """A group of lines (indexes into the page's line list) and its type."""

    lines: list[int]
    type: str = "paragraph"


def line_spacing(lines: list[Line]) -> float:
    """Median distance from a line's baseline to the nearest baseline below it that overlaps it horizontally."""
    if not lines:
        return 0.0
    x0 = np.array([line.x0 for line in lines])
    x1 = np.array([line.x1 for line in lines])
    ym = np.array([float(np.mean(line.ys)) for line in lines])
    gaps = []
    for i, a in enumerate(lines):
        cand = np.nonzero((x1 >= a.x0) & (x0 <= a.x1) & (ym > ym[i]))[0]
        best = None
        # the nearest few by mean height are enough: the true neighbour is among them
        for j in cand[np.argsort(ym[cand])][:3]:
            b = lines[j]
            xs = np.linspace(max(a.x0, b.x0), min(a.x1, b.x1), 5)
            d = float(np.median(b.at(xs) - a.at(xs)))
            if d > 0 and (best is None or d < best):
                best = d
        if best is not None:
            gaps.append(best)
    if gaps:
        return float(np.median(gaps))
    return float(np.median([3.0 * line.xheight for line in lines]))


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def group_lines(lines: list[Line], spacing: float, region_gap: float) -> list[Block]:
    """Blocks of lines: two lines are linked when they overlap horizontally (by a quarter of the shorter one)
    and their baselines are at most ``region_gap`` x ``spacing`` apart; blocks are the linked groups."""
    n = len(lines)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    ymid = [float(np.mean(line.ys)) for line in lines]
    for i in range(n):
        a = lines[i]
        for j in range(i + 1, n):
            b = lines[j]
            ov = _overlap(a.x0, a.x1, b.x0, b.x1)
            if ov < 0.25 * min(a.x1 - a.x0, b.x1 - b.x0):
                continue
            if abs(ymid[i] - ymid[j]) <= region_gap * spacing:
                parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return [Block(sorted(g, key=lambda k: ymid[k])) for g in groups.values()]


def _extent(block: Block, lines: list[Line]) -> tuple[float, float, float, float]:
    xs0 = min(lines[i].x0 for i in block.lines)
    xs1 = max(lines[i].x1 for i in block.lines)
    y0 = min(float(lines[i].ys.min()) - lines[i].xheight for i in block.lines)
    y1 = max(float(lines[i].ys.max()) for i in block.lines)
    return xs0, y0, xs1, y1


def classify_blocks(blocks: list[Block], lines: list[Line]) -> None:
    """Name block types: the block with the most writing is the main ``paragraph``; narrower blocks beside it
    (left or right of it, at its height) are ``marginalia``; everything else stays ``paragraph``."""
    if len(blocks) < 2:
        return
    mass = [sum(lines[i].x1 - lines[i].x0 for i in b.lines) for b in blocks]
    main = blocks[int(np.argmax(mass))]
    mx0, my0, mx1, my1 = _extent(main, lines)
    for b in blocks:
        if b is main:
            continue
        x0, y0, x1, y1 = _extent(b, lines)
        beside = x1 <= mx0 + 0.1 * (mx1 - mx0) or x0 >= mx1 - 0.1 * (mx1 - mx0)
        level = _overlap(y0, y1, my0, my1) > 0.5 * (y1 - y0)
        if beside and level and (x1 - x0) < 0.6 * (mx1 - mx0):
            b.type = "marginalia"


def _order(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> int:
    """Reading order of two boxes (x0, y0, x1, y1): side by side (mostly level) left first, else top first."""
    ov = _overlap(a[1], a[3], b[1], b[3])
    if ov > 0.5 * min(a[3] - a[1], b[3] - b[1]):
        return -1 if a[0] < b[0] else (1 if a[0] > b[0] else 0)
    return -1 if a[1] < b[1] else (1 if a[1] > b[1] else 0)


def reading_order(boxes: list[tuple[float, float, float, float]]) -> list[int]:
    """Indexes of ``boxes`` in reading order: top to bottom, boxes side by side at one height left to right."""
    idx = sorted(range(len(boxes)), key=lambda i: (boxes[i][1], boxes[i][0]))
    return sorted(idx, key=cmp_to_key(lambda i, j: _order(boxes[i], boxes[j])))


def absorb_fragments(lines: list[Line], spacing: float, reach: float, short: float = 0.0,
                     short_reach: float = 0.0) -> list[Line]:
    """Drop short lines lying in the band of a longer line (an accent, a superscript, a loop of a capital,
    the left-over of a flourish): their baseline is within ``reach`` x ``spacing`` of the longer one's over
    most of their length. Lines shorter than ``short`` pixels go within ``short_reach`` x ``spacing``: a
    scrap between two lines of writing is a descender's or ascender's loop, not a line."""
    order = sorted(range(len(lines)), key=lambda i: lines[i].x1 - lines[i].x0, reverse=True)
    lo = np.array([float(line.ys.min()) for line in lines])
    hi = np.array([float(line.ys.max()) for line in lines])
    kept: list[int] = []
    for i in order:
        a = lines[i]
        xs = np.linspace(a.x0, a.x1, 9)
        r = max(reach, short_reach) if a.x1 - a.x0 < short else reach
        absorbed = False
        for k in kept:
            b = lines[k]
            if lo[k] > hi[i] + r * spacing or hi[k] < lo[i] - r * spacing:
                continue
            inside = (xs >= b.x0 - 0.25 * spacing) & (xs <= b.x1 + 0.25 * spacing)
            if inside.mean() < 0.5:
                continue
            dy = np.abs(a.at(xs[inside]) - b.at(xs[inside]))
            if np.median(dy) < r * spacing:
                absorbed = True
                break
        if not absorbed:
            kept.append(i)
    return [lines[i] for i in sorted(kept)]
