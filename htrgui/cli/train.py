"""``htrgui train``: train or fine-tune a recogniser on PAGE/ALTO pages, page lists, .ln lists or line caches."""

from __future__ import annotations

import argparse
import json
import os
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train a recognition model (or continue training one on broad data)",
        description="Train a model (or continue training --base on broad data; to adapt a model to a "
                    "collection's verified pages, use 'htrgui finetune') on lines with text. DATA: PAGE/ALTO files, folders of "
                    "them, page lists (splits.json:general/train), IAM-style .ln lists, or .npz line caches. "
                    "The best model by validation CER (whole held-out pages) is written to -o; the resumable "
                    "state goes to MODEL.train/.")
    p.add_argument("--train", nargs="+", required=True, metavar="DATA", help="training data")
    p.add_argument("--val", nargs="+", metavar="DATA",
                   help="validation data (whole pages); without it, a few training pages are held out")
    p.add_argument("-o", "--output", required=True, metavar="MODEL", help="model file to write (.pt)")
    p.add_argument("--base", metavar="MODEL", help="continue training this model (path, a name from 'htrgui "
                   "models list', or 'default') on broad data, with the training recipe (0.1 x CTC + 1.0 x "
                   "TCM); new characters extend its alphabet. To adapt a model to a collection's verified "
                   "pages use 'htrgui finetune' (the GUI's recipe, held-out rule and 'keep it only if better')")
    p.add_argument("--config", default="small", help="architecture of a new model: small, base, tiny")
    p.add_argument("--no-tcm", action="store_true", help="train without the Textual Context Module loss")
    p.add_argument("--max-epochs", type=float, help="stop after this many passes over the training lines")
    p.add_argument("--max-steps", type=int, help="stop after this many optimiser steps")
    p.add_argument("--max-minutes", type=float, help="stop after this much training time")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--lr", type=float, help="peak learning rate (default 1e-3, 3e-4 with --base)")
    p.add_argument("--warmup-steps", type=int, default=200)
    p.add_argument("--batch-columns", type=int, default=12000,
                   help="padded line columns per batch (a batch's cost); lines of similar width go together")
    p.add_argument("--sam", action="store_true", help="sharpness-aware minimisation (twice the cost; GPU)")
    p.add_argument("--teacher", metavar="MODEL", help="distil from this model (frame-level KL + CTC)")
    p.add_argument("--val-every", type=float, default=10.0, metavar="MIN", help="validate every MIN minutes")
    p.add_argument("--patience", type=int, help="stop after this many validations without improvement")
    p.add_argument("--resume", action="store_true", help="continue from MODEL.train/last.pt")
    p.add_argument("--keep-worse", action="store_true",
                   help="with --base: write the run's best model even if the base reads better (runs to be "
                        "averaged with scripts/soup_models.py, whose soup may beat the base when no run does)")
    p.add_argument("--seed", type=int, default=123)
    p.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"], default="auto",
                   help="arithmetic of training: auto takes bf16 on GPUs and CPUs that have it, else fp32")
    p.add_argument("--threads", type=int, help="CPU threads for torch (1 is fastest when other jobs share the CPU)")
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--update-bn", action="store_true",
                   help="with --base: keep updating BatchNorm statistics (continued training on broad data; "
                        "fine-tuning on a few pages keeps them frozen)")
    p.add_argument("--freeze", choices=["none", "front", "backbone"], default="none",
                   help="keep part of the model fixed: the front end (stem, first stage) or the whole backbone")
    p.add_argument("--dropout", type=float, default=None, metavar="P",
                   help="set dropout, attention dropout and stochastic depth to P (default: the model's own, 0.1 "
                        "for small); 0 for a model that does not yet fit its training lines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from htrgui.core.errors import HtrError
    from htrgui.core.training.augment import AugmentConfig
    from htrgui.core.training.data import load_lineset
    from htrgui.core.training.trainer import TrainConfig, train

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if not (args.max_epochs or args.max_steps or args.max_minutes):
        raise HtrError("give a limit: --max-epochs, --max-steps or --max-minutes")
    lines = load_lineset(args.train)
    if args.val:
        val = load_lineset(args.val)
    else:
        pages = lines.page_names()
        if len(pages) < 2:
            raise HtrError("one page only: give --val, validation needs pages training does not see")
        held = pages[:: max(2, len(pages) // max(1, len(pages) // 10))][: max(1, len(pages) // 10)]
        lines, val = lines.split_pages(held)
        print(f"htrgui train: holding out {len(held)} of {len(pages)} pages for validation", file=sys.stderr)
    cfg = TrainConfig(config=args.config, tcm=not args.no_tcm, max_epochs=args.max_epochs,
                      max_steps=args.max_steps, max_minutes=args.max_minutes, device=args.device,
                      lr=args.lr or (3e-4 if args.base else 1e-3), warmup_steps=args.warmup_steps,
                      batch_columns=args.batch_columns, sam=args.sam, val_every_minutes=args.val_every,
                      patience=args.patience, seed=args.seed, freeze=args.freeze, precision=args.precision,
                      freeze_bn=bool(args.base) and not args.update_bn, dropout=args.dropout,
                      beat_base=not args.keep_worse,
                      augment=AugmentConfig.off() if args.no_augment else AugmentConfig())
    meta = {"train_data": list(args.train), "val_data": list(args.val or []), "command": " ".join(sys.argv)}
    final = None
    for p in train(lines, val, args.output, cfg, base=args.base, teacher=args.teacher, resume=args.resume,
                   meta=meta):
        final = p
        _print(p)
    info = dict(final.info) if final else {}
    info.pop("history", None)
    improved = info.get("improved", True)
    if os.environ.get("RANK", "0") != "0":  # under torchrun, process 0 speaks for the run
        return 0
    print(json.dumps(info, ensure_ascii=False))
    if not improved and info.get("output"):
        print(f"htrgui train: written although not better than {args.base} on the validation pages (CER "
              f"{info.get('best_cer')} vs {info.get('initial_cer')}; --keep-worse)", file=sys.stderr)
    elif not improved:
        print(f"htrgui train: the new model is not better than {args.base} on the validation pages "
              f"(CER {info.get('best_cer')} vs {info.get('initial_cer')}); nothing written, keep using the base",
              file=sys.stderr)
    return 0


_last = [0.0]


def _print(p) -> None:
    """One line per progress report on stderr, at most every 5 s (validations and the end always)."""
    import time

    now = time.monotonic()
    if p.message == "training" and p.done and now - _last[0] < 5 and not p.info.get("validated"):
        return
    _last[0] = now
    keys = ("epoch", "loss", "ctc", "tcm", "kd", "lr", "val_cer", "eta_s", "skipped", "lines", "dropped", "device", "world",
            "initial_cer", "best_cer", "minutes")
    parts = [f"{k}={p.info[k]:.4g}" if isinstance(p.info.get(k), float) else f"{k}={p.info[k]}"
             for k in keys if p.info.get(k) is not None]
    total = f"/{p.total}" if p.total else ""
    print(f"[{p.done}{total}] {p.message} " + " ".join(parts), file=sys.stderr, flush=True)
