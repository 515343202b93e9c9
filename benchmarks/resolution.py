"""Segmentation at other scan resolutions: real pages resized (0.5x to 1.5x) and scored against their
ground truth, resized alike. Collections met in use are scanned at 150 to 600 dpi; every length in the
segmenter is in units of the text scale, so F1 should move little.

Prints JSON: F1 per collection at each factor and its ratio to F1 at 1.0 (same pages, same run).

    python benchmarks/resolution.py --limit 10 --factors 0.5 0.75 1 1.5
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from segmentation import DATA, read_truth  # noqa: E402  (one definition of ground truth)

from htrgui.core.imaging import load_image  # noqa: E402
from htrgui.core.segmentation import segment_page  # noqa: E402
from htrgui.core.segmentation.scoring import Score, score_page  # noqa: E402


def _scaled(shapes: list, f: float) -> list:
    return [[(x * f, y * f) for x, y in pts] for pts in shapes]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=10, help="pages per collection (spread evenly)")
    ap.add_argument("--factors", type=float, nargs="+", default=[0.5, 0.75, 1.0, 1.5])
    args = ap.parse_args()
    if not DATA.exists():
        print(json.dumps({"error": f"{DATA} is absent"}))
        return 1
    factors = sorted(set(args.factors) | {1.0})
    result: dict[str, dict] = {}
    for coll_dir in sorted(p for p in DATA.iterdir() if p.is_dir()):
        paths = sorted(coll_dir.glob("**/*.jpg"))
        if not paths:
            continue
        paths = paths[:: max(1, len(paths) // args.limit)][: args.limit]
        sums = {f: Score(0, 0, 0) for f in factors}
        for path in paths:
            gray = load_image(path)
            truth, polys, regions = read_truth(path.with_suffix(".xml"))
            for f in factors:
                img = gray if f == 1.0 else cv2.resize(
                    gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC)
                found = [line.baseline for r in segment_page(img) for line in r.lines]
                sums[f] = sums[f] + score_page(_scaled(truth, f), _scaled(polys, f), found,
                                               None if regions is None else _scaled(regions, f))
        base = max(1e-9, sums[1.0].f1)
        result[coll_dir.name] = {"pages": len(paths),
                                 **{f"f1_x{f:g}": round(s.f1, 4) for f, s in sums.items()},
                                 **{f"ratio_x{f:g}": round(s.f1 / base, 4) for f, s in sums.items() if f != 1.0}}
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
