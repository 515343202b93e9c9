"""How much worse the model reads a line cut as the app cuts a new scan than cut from the truth's polygon.

    python benchmarks/crop_domain.py [--model M] [--split general/validation] [--every 1] [--threads 1]
    python benchmarks/crop_domain.py --set ascender=2.6 descender=1.1   # segmentation parameters to try

For each page of the split, the app's segmentation is run and the true lines it finds end to end are kept
(``scoring.tight_matches``: baselines lying along at least 90 % of each other). Each kept line is read twice,
greedy: cut from the ground truth's polygon (what training and the usual figures use) and cut from the
found line's polygon (what the app reads). The two CERs are over the same lines and texts, so their ratio is
what the crop alone costs. Also reports how many true lines were found whole and the segmentation's CPU time.
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
    from htrgui.core.recognition.decode import greedy
    from htrgui.core.recognition.linecrop import crop_line
    from htrgui.core.recognition.preprocess import batch_lines
    from htrgui.core.segmentation import segment_page
    from htrgui.core.segmentation.scoring import tight_matches, tolerance_for
    from htrgui.core.text import ErrorRates

    torch.set_num_threads(args.threads)
    params = parse_overrides(args.set)
    loaded = load_checkpoint(args.model)
    model = loaded.model.eval()

    def read(images):
        out = []
        for k in range(0, len(images), 8):
            x, w = batch_lines(images[k:k + 8])
            with torch.inference_mode():
                logits, lengths = model(x, w)
            probs = logits.softmax(-1).numpy()
            out += [greedy(probs[i, : lengths[i]], loaded.codec).text for i in range(len(images[k:k + 8]))]
        return out

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
        truth = [ln for ln in page.lines() if ln.text.strip() and len(ln.baseline) >= 2]
        truth_lines += len(truth)
        t0 = time.process_time()
        found = [ln for region in segment_page(gray, params) for ln in region.lines]
        seg_cpu += time.process_time() - t0
        pairs = tight_matches([ln.baseline for ln in truth], [ln.baseline for ln in found],
                              tolerance_for([ln.polygon for ln in truth if ln.polygon]))
        from_truth = read([crop_line(gray, truth[i]) for i, _ in pairs])
        from_app = read([crop_line(gray, found[j]) for _, j in pairs])
        mine = per_collection.setdefault(name.split("/")[0], (ErrorRates(), ErrorRates()))
        for (i, _), a, b in zip(pairs, from_truth, from_app):
            for rates, text in ((truth_rates, a), (app_rates, b), (mine[0], a), (mine[1], b)):
                rates.add(text, truth[i].text)
    print(json.dumps({
        "benchmark": "crop-domain", "model": args.model, "split": args.split, "pages": len(pages),
        "set": args.set,
        "truth_lines": truth_lines, "found_whole": app_rates.lines,
        "cer_truth_polygons": round(truth_rates.cer, 4), "cer_app_segmentation": round(app_rates.cer, 4),
        "ratio": round(app_rates.cer / max(truth_rates.cer, 1e-9), 3),
        "segmentation_cpu_s_per_page": round(seg_cpu / max(1, len(pages)), 3),
        "collections": {c: {"lines": t.lines, "cer_truth_polygons": round(t.cer, 4),
                            "cer_app_segmentation": round(a.cer, 4)} for c, (t, a) in sorted(per_collection.items())}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
