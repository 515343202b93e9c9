"""Segmentation of other scans of the same pages: resized (0.5x to 1.5x) and rotated (a few degrees), scored
against their ground truth, resized or rotated alike. Collections met in use are scanned at 150 to 600 dpi,
and photographed registers lie askew; every length in the segmenter is in units of the text scale and the
page is straightened, so F1 should move little.

Prints JSON: F1 per collection for each variant and its ratio to F1 of the scan itself (same pages, same run).

    python benchmarks/resolution.py --limit 10 --factors 0.5 0.75 1 1.5 --angles 3 -5
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from segmentation import DATA, read_truth  # noqa: E402  (one definition of ground truth)

from htrgui.cli.segment import parse_overrides  # noqa: E402
from htrgui.core.errors import HtrError  # noqa: E402
from htrgui.core.imaging import load_image  # noqa: E402
from htrgui.core.segmentation import segment_page  # noqa: E402
from htrgui.core.segmentation.scoring import Score, score_page  # noqa: E402


def _variant(gray: np.ndarray, f: float, angle: float):
    """The page resized by ``f`` or rotated by ``angle`` degrees (corners filled with its paper colour), and
    the function moving ground-truth points alike."""
    if angle:
        h, w = gray.shape
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        img = cv2.warpAffine(gray, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=int(np.median(gray)))
        return img, lambda shapes: [[tuple((m @ (x, y, 1.0)).tolist()) for x, y in pts] for pts in shapes]
    img = gray if f == 1.0 else cv2.resize(gray, None, fx=f, fy=f,
                                           interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC)
    return img, lambda shapes: [[(x * f, y * f) for x, y in pts] for pts in shapes]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=10, help="pages per collection (spread evenly)")
    ap.add_argument("--factors", type=float, nargs="+", default=[0.5, 0.75, 1.0, 1.5])
    ap.add_argument("--angles", type=float, nargs="*", default=[3.0, -5.0], help="rotations (degrees)")
    ap.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE", help="override SegmentationParams fields")
    args = ap.parse_args()
    if not DATA.exists():
        print(json.dumps({"error": f"{DATA} is absent"}))
        return 1
    try:
        params = parse_overrides(args.set)
    except HtrError as e:
        ap.error(str(e))
    variants = [(f, 0.0) for f in sorted(set(args.factors) | {1.0})] + [(1.0, a) for a in args.angles if a]
    result: dict[str, dict] = {}
    for coll_dir in sorted(p for p in DATA.iterdir() if p.is_dir()):
        paths = sorted(coll_dir.glob("**/*.jpg"))
        if not paths:
            continue
        paths = paths[:: max(1, len(paths) // args.limit)][: args.limit]
        sums = {v: Score(0, 0, 0) for v in variants}
        for path in paths:
            gray = load_image(path)
            truth, polys, regions = read_truth(path.with_suffix(".xml"))
            for f, angle in variants:
                img, move = _variant(gray, f, angle)
                found = [line.baseline for r in segment_page(img, params) for line in r.lines]
                sums[(f, angle)] = sums[(f, angle)] + score_page(
                    move(truth), move(polys), found, None if regions is None else move(regions))
        base = max(1e-9, sums[(1.0, 0.0)].f1)
        names = {v: (f"x{v[0]:g}" if not v[1] else f"rot{v[1]:+g}") for v in variants}
        result[coll_dir.name] = {"pages": len(paths),
                                 **{f"f1_{names[v]}": round(s.f1, 4) for v, s in sums.items()},
                                 **{f"ratio_{names[v]}": round(s.f1 / base, 4) for v, s in sums.items()
                                    if v != (1.0, 0.0)}}
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
