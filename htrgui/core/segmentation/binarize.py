"""From a grey page to clean ink: background flattening, binarisation, scan borders and ruled lines.

Every function takes and returns plain numpy arrays (``uint8`` grey, ``bool`` ink masks) so each step can be
tested and looked at on its own.
"""

from __future__ import annotations

import cv2
import numpy as np


def _paper(gray: np.ndarray, window: int) -> tuple[np.ndarray, int]:
    """The paper colour (a grey-level closing: ink narrower than ``window`` removed) at 1/f of the size, and f."""
    h, w = gray.shape
    f = 4 if min(h, w) >= 64 else 1
    small = cv2.resize(gray, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
    k = max(3, int(window / f) | 1)
    return cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))), f


#: Share of a dark area's pixels darker than ``darkness`` x its own paper colour for it to be a picture
#: (engravings: 0.6 to 0.75; a water stain with writing on it: under 0.1).
PICTURE_INK_SHARE = 0.5


def picture_mask(gray: np.ndarray, window: int, darkness: float, min_area: float) -> np.ndarray:
    """Pictures: areas of at least ``min_area`` pixels where even the paper colour (the closing that removes
    pen strokes) is darker than ``darkness`` x the page's paper, at most a quarter of the page (more is the
    paper itself, or a shadow), and mostly ink: at least half their pixels darker than ``darkness`` x the
    area's own paper colour. An engraving or a photograph is dark throughout; writing, however dense, and a
    stain, however dark, leave paper between the strokes. The lines found in a picture are its hatching.
    Returned at full size, grown by ``window`` (the picture's edge)."""
    h, w = gray.shape
    bg, f = _paper(gray, window)
    # most of a page is paper (grey card and yellowed paper included): its median is the paper's colour
    dark = (bg < darkness * float(np.median(bg))).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    area = stats[:, cv2.CC_STAT_AREA] * f * f
    keep = (area >= min_area) & (area <= 0.25 * h * w)
    keep[0] = False
    # a stain darkens the paper but leaves it paper: most of its pixels are as light as its paper colour;
    # a picture is mostly ink (hatching, shading), darker than the lightest parts round it
    if keep.any():
        full = cv2.resize(labels.astype(np.int32), (w, h), interpolation=cv2.INTER_NEAREST)
        paper = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        inky = gray.astype(np.float32) < darkness * paper
        for i in np.nonzero(keep)[0]:
            keep[i] = bool(inky[full == i].mean() >= PICTURE_INK_SHARE)
    mask = keep[labels].astype(np.uint8)
    if mask.any():
        k = max(3, int(window / f) | 1)
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    return cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)


def flatten_background(gray: np.ndarray, window: int) -> np.ndarray:
    """Divide the page by an estimate of its paper colour so that uneven light and stains become white.

    The paper colour is a grey-level closing (a max filter: it removes ink narrower than ``window``) computed
    at a quarter of the resolution for speed, then smoothed. Returns uint8, paper about 255.
    """
    h, w = gray.shape
    bg, f = _paper(gray, window)
    k = max(3, int(window / f) | 1)
    bg = cv2.medianBlur(bg, 5) if min(bg.shape) >= 5 else bg
    bg = cv2.GaussianBlur(bg, (0, 0), k / 2)
    bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR)
    # a floor on the background: all-black areas must not turn white by division
    norm = gray.astype(np.float32) * 255.0 / np.maximum(bg.astype(np.float32), 32.0)
    return np.clip(norm, 0, 255).astype(np.uint8)


def binarize(norm: np.ndarray, ink_ratio: float, otsu_factor: float = 1.0, floor: float = 0.55,
             contrast: float = 0.0, thick: int = 0) -> np.ndarray:
    """Ink mask of a flattened page: darker than ``ink_ratio`` x paper, and than Otsu's threshold.

    The fixed ratio keeps faint pen strokes; Otsu (computed on the non-white pixels) keeps bleed-through,
    which is lighter than the ink of the page itself, out when the page has enough real ink to tell them apart;
    it never goes below ``floor`` x the fixed threshold, so faint writing on a page with dark print survives.
    Nor below :func:`contrast_threshold` (``contrast`` of the way from the page's own ink to the paper): on a
    page written in pale pencil the whole writing is as light as another page's bleed-through, and Otsu would
    split each stroke's core from its body. ``thick`` (pixels, 0: off): dark areas at least this thick
    (blots, bold headings, stamps) are left out of those statistics, which are meant for the writing: a
    register's pale thin hand beside a black blot and a bold heading would otherwise be cut like
    bleed-through.
    """
    fixed = ink_ratio * 255.0
    weak = norm < fixed
    if thick >= 3:
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (thick | 1, thick | 1))
        weak &= ~cv2.morphologyEx(weak.view(np.uint8), cv2.MORPH_OPEN, disc).astype(bool)
    dark = norm[weak]
    thr = fixed
    if dark.size > 200:
        otsu, _ = cv2.threshold(dark.reshape(1, -1), 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        # Otsu between ink and bleed-through only applies when it lies well inside the dark range
        if otsu * otsu_factor > np.percentile(dark, 5):
            thr = min(fixed, max(otsu * otsu_factor, floor * fixed, contrast_threshold(dark, otsu, contrast)))
    return norm < thr


def contrast_threshold(dark: np.ndarray, otsu: float, contrast: float) -> float:
    """The grey level ``contrast`` of the way from the page's typical ink to white paper (255).

    The typical ink is the median of the darker Otsu class of the non-white pixels ``dark``: the cores of the
    strokes, whatever the pen. Black ink puts this level far below any bleed-through or paper texture;
    pencil or faded ink raises it with the writing, so a pale hand is kept whole. 0 turns it off.
    """
    core = dark[dark < otsu]
    if contrast <= 0 or core.size == 0:
        return 0.0
    level = float(np.median(core))
    return level + contrast * (255.0 - level)


def border_mask(gray: np.ndarray, min_fraction: float) -> np.ndarray:
    """Where the scan shows no paper: dark areas (table, scanner lid, black film edge) touching the image edge.

    Found on a blurred, reduced copy: pixels much darker than the paper, grouped into connected areas; those
    that touch the image edge and are large are the border. Returned at full size, slightly grown so that the
    paper's torn edge goes with it.
    """
    h, w = gray.shape
    f = max(1, min(h, w) // 256)
    small = cv2.resize(gray, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), 2)
    paper = float(np.percentile(small, 75))
    dark = (small < 0.55 * paper).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=4)
    sh, sw = small.shape
    keep = np.zeros(n, dtype=bool)
    for i in range(1, n):
        x, y, bw, bh, area = stats[i]
        touches = x == 0 or y == 0 or x + bw >= sw or y + bh >= sh
        # large, or a long strip along the edge (thin film borders)
        if touches and (area >= min_fraction * sh * sw or max(bw / sw, bh / sh) > 0.3):
            keep[i] = True
    mask = keep[labels].astype(np.uint8)
    if mask.any():
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5)))
    return cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)


def rule_masks(ink: np.ndarray, h_length: int, v_length: int, bridge: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Masks of straight horizontal and vertical rules: ink runs at least ``h_length`` / ``v_length`` long.

    A small dilation across the run direction first lets slightly skewed rules qualify; a closing of
    ``bridge`` pixels along the run lets dotted and dashed rules (common in printed registers) qualify.
    """
    img = ink.astype(np.uint8)
    hk = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, h_length), 1))
    hsrc = cv2.dilate(img, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 3)))
    hsrc = cv2.morphologyEx(hsrc, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (max(1, bridge), 1)))
    horiz = cv2.morphologyEx(hsrc, cv2.MORPH_OPEN, hk)
    vk = cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(3, v_length)))
    vsrc = cv2.dilate(img, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 1)))
    vsrc = cv2.morphologyEx(vsrc, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(1, bridge))))
    vert = cv2.morphologyEx(vsrc, cv2.MORPH_OPEN, vk)
    grow = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
    # the closing may have filled the gaps of a dashed rule: report only ink (and its rim) as rule
    near = cv2.dilate(img, grow)
    return (cv2.dilate(horiz, grow) & near).astype(bool), (cv2.dilate(vert, grow) & near).astype(bool)


def text_scale(ink: np.ndarray) -> float:
    """The page's text scale H: median height of mid-sized ink components (letters, word pieces).

    Specks and large blobs (stamps, drawings, left-over borders) are left out. Returns 0.0 when nothing
    of letter size is found.
    """
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    if n <= 1:
        return 0.0
    hs = stats[1:, cv2.CC_STAT_HEIGHT].astype(np.float32)
    ws = stats[1:, cv2.CC_STAT_WIDTH].astype(np.float32)
    areas = stats[1:, cv2.CC_STAT_AREA].astype(np.float32)
    page_h = ink.shape[0]
    ok = (hs >= 4) & (areas >= 12) & (hs < page_h / 8) & (ws < ink.shape[1] / 3)
    if ok.sum() < 3:
        return 0.0  # specks only (noise, a blank page with dust): nothing that could be writing
    # weight by width so that long cursive words count more than dots and accents
    hs, ws = hs[ok], ws[ok]
    order = np.argsort(hs)
    cum = np.cumsum(ws[order])
    return float(hs[order][np.searchsorted(cum, cum[-1] / 2)])


def frame_mask(ink: np.ndarray, min_size: int, max_fill: float) -> np.ndarray:
    """Components that are frames drawn round a block of text, or long loose flourishes: at least
    ``min_size`` wide and tall, and filling at most ``max_fill`` of their bounding box (writing fills a
    tenth or more of its box; a frame or a sweeping curve almost none).

    Thin single strokes cannot be told from connected cursive by their shape alone at this scale (a long
    cursive word crosses most columns once or twice too), so only the sparse large ones go.
    """
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    if n <= 1:
        return np.zeros_like(ink, dtype=bool)
    w, h, area = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT], stats[:, cv2.CC_STAT_AREA]
    frame = (w >= min_size) & (h >= min_size) & (area < max_fill * w.astype(np.float64) * h)
    frame[0] = False
    return frame[labels]


def line_period(ink: np.ndarray, strips: int = 6, min_lag: int = 6) -> float:
    """The distance between text lines, from the autocorrelation of the ink's row profile in vertical strips.

    Narrow strips keep the profile sharp on skewed or curved pages; the median over the strips with a clear
    periodic profile is returned, 0.0 when none has one (a single line, a drawing, no ink).
    """
    h, w = ink.shape
    if h < 4 * min_lag:
        return 0.0
    lags = []
    step = max(1, w // strips)
    for x in range(0, w - step + 1, step):
        prof = ink[:, x:x + step].sum(axis=1).astype(np.float64)
        if prof.sum() < 2 * h:
            continue
        prof -= prof.mean()
        n = int(2 ** np.ceil(np.log2(2 * h)))
        spec = np.fft.rfft(prof, n)
        ac = np.fft.irfft(spec * np.conj(spec), n)[: h // 2]
        if ac[0] <= 0:
            continue
        ac /= ac[0]
        # the first clear local maximum after the central peak has decayed
        for lag in range(min_lag, len(ac) - 1):
            if ac[lag] >= ac[lag - 1] and ac[lag] >= ac[lag + 1] and ac[lag] > 0.15:
                # ignore shoulders of the central peak: it must first have dropped below this peak's height
                if ac[min_lag // 2:lag].min() < ac[lag] - 0.1:
                    lags.append(lag)
                break
    return float(np.median(lags)) if len(lags) >= 2 else 0.0
