"""Recipe variants of the one-click fine-tune, compared on the adaptation split (``adaptation.py --recipes``).

A variant is ``default`` or ``key=value`` changes joined by ``+`` (``lr=1e-3+freeze=none``):

- ``lr=`` peak learning rate; ``schedule=constant`` keeps it after the warm-up (no cosine decay);
  ``warmup=`` warm-up steps
- ``freeze=`` none | front | backbone (what does not learn); ``bn=learn`` lets BatchNorm statistics move
- ``tcm=`` weight of the TCM loss (0: no TCM head at all)
- ``augment=`` off | half | default | double (each transform's probability scaled, at most 1)
- ``replay=`` share of replay lines (other hands, against forgetting) per training line
- ``epochs=Kx`` K times the passes the recipe would make over the lines

Every run is the product's own :func:`finetune` (same held-out rule, checks, "keep it only if better"), given
the changed recipe; only what the variant names differs.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path


@dataclass
class Variant:
    name: str
    changes: dict          # TrainConfig fields
    replay_fraction: float = 0.3
    epoch_factor: float = 1.0


def parse_variant(spec: str) -> Variant:
    """``default`` or ``key=value+key=value``: a :class:`Variant` (raises ValueError on an unknown key)."""
    from htrgui.core.training.augment import AugmentConfig

    v = Variant(spec, {})
    if spec == "default":
        return v
    for part in spec.split("+"):
        key, _, value = part.partition("=")
        if key == "lr":
            v.changes["lr"] = float(value)
        elif key == "schedule" and value == "constant":
            v.changes["constant_lr"] = True
        elif key == "warmup":
            v.changes["warmup_steps"] = int(value)
        elif key == "freeze" and value in ("none", "front", "backbone"):
            v.changes["freeze"] = value
        elif key == "bn" and value == "learn":
            v.changes["freeze_bn"] = False
        elif key == "tcm":
            w = float(value)
            v.changes.update({"tcm": w > 0, "tcm_weight": w})
        elif key == "augment" and value in ("off", "half", "default", "double"):
            scale = {"off": 0.0, "half": 0.5, "default": 1.0, "double": 2.0}[value]
            base = AugmentConfig()
            v.changes["augment"] = AugmentConfig(*(min(1.0, getattr(base, f) * scale)
                                                   for f in base.__dataclass_fields__))
        elif key == "replay":
            v.replay_fraction = float(value)
        elif key == "epochs" and value.endswith("x"):
            v.epoch_factor = float(value[:-1])
        else:
            raise ValueError(f"unknown recipe change {part!r} (see benchmarks/recipes.py)")
    return v


def _digest(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def compare_recipes(args, data: Path, splits: dict) -> int:
    """Run every variant on the first N adapt pages for each N of ``args.pages``; print the JSON report."""
    import torch

    from htrgui.core.device import pick_device
    from htrgui.core.progress import Progress
    from htrgui.core.training.data import load_lineset
    from htrgui.core.training.finetune import (FinetunePlan, FinetuneResult, finetune, finetune_config,
                                               make_plan, page_lines, training_speed)
    from htrgui.core.training.replay import handwriting_fonts

    variants = [parse_variant(s) for s in args.recipes]
    minutes = sorted(args.minutes)
    budget = minutes[-1]
    device = pick_device(args.device)
    t_start = time.monotonic()
    adapt_pages = splits["adaptation"]["adapt"]
    adapt = load_lineset([str(data / f"{p}.xml") for p in adapt_pages])
    test = load_lineset([str(data / f"{p}.xml") for p in splits["adaptation"]["test"]])
    cache: dict[str, float] = {}  # CER by model file content: a snapshot equal to an earlier one is not re-read
    base_cer = evaluate_cached(args.model, test, device, cache)
    speed = source = None
    for item in training_speed(args.model, args.device):
        if isinstance(item, tuple):
            speed, source = item
    fonts = handwriting_fonts() or None
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.pages:
            keep_pages = {str(data / f"{p}.xml") for p in adapt_pages[:n]}
            lines = adapt.subset([i for i, p in enumerate(adapt.pages) if p in keep_pages])
            counts, widths = page_lines(lines)
            for v in variants:
                plan0 = make_plan(counts, widths, None, speed, budget, source, v.replay_fraction)
                cfg = finetune_config(budget, args.device, plan0.epochs * v.epoch_factor, plan0.estimate_minutes)
                changes = dict(v.changes)
                if changes.pop("constant_lr", False):
                    changes["min_lr"] = changes.get("lr", cfg.lr)
                cfg = replace(cfg, **changes)
                out = Path(tmp) / f"run-{len(rows)}.pt"
                snaps: dict[float, Path | None] = {}
                result = plan = None
                t0 = time.monotonic()
                for ev in finetune(args.model, lines, replay="default", replay_fraction=v.replay_fraction,
                                   max_minutes=budget, output=out, device=args.device, config=cfg,
                                   fonts=fonts, seed=args.seed, speed=speed, speed_source=source):
                    if isinstance(ev, FinetunePlan):
                        plan = ev
                    elif isinstance(ev, FinetuneResult):
                        result = ev
                    elif isinstance(ev, Progress):
                        for m in minutes:
                            if m not in snaps and m < budget and time.monotonic() - t0 >= 60 * m:
                                snaps[m] = _snapshot(out, Path(tmp) / f"run-{len(rows)}-{m:g}min.pt")
                final = Path(result.model_path) if result and result.model_path else None
                for m in minutes:
                    snaps.setdefault(m, final)  # ended before m: what it kept is what the user has at m
                cer_at = {f"{m:g}": evaluate_cached(str(p or args.model), test, device, cache)
                          for m, p in snaps.items()}
                wall = (time.monotonic() - t0) / 60
                row = {
                    "variant": v.name, "pages": n, "train_lines": plan.train_lines if plan else None,
                    "replay_lines": plan.replay_lines if plan else None,
                    "held_lines": plan.held_lines if plan else None, "epochs": round(cfg.max_epochs or 0, 2),
                    "steps": result.steps if result else 0,
                    "estimate_minutes": round(plan.estimate_minutes, 2) if plan and plan.estimate_minutes else None,
                    "minutes": round(wall, 2), "held_out_before": result.before_cer if result else None,
                    "held_out_after": result.after_cer if result else None,
                    "improved": bool(result and result.improved), "test_cer_before": round(base_cer, 4),
                    "test_cer_at": {k: round(c, 4) for k, c in cer_at.items()},
                }
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
                for p in [out, *[s for s in snaps.values() if s]]:
                    Path(p).unlink(missing_ok=True)
    report = {"benchmark": "adaptation-recipes", "model": Path(args.model).name, "device": str(device),
              "torch_threads": torch.get_num_threads(), "budget_minutes": budget, "minutes": minutes,
              "test_lines": len(test), "seed": args.seed, "rows": rows,
              "total_minutes": round((time.monotonic() - t_start) / 60, 2)}
    if args.table:
        Path(args.table).write_text(markdown_table(report), encoding="utf-8")
    print(json.dumps(report))
    return 0


def _snapshot(out: Path, to: Path) -> Path | None:
    """A copy of the version kept so far (None: none yet, the user still has the base)."""
    if not out.is_file():
        return None
    shutil.copyfile(out, to)
    return to


def evaluate_cached(path: str, test, device, cache: dict[str, float]) -> float:
    """CER on ``test`` of the model file ``path`` (measured once per distinct file content)."""
    from htrgui.core.recognition.checkpoint import load_checkpoint
    from htrgui.core.training.validate import evaluate_lines

    key = _digest(Path(path))
    if key not in cache:
        ckpt = load_checkpoint(path)
        cache[key] = evaluate_lines(ckpt.model, ckpt.codec, test, device)["cer"]
    return cache[key]


def markdown_table(report: dict) -> str:
    """The report's rows as a Markdown table (CER on adaptation/test after each minute mark)."""
    marks = [f"{m:g}" for m in report["minutes"]]
    head = ("| pages (lines) | variant | " + " | ".join(f"after {m} min" for m in marks)
            + " | held-out before -> after | steps | minutes (estimate) |")
    lines = [head, "|" + " --- |" * (5 + len(marks))]
    for r in report["rows"]:
        est = f"{r['estimate_minutes']:.1f}" if r["estimate_minutes"] else "?"
        held = (f"{r['held_out_before']:.1%} -> {r['held_out_after']:.1%}"
                if r["held_out_before"] is not None and r["held_out_after"] is not None else "?")
        lines.append(f"| {r['pages']} ({r['train_lines']}) | {r['variant']} | "
                     + " | ".join(f"{r['test_cer_at'][m]:.1%}" for m in marks)
                     + f" | {held} | {r['steps']} | {r['minutes']:.1f} ({est}) |")
    return "\n".join(lines) + f"\n\nBefore fine-tuning: {report['rows'][0]['test_cer_before']:.1%}.\n" \
        if report["rows"] else "(no runs)\n"
