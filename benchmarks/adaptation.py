"""Fine-tuning benchmark: CER on adaptation/test before and after fine-tuning on adaptation/adapt.

    python benchmarks/adaptation.py [--model models/htrconvtext-small.pt] [--budget-min 15] [--threads 1]
                                    [--replay default|general|none] [--forget-pages 12]
    python benchmarks/adaptation.py --recipes default lr=1e-3 freeze=none tcm=0 augment=off replay=0 \
                                    --pages 20 10 3 --minutes 2 5 10 --threads 1 [--table docs/x.md]

The ``adaptation`` split of ../shared/data/splits.json is one writer: 20 pages to fine-tune on (one of them
held out by the fine-tuning's line-count rule for early stopping and the before/after check) and 20 other pages to measure
on. Replay lines against forgetting: ``default`` is what the app's one click uses (with an empty replay
store, synthetic lines in the bundled fonts), ``general`` real lines of a few general/train pages (what a
user's earlier projects would give), ``none`` none. Forgetting is measured as CER on some general/test
pages (other hands) before and after. The CER figures are greedy, as the fine-tuning validates; the
``*_as_read`` ones decode adaptation/test as the app does by default (beam search with the shipped language
model mixed with one built from the adapt pages' lines, which the user corrected before the click). Prints one JSON
object.

``--recipes`` compares variants of the one click's recipe (``recipes.py``): for each variant and each number
of adapt pages (the first N, as a user corrects them), one fine-tune of ``max(--minutes)`` minutes, and the
CER on adaptation/test of the model the user would have after each of ``--minutes`` (the best version kept
by then: the trainer writes a version each time the held-out CER improves; the base while none is). Prints
one JSON object with a row per run (and a Markdown table with ``--table``).
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
from finetune_setup import private_run  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(REPO / "models" / "htrconvtext-small.pt"))
    ap.add_argument("--shared", default=str(shared_dir()))
    ap.add_argument("--budget-min", type=float, default=15.0,
                    help="fine-tuning time budget in minutes (15: the dialog's default)")
    ap.add_argument("--replay", choices=["default", "general", "none"], default="default")
    ap.add_argument("--replay-pages", type=int, default=6, help="general/train pages for --replay general")
    ap.add_argument("--forget-pages", type=int, default=12,
                    help="general/test pages to measure forgetting on (0: do not measure)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, help="torch CPU threads (1 is fastest on a shared CPU)")
    ap.add_argument("--limit-pages", type=int, help="use only this many adapt/test pages (a quick check)")
    ap.add_argument("--recipes", nargs="+", metavar="VARIANT",
                    help="compare recipe variants (recipes.py: default, lr=1e-3, freeze=none, tcm=0, ...)")
    ap.add_argument("--pages", nargs="+", type=int, default=[20], help="--recipes: adapt pages to learn from")
    ap.add_argument("--minutes", nargs="+", type=float, default=[2, 5, 10], help="--recipes: CER after these")
    ap.add_argument("--table", help="--recipes: also write the table as Markdown to this file")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lm", choices=["project", "none"], default="project",
                    help="also measure adaptation/test as the app reads it: beam search with the shipped language "
                         "model mixed with the adapt pages' lines (the app's default, 'project'); none: greedy only")
    args = ap.parse_args()

    data, splits = private_run(args.shared, args.threads)
    if args.recipes:
        from recipes import compare_recipes

        return compare_recipes(args, data, splits)
    import torch

    from htrgui.core.progress import Progress, StderrReporter
    from htrgui.core.recognition.checkpoint import load_checkpoint
    from htrgui.core.training.data import load_lineset
    from htrgui.core.training.finetune import FinetuneResult, finetune
    from htrgui.core.device import pick_device
    from htrgui.core.training.validate import evaluate_as_read, evaluate_lines

    t_start = time.monotonic()
    n = args.limit_pages
    adapt = load_lineset([str(data / f"{p}.xml") for p in splits["adaptation"]["adapt"][:n]])
    test = load_lineset([str(data / f"{p}.xml") for p in splits["adaptation"]["test"][:n]])
    replay: object = None if args.replay == "none" else "default"
    if args.replay == "general":
        replay = load_lineset(_spread(splits["general"]["train"], args.replay_pages, data))
    other = load_lineset(_spread(splits["general"]["test"], args.forget_pages, data)) if args.forget_pages else None
    device = pick_device(args.device)

    base = load_checkpoint(args.model)
    t0 = time.monotonic()
    before = evaluate_lines(base.model, base.codec, test, device)
    eval_s = time.monotonic() - t0
    other_before = evaluate_lines(base.model, base.codec, other, device) if other else None
    other_after = other_before
    # What the user sees: the app decodes with the shipped LM mixed with the project's verified lines (here the
    # adapt pages, corrected before the click), before and after it.
    as_read = args.lm != "none"
    read_before = (evaluate_as_read(args.model, test, "project", adapt.texts, device=str(device))
                   if as_read else None)
    read_after = read_before

    report = StderrReporter(hz=0.2)
    result = None
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        for p in finetune(args.model, adapt, replay=replay, max_minutes=args.budget_min,
                          out_dir=Path(tmp), device=args.device):
            if isinstance(p, FinetuneResult):
                result = p
            elif isinstance(p, Progress):
                report(p)
        finetune_s = time.monotonic() - t0
        after = before
        if result is not None and result.model_path:
            tuned = load_checkpoint(result.model_path)
            after = evaluate_lines(tuned.model, tuned.codec, test, device)
            if other:
                other_after = evaluate_lines(tuned.model, tuned.codec, other, device)
            if as_read:
                read_after = evaluate_as_read(result.model_path, test, "project", adapt.texts, device=str(device))
    out = {
        "benchmark": "adaptation", "model": Path(args.model).name, "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "adapt_lines": len(adapt), "test_lines": len(test), "replay": args.replay,
        "train_lines_with_replay": result.train_lines if result else None,
        "held_out_pages": [Path(p).stem for p in (result.held_out_pages if result else [])],
        "cer_before": round(before["cer"], 4), "wer_before": round(before["wer"], 4),
        "cer_after": round(after["cer"], 4), "wer_after": round(after["wer"], 4),
        "as_read": read_before["decoding"] if read_before else None,
        "cer_before_as_read": round(read_before["cer"], 4) if read_before else None,
        "cer_after_as_read": round(read_after["cer"], 4) if read_after else None,
        "wer_after_as_read": round(read_after["wer"], 4) if read_after else None,
        "other_hands_lines": len(other) if other else 0,
        "other_hands_cer_before": round(other_before["cer"], 4) if other_before else None,
        "other_hands_cer_after": round(other_after["cer"], 4) if other_after else None,
        "held_out_cer_before": result.before_cer if result else None,
        "held_out_cer_after": result.after_cer if result else None,
        "improved": bool(result and result.improved), "message": result.message if result else None,
        "finetune_minutes": round(finetune_s / 60, 2), "test_eval_seconds": round(eval_s, 1),
        "total_minutes": round((time.monotonic() - t_start) / 60, 2),
    }
    print(json.dumps(out, ensure_ascii=False))
    return 0


def _spread(pages: list[str], n: int, data: Path) -> list[str]:
    """``n`` page files spread over ``pages`` (not the first n: those come from one folder)."""
    step = max(1, len(pages) // max(1, n))
    return [str(data / f"{p}.xml") for p in pages[::step][:n]]


if __name__ == "__main__":
    raise SystemExit(main())
