"""Line polygons: a band around each baseline, tall enough for ascenders and descenders, cut halfway
(weighted) towards the neighbouring lines so that polygons of stacked lines do not overlap."""

from __future__ import annotations

import numpy as np

from htrgui.core.geometry import SPLIT, stacked_band
from htrgui.core.segmentation.lines import Line


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
    return stacked_band(xs, base, ascender * line.xheight, descender * line.xheight,
                        [(other.x0, other.x1, other.at(xs)) for other in near], floor=1.5)
