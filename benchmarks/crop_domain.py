"""How much worse the model reads a line cut as the app cuts a new scan than cut from the truth's polygon.

    python benchmarks/crop_domain.py [--model M] [--split general/validation] [--every 1] [--threads 1]
    python benchmarks/crop_domain.py --set ascender=2.6 descender=1.1   # segmentation parameters to try

For each page of the split, the app's segmentation is run and the true lines it finds end to end are kept
(``scoring.tight_matches``: baselines lying along at least 90 % of each other). Each kept line is read twice,
greedy: cut from the ground truth's polygon (what training and the usual figures use) and cut from the
found line's polygon (what the app reads). The two CERs are over the same lines and texts, so their ratio is
what the crop alone costs. Also reports how many true lines were found whole and the CPU time of segmenting and cutting a page.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from htrgui.core.paths import shared_dir  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(REPO / "models" / "htrconvtext-small.pt"))
    ap.add_argument("--split", default="general/validation", help="KEY/SUBKEY of splits.json")
    ap.add_argument("--every", type=int, default=1, help="every N-th page of the split (a quick check)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE",
                    help="segmentation parameters (htrgui segment --set): how the found polygons are drawn")
    args = ap.parse_args()

    import torch

    from htrgui.cli.segment import parse_overrides
    from htrgui.core.imaging import load_page_image
    from htrgui.core.io import read_document
    from htrgui.core.recognition.checkpoint import load_checkpoint
    from htrgui.core.recognition.linecrop import crop_line
    from htrgui.core.text import ErrorRates
    from htrgui.core.training.data import segmented_lines
    from htrgui.core.training.validate import recognize_lines

    torch.set_num_threads(args.threads)
    params = parse_overrides(args.set)
    loaded = load_checkpoint(args.model)
    cpu = torch.device("cpu")

    data = shared_dir() / "data"
    listing = json.loads((data / "splits.json").read_text(encoding="utf-8"))
    for key in args.split.split("/"):
        listing = listing[key]
    pages = listing[:: args.every]
    truth_rates, app_rates = ErrorRates(), ErrorRates()
    per_collection: dict[str, tuple[ErrorRates, ErrorRates]] = {}
    truth_lines, seg_cpu = 0, 0.0
    for name in pages:
        page = read_document(data / f"{name}.xml")
        gray = load_page_image(page, mode="L")
        truth = [ln for ln in page.lines() if ln.text.strip()]
        truth_lines += len(truth)
        t0 = time.process_time()
        found = segmented_lines(gray, truth, params)  # (crop as the app cuts it, true line)
        seg_cpu += time.process_time() - t0
        from_truth = recognize_lines(loaded.model, loaded.codec, [crop_line(gray, ln) for _, ln in found], cpu)
        from_app = recognize_lines(loaded.model, loaded.codec, [crop for crop, _ in found], cpu)
        mine = per_collection.setdefault(name.split("/")[0], (ErrorRates(), ErrorRates()))
        for (_, line), a, b in zip(found, from_truth, from_app):
            for rates, text in ((truth_rates, a), (app_rates, b), (mine[0], a), (mine[1], b)):
                rates.add(text, line.text)
    print(json.dumps({
        "benchmark": "crop-domain", "model": args.model, "split": args.split, "pages": len(pages),
        "set": args.set,
        "truth_lines": truth_lines, "found_whole": app_rates.lines,
        "cer_truth_polygons": round(truth_rates.cer, 4), "cer_app_segmentation": round(app_rates.cer, 4),
        "ratio": round(app_rates.cer / max(truth_rates.cer, 1e-9), 3),
        "segment_and_cut_cpu_s_per_page": round(seg_cpu / max(1, len(pages)), 3),
        "collections": {c: {"lines": t.lines, "cer_truth_polygons": round(t.cer, 4),
                            "cer_app_segmentation": round(a.cer, 4)} for c, (t, a) in sorted(per_collection.items())}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
