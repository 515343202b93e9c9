"""Double-page spreads: pairs of real pages put side by side (one height, a dark binding between them) and
segmented as one scan, scored against both pages' ground truth.

Prints JSON per collection: F1 of the pages segmented alone (the baseline), of the spreads as the segmenter
sees them by default (page by page where it finds a gutter), and of the spreads seen as one sheet
(``spread_aspect=0 column_gap=0``). Pairs are neighbours in sorted order (page 0 with 1, 2 with 3, ...), spread evenly
over each collection.

    python benchmarks/spreads.py --pairs 8
    python benchmarks/spreads.py --pairs 8 --half dev    # pairs of the even-indexed pages only (or confirm)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from segmentation import DATA, read_truth  # noqa: E402  (one definition of ground truth)

from htrgui.core.imaging import load_image  # noqa: E402
from htrgui.core.segmentation import SegmentationParams, segment_page  # noqa: E402
from htrgui.core.segmentation.scoring import Score, score_page  # noqa: E402

BINDING = 40  # px, grey 60: the shadow of a binding


def _moved(shapes: list, s: float, dx: float) -> list:
    return [[(x * s + dx, y * s) for x, y in pts] for pts in shapes]


def _found(gray: np.ndarray, params: SegmentationParams) -> list:
    return [line.baseline for r in segment_page(gray, params) for line in r.lines]


def score_pair(a: Path, b: Path, params: SegmentationParams) -> tuple[Score, Score, Score]:
    """(both pages alone, the spread with ``params``, the spread seen as one sheet)."""
    grays = [load_image(p) for p in (a, b)]
    truths = [read_truth(p.with_suffix(".xml")) for p in (a, b)]
    alone = Score(0, 0, 0)
    for gray, (t, polys, regions) in zip(grays, truths):
        alone = alone + score_page(t, polys, _found(gray, params), regions)
    h = max(g.shape[0] for g in grays)
    scales = [h / g.shape[0] for g in grays]
    pages = [cv2.resize(g, (round(g.shape[1] * s), h), interpolation=cv2.INTER_AREA) for g, s in zip(grays, scales)]
    spread = np.concatenate([pages[0], np.full((h, BINDING), 60, np.uint8), pages[1]], axis=1)
    dxs = [0, pages[0].shape[1] + BINDING]
    truth = sum((_moved(t[0], s, dx) for t, s, dx in zip(truths, scales, dxs)), [])
    polys = sum((_moved(t[1], s, dx) for t, s, dx in zip(truths, scales, dxs)), [])
    regions = None
    if all(t[2] is not None for t in truths):
        regions = sum((_moved(t[2], s, dx) for t, s, dx in zip(truths, scales, dxs)), [])
    whole = dataclasses.replace(params, spread_aspect=0.0, column_gap=0.0)
    return (alone, score_page(truth, polys, _found(spread, params), regions),
            score_page(truth, polys, _found(spread, whole), regions))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=8, help="pairs per collection (spread evenly)")
    ap.add_argument("--half", choices=["dev", "confirm"],
                    help="pair only the even-indexed (dev) or odd-indexed (confirm) pages of each collection")
    args = ap.parse_args()
    if not DATA.exists():
        print(json.dumps({"error": f"{DATA} is absent"}))
        return 1
    params = SegmentationParams()
    colls: dict[str, list[Path]] = {}
    for p in sorted(DATA.glob("*/**/*.jpg")):
        colls.setdefault(p.relative_to(DATA).parts[0], []).append(p)
    result = {}
    for coll, paths in sorted(colls.items()):
        if args.half:
            paths = paths[0 if args.half == "dev" else 1::2]
        pairs = list(zip(paths[0::2], paths[1::2]))
        pairs = pairs[:: max(1, len(pairs) // args.pairs)][: args.pairs]
        sums = [Score(0, 0, 0)] * 3
        for a, b in pairs:
            sums = [x + y for x, y in zip(sums, score_pair(a, b, params))]
        result[coll] = {"pairs": len(pairs), "f1_pages_alone": round(sums[0].f1, 4),
                        "f1_spread": round(sums[1].f1, 4), "f1_spread_as_one_sheet": round(sums[2].f1, 4),
                        "ratio_spread_to_alone": round(sums[1].f1 / max(1e-9, sums[0].f1), 4)}
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
