"""Training throughput on this machine: lines per second and seconds per optimiser step, per setting.

    python benchmarks/training.py [--cache .cache/lines/train.npz] [--steps 12] [--config small]

Real line crops (a line cache, else the general/train pages of ../shared/data), the shipped recipe
(``small``, CTC + TCM, per-line augmentation, AdamW, EMA), the same batches for every setting, in one run:
fp32 and bf16 autocast, 1 and 2 torch threads, channels-last. Prints one JSON object: per setting the
median seconds per step, lines per second, and the ratio of lines per second to the old default (fp32, one
thread), and whether this CPU has native bf16 (``cpu_bf16``: without it bf16 is emulated, several times slower
than fp32, and the trainer's ``auto`` takes fp32). Ratios within one run are what to compare; the machine is
shared and absolute figures drift.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from htrgui.core.recognition.preprocess import batch_lines  # noqa: E402
from htrgui.core.training import modelio  # noqa: E402
from htrgui.core.training.augment import augment  # noqa: E402
from htrgui.core.training.data import TRAIN_MULTIPLE, LineSet, make_batches  # noqa: E402
from htrgui.core.training.optim import ModelEma, param_groups  # noqa: E402
from htrgui.core.training.tcm import TCMHead, tcm_dims  # noqa: E402
from htrgui.core.training.trainer import (  # noqa: E402
    TrainConfig, _feasible, _Trainable, autocast_for, cpu_has_bf16, resolve_precision)

SETTINGS = [  # (name, threads, precision, channels_last)
    ("fp32-1t", 1, "fp32", False),
    ("bf16-1t", 1, "bf16", False),
    ("fp32-1t-cl", 1, "fp32", True),
    ("fp32-2t", 2, "fp32", False),
    ("fp32-2t-cl", 2, "fp32", True),
    ("bf16-2t", 2, "bf16", False),
    ("bf16-2t-cl", 2, "bf16", True),
]


def load_lines(cache: str | None, limit: int) -> LineSet:
    if cache and Path(cache).is_file():
        lines = LineSet.load(cache)
    else:
        from htrgui.core.paths import shared_dir
        from htrgui.core.training.data import load_lineset

        lines = load_lineset([str(Path(shared_dir()) / "data" / "splits.json") + ":general/train"])
    rng = np.random.default_rng(0)
    return lines.subset(sorted(rng.choice(len(lines), min(limit, len(lines)), replace=False)))


def run(lines: LineSet, batches: list[list[int]], threads: int, precision: str, channels_last: bool,
        config: str, warmup: int) -> list[float]:
    """Seconds of each optimiser step (after ``warmup`` untimed ones), same seed and batches each time."""
    from htrgui.core.recognition.model import build_model

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    codec = modelio.new_codec(lines.charset())
    model = build_model(config, modelio.num_classes(codec))
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    tcm = TCMHead(modelio.num_classes(codec), model.config.dim, tcm_dims(model.config.dim))
    cfg = TrainConfig(config=config, precision=precision)
    trainable = _Trainable(model, tcm).train()
    opt = torch.optim.AdamW(param_groups([model, tcm], cfg.weight_decay), lr=cfg.lr, betas=(0.9, 0.99))
    ema = ModelEma(model)
    ids = [torch.tensor(modelio.encode(codec, t), dtype=torch.long) for t in lines.texts]
    rng = np.random.default_rng(1)
    times = []
    for k, idx in enumerate(batches):
        t0 = time.perf_counter()
        x, w = batch_lines([augment(lines.images[i], rng, cfg.augment) for i in idx], TRAIN_MULTIPLE)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast_for(torch.device("cpu"), cfg.precision):
            loss, _ = trainable(x, w, [ids[i] for i in idx], cfg)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(model.parameters()) + list(tcm.parameters()), cfg.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        ema.update(model)
        if k >= warmup:
            times.append(time.perf_counter() - t0)
    return times


def accuracy(args) -> None:
    """CER per step of fp32 and bf16 training from the same start: bf16 must not cost accuracy."""
    import tempfile

    from htrgui.core.training.trainer import train

    torch.set_num_threads(args.threads)
    lines = LineSet.load(args.cache)
    val = LineSet.load(args.val)
    val = val.subset(range(0, len(val), max(1, len(val) // args.val_lines)))
    out = {}
    for precision in ("fp32", "bf16"):
        cfg = TrainConfig(precision=precision, max_steps=args.accuracy, val_every_steps=max(1, args.accuracy // 3),
                          lr=5e-4, warmup_steps=20, val_every_minutes=1e9, checkpoint_every_minutes=1e9)
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as td:
            last = None
            for last in train(lines, val, Path(td) / "m.pt", cfg, base=args.base):
                pass
        hist = last.info["history"]
        out[precision] = {"minutes": round((time.perf_counter() - t0) / 60, 2),
                          "initial_cer": round(last.info["initial_cer"], 4),
                          "cer_by_step": {h["step"]: round(h["val_cer"], 4) for h in hist}}
        print(precision, out[precision], file=sys.stderr, flush=True)
    print(json.dumps({"benchmark": "training-accuracy", "steps": args.accuracy, "val_lines": len(val),
                      "threads": args.threads, "results": out}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", default=".cache/lines/train.npz")
    ap.add_argument("--steps", type=int, default=12, help="timed steps per setting")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--config", default="small")
    ap.add_argument("--only", nargs="*", help="setting names to run")
    ap.add_argument("--configs", nargs="*",
                    help="instead of the settings: these model configs, each in the trainer's default setting on "
                         "this CPU (--threads; bf16 and channels-last where the CPU has bf16, else fp32), lines "
                         "per second relative to the first")
    ap.add_argument("--threads", type=int, default=1, help="threads for --configs and --accuracy")
    ap.add_argument("--accuracy", type=int, metavar="STEPS",
                    help="instead: train STEPS steps from --base in fp32 and in bf16 (same seed, batches and "
                         "augmentation) and report validation CER every STEPS/3 steps for both")
    ap.add_argument("--base", default="models/htrconvtext-small.pt")
    ap.add_argument("--val", default=".cache/lines/val-all.npz")
    ap.add_argument("--val-lines", type=int, default=600)
    args = ap.parse_args()
    if args.accuracy:
        accuracy(args)
        return
    lines = load_lines(args.cache, 3000)
    cfg = TrainConfig()
    from htrgui.core.recognition.model import CONFIGS

    codec = modelio.new_codec(lines.charset())
    keep = _feasible(CONFIGS[args.config], lines.images, [modelio.encode(codec, t) for t in lines.texts])
    lines = lines.subset(keep)
    batches = make_batches([im.shape[1] for im in lines.images], cfg.batch_columns, np.random.default_rng(3),
                           max_lines=cfg.max_batch_lines)[: args.steps + args.warmup]
    n_lines = [len(b) for b in batches[args.warmup:]]
    results = {}
    if args.configs:
        precision = resolve_precision(torch.device("cpu"), "auto")
        for config in args.configs:
            times = run(lines, batches, args.threads, precision, precision == "bf16", config, args.warmup)
            results[config] = {"s_per_step": round(statistics.median(times), 3),
                               "lines_per_s": round(sum(n_lines) / sum(times), 2)}
            print(config, results[config], file=sys.stderr, flush=True)
        first = results[args.configs[0]]["lines_per_s"]
        for r in results.values():
            r["ratio_to_first"] = round(r["lines_per_s"] / first, 2)
        print(json.dumps({"benchmark": "training-configs", "threads": args.threads, "steps": args.steps,
                          "precision": precision, "torch": torch.__version__, "results": results}))
        return
    for name, threads, precision, cl in SETTINGS:
        if args.only and name not in args.only:
            continue
        times = run(lines, batches, threads, precision, cl, args.config, args.warmup)
        results[name] = {"threads": threads, "precision": precision, "channels_last": cl,
                         "s_per_step": round(statistics.median(times), 3),
                         "lines_per_s": round(sum(n_lines) / sum(times), 2)}
        print(name, results[name], file=sys.stderr, flush=True)
    base = results.get("fp32-1t", {}).get("lines_per_s")
    for r in results.values():
        r["ratio_to_fp32_1t"] = round(r["lines_per_s"] / base, 2) if base else None
    print(json.dumps({"benchmark": "training", "config": args.config, "steps": args.steps,
                      "lines_per_step": round(float(np.mean(n_lines)), 1), "torch": torch.__version__,
                      "cpu_bf16": cpu_has_bf16(), "results": results}))


if __name__ == "__main__":
    main()
