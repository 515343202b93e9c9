"""Fine-tuning benchmark: CER on adaptation/test before and after fine-tuning on adaptation/adapt.

    python benchmarks/adaptation.py [--model models/htrconvtext-small.pt] [--budget-min 8] [--threads 1]

The ``adaptation`` split of ../shared/data/splits.json is one writer: 20 pages to fine-tune on (3 of them
held out by the fine-tuning for early stopping and the before/after check) and 20 other pages to measure
on. Replay lines against forgetting come from a few general/train pages. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from htrgui.core.paths import shared_dir  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(REPO / "models" / "htrconvtext-small.pt"))
    ap.add_argument("--shared", default=str(shared_dir()))
    ap.add_argument("--budget-min", type=float, default=8.0, help="fine-tuning time budget in minutes")
    ap.add_argument("--replay-pages", type=int, default=6)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, help="torch CPU threads (1 is fastest on a shared CPU)")
    ap.add_argument("--limit-pages", type=int, help="use only this many adapt/test pages (a quick check)")
    args = ap.parse_args()

    import torch

    from htrgui.core.progress import StderrReporter
    from htrgui.core.recognition.checkpoint import load_checkpoint
    from htrgui.core.training.data import load_lineset
    from htrgui.core.training.finetune import finetune
    from htrgui.core.training.trainer import pick_device
    from htrgui.core.training.validate import evaluate_lines

    if args.threads:
        torch.set_num_threads(args.threads)
    t_start = time.monotonic()
    data = Path(args.shared) / "data"
    splits = json.loads((data / "splits.json").read_text(encoding="utf-8"))
    n = args.limit_pages
    adapt = load_lineset([str(data / f"{p}.xml") for p in splits["adaptation"]["adapt"][:n]])
    test = load_lineset([str(data / f"{p}.xml") for p in splits["adaptation"]["test"][:n]])
    train_pages = splits["general"]["train"]
    step = max(1, len(train_pages) // args.replay_pages)
    replay = load_lineset([str(data / f"{p}.xml") for p in train_pages[::step][: args.replay_pages]])
    device = pick_device(args.device)

    base = load_checkpoint(args.model)
    t0 = time.monotonic()
    before = evaluate_lines(base.model, base.codec, test, device)
    eval_s = time.monotonic() - t0

    report = StderrReporter(hz=0.2)
    result = None
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        for p in finetune(args.model, adapt, replay=replay, time_budget_s=60 * args.budget_min,
                          out_dir=Path(tmp), device=args.device):
            if "result" in p.info:
                result = p.info["result"]
            else:
                report(p)
        finetune_s = time.monotonic() - t0
        after = before
        if result is not None and result.model_path:
            tuned = load_checkpoint(result.model_path)
            after = evaluate_lines(tuned.model, tuned.codec, test, device)
    out = {
        "benchmark": "adaptation", "model": Path(args.model).name, "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "adapt_lines": len(adapt), "test_lines": len(test), "replay_lines": len(replay),
        "held_out_pages": [Path(p).stem for p in (result.held_out_pages if result else [])],
        "cer_before": round(before["cer"], 4), "wer_before": round(before["wer"], 4),
        "cer_after": round(after["cer"], 4), "wer_after": round(after["wer"], 4),
        "held_out_cer_before": result.before_cer if result else None,
        "held_out_cer_after": result.after_cer if result else None,
        "improved": bool(result and result.improved), "message": result.message if result else None,
        "finetune_minutes": round(finetune_s / 60, 2), "test_eval_seconds": round(eval_s, 1),
        "total_minutes": round((time.monotonic() - t_start) / 60, 2),
    }
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
