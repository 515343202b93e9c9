"""Line segmentation against the ground truth of ../shared/data: precision, recall, F1 and s/page per
collection, printed as JSON (one object).

    python benchmarks/segmentation.py                       # every page of every collection
    python benchmarks/segmentation.py --limit 10            # the first 10 pages of each collection (quick)
    python benchmarks/segmentation.py --split test          # the general test split only
    python benchmarks/segmentation.py --half dev            # even-indexed pages of each collection (tuning)
    python benchmarks/segmentation.py --half confirm        # odd-indexed pages (checking what was tuned)
    python benchmarks/segmentation.py --pages poilus/batch-1/TestamentsDePoilus_will_AD78_0005-0
    python benchmarks/segmentation.py --data DIR            # DIR/<collection>/**/*.xml (PAGE or ALTO) + images
                                                            # (scripts/export_heldout_pages.py writes one)

Matching rules: see htrgui/core/segmentation/scoring.py. ``s_per_page`` is the wall time of
``segment_page`` alone (image decoding excluded); ``cpu_s_per_page`` its CPU time (all threads), which is
the fairer figure on a machine shared with other work.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from xml.etree import ElementTree as ET

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from htrgui.core.paths import shared_dir  # noqa: E402

from htrgui.cli.segment import parse_overrides  # noqa: E402
from htrgui.core.errors import HtrError  # noqa: E402
from htrgui.core.imaging import load_image  # noqa: E402
from htrgui.core.segmentation import segment_page  # noqa: E402
from htrgui.core.segmentation.scoring import Score, score_page  # noqa: E402

DATA = shared_dir() / "data"


def _points(text: str | None) -> list[tuple[int, int]]:
    vals = [int(float(v)) for v in (text or "").replace(",", " ").split()]
    return list(zip(vals[0::2], vals[1::2]))


def read_truth(xml: Path) -> tuple[list, list, list | None]:
    """(baselines, line polygons, region polygons or None when some block has no shape) of an ALTO file."""
    root = ET.parse(xml).getroot()
    ns = root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""
    baselines, polys, regions = [], [], []
    whole_page = False
    for block in root.iter(f"{ns}TextBlock"):
        shape = block.find(f"{ns}Shape/{ns}Polygon")
        if block.find(f"{ns}TextLine") is None:
            continue  # a region nobody transcribed says nothing about what is text
        if shape is None or len(_points(shape.get("POINTS"))) < 3:
            whole_page = True
        else:
            regions.append(_points(shape.get("POINTS")))
        for line in block.iter(f"{ns}TextLine"):
            bl = _points(line.get("BASELINE"))
            if len(bl) < 2:
                continue
            lp = line.find(f"{ns}Shape/{ns}Polygon")
            baselines.append(bl)
            polys.append(_points(lp.get("POINTS")) if lp is not None else bl)
    return baselines, polys, (None if whole_page else regions)


def read_truth_any(xml: Path):
    """(image, (baselines, line polygons, region polygons or None)) of a PAGE or ALTO file htrgui reads, as
    :func:`read_truth` gives them for ../shared/data (``--data``: collections other than ours). A region
    without a shape has the box round its lines here (htrgui's reader gives it one), where read_truth judges
    the whole page: lines of ours outside every region's box are not judged."""
    from htrgui.core.imaging import load_page_image
    from htrgui.core.io import read_document

    page = read_document(xml)
    baselines, polys, regions, whole_page = [], [], [], False
    for region in page.regions:
        lines = [ln for ln in region.lines if ln.text.strip() and len(ln.baseline) >= 2]
        if not lines:
            continue  # a region nobody transcribed says nothing about what is text
        if len(region.polygon) < 3:
            whole_page = True
        else:
            regions.append(list(region.polygon))
        for ln in lines:
            baselines.append(list(ln.baseline))
            polys.append(list(ln.polygon) if len(ln.polygon) >= 3 else list(ln.baseline))
    return load_page_image(page, "L"), (baselines, polys, None if whole_page else regions)


def pages(args: argparse.Namespace) -> dict[str, list[Path]]:
    """Image paths per collection, as asked (``--data``: XML paths)."""
    if getattr(args, "data", None):
        return {d.name: sorted(d.rglob("*.xml")) for d in sorted(args.data.iterdir())
                if d.is_dir() and any(d.rglob("*.xml"))}
    if args.pages:
        chosen = [DATA / f"{p}.jpg" for p in args.pages]
    elif args.split:
        split = json.loads((DATA / "splits.json").read_text())["general"][args.split]
        chosen = [DATA / f"{p}.jpg" for p in split]
    else:
        chosen = sorted(DATA.glob("*/**/*.jpg"))
    out: dict[str, list[Path]] = {}
    for p in chosen:
        out.setdefault(p.relative_to(DATA).parts[0], []).append(p)
    if args.half:
        # tuning is decided on one half of each collection and checked on the other
        out = {c: ps[0 if args.half == "dev" else 1::2] for c, ps in out.items()}
    if args.limit:
        # spread the pages over the collection's sub-folders (hands, batches) rather than taking the first N
        out = {c: ps[:: max(1, len(ps) // args.limit)][: args.limit] for c, ps in out.items()}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=0, help="pages per collection (spread evenly)")
    ap.add_argument("--split", choices=["train", "validation", "test"], help="a split of splits.json 'general'")
    ap.add_argument("--half", choices=["dev", "confirm"],
                    help="even-indexed (dev) or odd-indexed (confirm) pages of each collection, in sorted order")
    ap.add_argument("--pages", nargs="*", help="page paths relative to ../shared/data, without extension")
    ap.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE",
                    help="override SegmentationParams fields, e.g. --set sigma_x=2.5 max_gap=5")
    ap.add_argument("--per-page", action="store_true", help="also list every page's score")
    ap.add_argument("--data", type=Path, help="score DIR/<collection>/**/*.xml (PAGE or ALTO, with their images) "
                                              "instead of ../shared/data")
    args = ap.parse_args()
    if args.data is None and not DATA.exists():
        print(json.dumps({"error": f"{DATA} is absent"}))
        return 1
    try:
        params = parse_overrides(args.set)  # the CLI's parsing: same names, same types
    except HtrError as e:
        ap.error(str(e))
    result: dict[str, dict] = {}
    total, total_t, total_n, total_cpu = Score(0, 0, 0), 0.0, 0, 0.0
    for coll, paths in sorted(pages(args).items()):
        s, t, cpu = Score(0, 0, 0), 0.0, 0.0
        per_page = {}
        for path in paths:
            if args.data:
                gray, (truth, tpolys, tregions) = read_truth_any(path)
            else:
                gray = load_image(path)
                truth, tpolys, tregions = read_truth(path.with_suffix(".xml"))
            t0, c0 = time.perf_counter(), time.process_time()
            regions = segment_page(gray, params)
            t += time.perf_counter() - t0
            cpu += time.process_time() - c0
            pred = [line.baseline for r in regions for line in r.lines]
            ps = score_page(truth, tpolys, pred, tregions)
            s = s + ps
            per_page[str(path.relative_to(args.data or DATA).with_suffix(""))] = {
                "f1": round(ps.f1, 3), "truth": ps.truth, "predicted": ps.predicted, "matched": ps.matched}
        result[coll] = {"pages": len(paths), "precision": round(s.precision, 4), "recall": round(s.recall, 4),
                        "f1": round(s.f1, 4), "s_per_page": round(t / max(1, len(paths)), 3),
                        "cpu_s_per_page": round(cpu / max(1, len(paths)), 3)}
        if args.per_page:
            result[coll]["per_page"] = per_page
        total, total_t, total_n, total_cpu = total + s, total_t + t, total_n + len(paths), total_cpu + cpu
    result["all"] = {"pages": total_n, "precision": round(total.precision, 4), "recall": round(total.recall, 4),
                     "f1": round(total.f1, 4), "s_per_page": round(total_t / max(1, total_n), 3),
                     "cpu_s_per_page": round(total_cpu / max(1, total_n), 3)}
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
