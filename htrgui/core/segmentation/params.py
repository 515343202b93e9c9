"""The parameters of the line segmenter, all in one place.

Lengths are given relative to the page's *text scale* ``H`` (the median height of the ink's connected
components, measured on each page) rather than in pixels, so that the same defaults work whatever the scan
resolution. See ``docs/segmentation.md`` for what each step does with them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SegmentationParams:
    """Knobs of :func:`htrgui.core.segmentation.segment_page`. The defaults are meant for every collection."""

    # -- scale ------------------------------------------------------------------------------------------
    #: Pages are first reduced so that their longer side is at most this many pixels (speed).
    max_side: int = 1800
    #: Then reduced further so that the text scale H becomes about this many pixels (never enlarged).
    target_scale: float = 14.0
    #: H is at most the line period (measured by autocorrelation) divided by this.
    period_ratio: float = 2.2
    #: Measure the line period on the first pass's ink straightened (pages a few degrees askew).
    period_deskew: bool = True

    # -- binarisation -----------------------------------------------------------------------------------
    #: Background estimate: ink is removed with a grey-level closing of this size (x H).
    background_window: float = 3.0
    #: A pixel is ink when it is darker than this fraction of the local background ...
    ink_ratio: float = 0.82
    #: ... and darker than the Otsu threshold of the normalised page times this factor (bleed-through guard).
    otsu_factor: float = 1.0
    #: ... but never lower than this fraction of the fixed threshold (faint writing beside dark print).
    otsu_floor: float = 0.8
    #: ... nor lighter than this fraction of the way from the page's typical ink (the median of the darker
    #: Otsu class) to white: halfway between ink and paper. Black ink keeps the threshold at the Otsu or floor
    #: level; a page written in pale pencil raises it, so its strokes stay whole (0: off).
    ink_contrast: float = 0.5
    #: Dark areas thicker than this (x H: blots, bold headings, stamps, solid frames) are left out of the
    #: pixels Otsu and the typical ink are measured on: beside them, the pale thin writing of a register
    #: would be cut as bleed-through is (0: off).
    ink_stats_thick: float = 0.8

    # -- borders and rules ------------------------------------------------------------------------------
    #: Dark areas touching the image edge bigger than this fraction of the page are scan borders.
    border_min_fraction: float = 0.02
    #: Straight ink runs longer than this (x H) are rules (ruled paper, table lines), not writing.
    hrule_length: float = 20.0
    vrule_length: float = 6.0
    #: Look for rules and frames on the straightened ink: rules slanting with a skewed page are missed
    #: before (False: they are looked for before straightening only).
    rules_after_deskew: bool = True
    #: Gaps up to this (x H) along a rule are bridged: dotted and dashed rules of printed registers.
    rule_bridge: float = 0.5
    #: Components at least this wide and tall (x H) that fill at most ``frame_fill`` of their bounding box
    #: are frames drawn round the text or sweeping flourishes, not writing.
    frame_size: float = 5.0
    frame_fill: float = 0.02

    # -- deskew -----------------------------------------------------------------------------------------
    #: Largest skew (degrees) searched for; the page is straightened before finding lines.
    max_skew: float = 10.0

    # -- line detection ---------------------------------------------------------------------------------
    #: Anisotropic smoothing of the ink: horizontal and vertical Gaussian sigmas (x H).
    sigma_x: float = 2.5
    sigma_y: float = 0.5
    #: A line centre is a vertical maximum of the smoothed ink within +- this distance (x H).
    ridge_radius: float = 0.9
    #: ... whose value is at least this fraction of the page's typical line value.
    ridge_threshold: float = 0.25
    #: ... or this on ruled pages (tables, registers): a short entry alone in its cell (a number, a date)
    #: is diluted by the wide smoothing far more than a line of running text.
    ruled_ridge_threshold: float = 0.15
    #: Lines shorter than this (x H) are dropped (specks, dots, stray strokes).
    min_line_length: float = 1.5
    #: ... or this on pages without long vertical rules (free text rather than a table or register).
    free_min_line_length: float = 3.0
    #: A page is a table or register when at least this many columns of the working image hold a vertical
    #: rule spanning 30 % of its height.
    ruled_columns: int = 8
    #: ... unless the lines run on across more than this share of the rules they meet (ink on both sides of
    #: the rule): that is writing on ruled, squared or account paper, not a table, and the rules part
    #: nothing (1: never).
    rule_crossing_share: float = 0.5
    #: ... but in a ruled cell (a vertical rule beside it) down to this (x H): numbers, ditto marks.
    min_cell_length: float = 0.8
    #: A line is cut where its band holds no ink for longer than this (x H): columns, table cells.
    max_gap: float = 8.0
    #: ... or where a gap wider than this (x H) holds a vertical rule (a table column's edge).
    rule_gap: float = 0.5

    #: A line with ink in at least this fraction of its columns but no more than ``stroke_thickness`` x H of
    #: ink per column (median) follows a single stroke (underline, flourish, frame), not writing.
    stroke_coverage: float = 0.95
    stroke_thickness: float = 0.2
    #: ... unless the middle of its ink moves on average at least this much (x H) from column to column:
    #: cursive in a fine pen jumps between the tops and feet of its letters, a stroke drifts; 0: off.
    stroke_wobble: float = 0.065
    #: Thin ink in at least this fraction of a line's columns, all on one straight line, is a rule left in
    #: pieces (faint or dashed printed rules); 0: off.
    stroke_pieces: float = 0.3
    #: Lines lying mostly where even the paper colour is darker than this x the page's paper, over an area of
    #: at least ``picture_area`` (x H squared), are a picture's hatching (an engraved letterhead); 0: off.
    picture_darkness: float = 0.8
    picture_area: float = 16.0
    #: A shorter line whose baseline lies within this fraction of the line spacing of a longer line's, over
    #: most of its length, is part of that line (accents, superscripts, loops of capitals).
    fragment_reach: float = 0.4
    #: On free-text pages, lines shorter than ``scrap_length`` (x H) go within ``scrap_reach`` line spacings
    #: of a longer line: scraps between lines of writing (loops of descenders and ascenders), not lines.
    scrap_length: float = 5.0
    scrap_reach: float = 0.75
    #: A line whose x-height is under this fraction of the page's median line x-height follows a thin stroke
    #: (a pencil outline drawn round the text, an underline, a rule's remnant), not writing.
    min_xheight_ratio: float = 0.5
    #: A line starting at most ``join_gap`` (x H) after another ends, its baseline at most ``join_dy`` x the
    #: line spacing off, continues it (the tracing split a slanted or curved line at a tall letter); 0: off.
    join_gap: float = 6.0
    join_dy: float = 0.4

    # -- two facing pages or two columns in one scan ---------------------------------------------------------
    #: A scan at least this many times as wide as high is looked at as a double-page spread (0: never) ...
    spread_aspect: float = 1.2
    #: ... and parted where a band of columns this wide (x H) in the middle of the width holds no ink, with
    #: text on both sides; each page is then segmented on its own.
    spread_gap: float = 0.8
    #: On other scans, a band this wide (x H) parts two columns of one page, each segmented on its own
    #: (0: never).
    column_gap: float = 2.5

    # -- small print beside large writing ---------------------------------------------------------------------
    #: Ink components at most this fraction of the main writing's height are small text (the printed
    #: letterhead of a handwritten letter); their lines are found again at their own scale, on the page
    #: before its reduction to the main writing's scale (0: off; never on ruled pages).
    small_text_ratio: float = 0.5
    #: ... where at least this many letter-like small components gather into an area of their own (a line
    #: or two of print, not a word) ...
    small_text_parts: int = 15
    #: ... in which large components make at most this fraction of the ink (handwriting has small pieces too).
    small_text_large: float = 0.2
    #: Small-text lines shorter than this (x the small text's scale) are dropped.
    small_text_length: float = 8.0

    # -- baseline and polygon ---------------------------------------------------------------------------
    #: The baseline is where the ink profile below the line centre falls under this fraction of its peak.
    baseline_fraction: float = 0.3
    #: ... and the x-height band (for the thin-stroke test and the polygons) is where it stays above it; the
    #: baseline itself is placed where the profile falls under this fraction of its peak, the half-maximum
    #: edge of the band (0: the same as ``baseline_fraction``).
    baseline_edge: float = 0.5
    #: Width of the pieces a baseline is fitted on (x H); one baseline point per piece.
    baseline_step: float = 4.0
    #: Polygon: extent above and below the baseline (x the line's x-height), capped by the neighbouring lines.
    #: Chosen for what the recogniser reads best (benchmarks/crop_domain.py): 2.2 / 1.1 took in more of the
    #: neighbours' loops and read 15 % worse (general/validation 22.8 vs 19.9 % CER, general/train 17.5 vs 15.3 %).
    ascender: float = 2.0
    descender: float = 0.7

    # -- regions ----------------------------------------------------------------------------------------
    #: Lines closer than this (x the median line spacing) vertically, and overlapping horizontally, share a region.
    region_gap: float = 2.2
