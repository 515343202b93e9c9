"""Line polygons: a band around each baseline, tall enough for ascenders and descenders, cut halfway
(weighted) towards the neighbouring lines so that polygons of stacked lines do not overlap."""

from __future__ import annotations

import numpy as np

from htrgui.core.segmentation.lines import Line

#: Where the boundary between a line and the one above sits, as a fraction of the baseline distance below the
#: upper baseline: descenders take less room than ascenders plus the x-height of the lower line.
SPLIT = 0.32


def sample_columns(line: Line, step: float) -> np.ndarray:
    """Columns where the polygon gets a top and a bottom point: the baseline's own points plus every ``step``."""
    extra = np.arange(line.x0, line.x1, max(2.0, step))
    return np.unique(np.concatenate([line.xs, extra, [line.x1]]))


def line_polygon(i: int, lines: list[Line], ascender: float, descender: float, step: float) -> np.ndarray:
    """Polygon (N, 2) of ``lines[i]``: top points left to right, then bottom points right to left.

    Above the baseline it reaches ``ascender`` x its x-height, below ``descender`` x; both are capped, column
    by column, at the split between this line and the nearest line above or below that covers the column.
    The neighbours' end columns are sampled too, so that the cap starts and stops exactly where they do.
    """
    line = lines[i]
    reach_up = float(line.ys.min()) - ascender * line.xheight / (1 - SPLIT) - 1
    reach_down = float(line.ys.max()) + descender * line.xheight / SPLIT + 1
    near = [other for j, other in enumerate(lines)
            if j != i and other.x1 >= line.x0 and other.x0 <= line.x1
            and other.ys.max() >= reach_up and other.ys.min() <= reach_down]
    xs = sample_columns(line, step)
    ends = [e for o in near for e in (o.x0 - 1, o.x0, o.x1, o.x1 + 1) if line.x0 < e < line.x1]
    if ends:
        xs = np.unique(np.concatenate([xs, ends]))
    base = line.at(xs)
    up = np.full(len(xs), ascender * line.xheight)
    down = np.full(len(xs), descender * line.xheight)
    for other in near:
        cover = (xs >= other.x0) & (xs <= other.x1)
        d = base - other.at(xs)  # > 0: other is above
        above = cover & (d > 0)
        below = cover & (d < 0)
        up[above] = np.minimum(up[above], (1 - SPLIT) * d[above])
        down[below] = np.minimum(down[below], SPLIT * -d[below])
    # never thinner than a sliver around the baseline: the baseline must lie inside
    up = np.maximum(up, 1.5)
    down = np.maximum(down, 1.5)
    top = np.stack([xs, base - up], axis=1)
    bottom = np.stack([xs, base + down], axis=1)[::-1]
    # widen by a little at both ends so the baseline's end points are strictly inside
    top[0, 0] -= 1
    bottom[-1, 0] -= 1
    top[-1, 0] += 1
    bottom[0, 0] += 1
    return np.concatenate([top, bottom], axis=0)
