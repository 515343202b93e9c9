"""Average the weights of models fine-tuned from one base (a uniform "model soup"), re-estimate BatchNorm's
statistics, and compare it with its ingredients on validation lines (greedy CER, as training validates).

    python scripts/soup_models.py A.pt B.pt -o SOUP.pt --bn-lines .cache/lines/train-mix.npz \
        --val .cache/lines/val-all.npz --threads 2

Two runs from the same base with different seeds (batch order, augmentation) end in one basin; their average
reads like an ensemble of the two at the cost of one model (Wortsman et al., 2022). Averaged BatchNorm
statistics are not the statistics of the averaged weights, so they are measured again: BatchNorm layers alone
in training mode, cumulative averages over ``--bn-batches`` batches of training lines, no gradients.
The soup is written only when it beats every ingredient on ``--val`` (and, with ``--ship-from``, the base it
would replace), with the first one's config (its
dropout is what fine-tuning the soup will use), language model and provenance, where ``steps``, ``epochs`` and ``train_minutes`` become the ingredients' totals (the CPU time the
soup cost; an ingredient that is the ``--ship-from`` base is not counted again) and ``ingredients`` lists each run's own; prints one JSON object with every CER (the soup's of its
weights as the file stores them, in fp16).

``--ship-from BASE`` makes the soup the next phase of BASE, the model the runs were warm-started from, ready to
replace it in ``models/``: BASE's dropout, attention dropout and stochastic depth (runs trained with
``--dropout 0`` keep 0 in their config, but the one-click fine-tune of the shipped model relies on them), and a
provenance with ``phase`` (BASE's + 1), ``base_path`` (``--base-label``) and, with ``--command``, the commands
that made it. (The language model needs nothing: warm-started runs carry BASE's, and the soup keeps the first
run's.)

    python scripts/soup_models.py B.pt A.pt -o models/htrconvtext-small.pt --val .cache/lines/val-all.npz \
        --bn-lines .cache/lines/train-mix.npz --threads 2 --ship-from models/htrconvtext-small.pt \
        --base-label "models/htrconvtext-small.pt of git abc1234" --command "..."
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from htrgui.core.recognition.checkpoint import load_checkpoint, save_checkpoint, stored_state  # noqa: E402
from htrgui.core.recognition.preprocess import batch_lines, width_buckets  # noqa: E402
from htrgui.core.training.data import TRAIN_MULTIPLE, LineSet  # noqa: E402
from htrgui.core.training.validate import evaluate_lines  # noqa: E402


def average(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The mean of float tensors (in fp32), integer buffers (BatchNorm's batch counts) from the first."""
    out = {}
    for key, first in states[0].items():
        if first.is_floating_point():
            out[key] = torch.stack([s[key].float() for s in states]).mean(0)
        else:
            out[key] = first.clone()
    return out


def as_saved(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The weights as the written file gives them back (``save_checkpoint`` stores floats as fp16), so that
    the CER reported and compared is the file's."""
    return {k: v.float() if v.is_floating_point() else v for k, v in stored_state(state).items()}


def same_architecture(a, b) -> bool:
    """Whether two model configs describe the same weights: runs that differ only in dropout and stochastic
    depth (``htrgui train --dropout``) average."""
    return a.regularised_like(b) == b


def soup_provenance(loaded: list, soup: str, val_cer: float, base: Path | None = None) -> dict:
    """The first ingredient's provenance, its training figures replaced by the sums over the ingredients.

    An ingredient that is ``base`` (``--ship-from``: the model the runs started from, averaged in with them) is
    listed with ``"base": True`` and left out of the sums: its training is the previous phase's, already
    counted there, and the soup's figures say what this phase cost."""
    keys = ("steps", "epochs", "train_minutes", "val_cer", "command")
    is_base = [base is not None and m.path.resolve() == Path(base).resolve() for m in loaded]
    runs = [dict({k: m.provenance.get(k) for k in keys}, path=str(m.path), **({"base": True} if b else {}))
            for m, b in zip(loaded, is_base)]
    prov = dict(loaded[0].provenance, soup_of=[str(m.path) for m in loaded], soup=soup, val_cer=val_cer,
                ingredients=runs)
    prov.pop("date", None)  # the soup's own, when it is written
    trained = [m for m, b in zip(loaded, is_base) if not b]
    for key, digits in (("steps", None), ("epochs", 3), ("train_minutes", 1)):
        values = [m.provenance.get(key) for m in trained]
        if values and all(isinstance(v, (int, float)) for v in values):
            prov[key] = sum(values) if digits is None else round(sum(values), digits)
    return prov


def ship_from(base, config, prov: dict, label: str | None = None, command: str | None = None):
    """The config with ``base``'s regularisation and the provenance as the next phase of ``base`` (a
    LoadedModel): see the module's docstring."""
    shipped = config.regularised_like(base.config)
    prov = dict(prov, name=base.name, base_model=base.name)
    phase = base.provenance.get("phase")
    prov["base_path"] = f"{label or base.path}" + (f" (phase {phase})" if isinstance(phase, int) else "")
    if isinstance(phase, int):
        prov["phase"] = phase + 1
    if command:
        prov["command"] = command
    if shipped != config:
        prov["regularisation"] = (f"trained with dropout {config.dropout}, attention dropout "
                                  f"{config.attn_dropout}, stochastic depth {config.drop_path}; the file keeps "
                                  f"the base's {base.config.dropout}, {base.config.attn_dropout}, "
                                  f"{base.config.drop_path}, which fine-tuning uses")
    else:
        prov.pop("regularisation", None)
    return shipped, prov


@torch.no_grad()
def recalibrate_bn(model: torch.nn.Module, lines: LineSet, batches: int, seed: int = 0) -> int:
    """Re-estimate every BatchNorm's running mean and variance on ``batches`` batches of ``lines``; returns
    the number of lines seen."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    model.eval()
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
        m.train()
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(lines), size=min(len(lines), batches * 16), replace=False)
    groups = width_buckets([lines.images[i].shape[1] for i in pick], 16)
    rng.shuffle(groups)
    seen = 0
    for group in groups[:batches]:
        x, w = batch_lines([lines.images[pick[i]] for i in group], TRAIN_MULTIPLE)
        model(x, w)
        seen += len(group)
    for m in bns:
        m.momentum = 0.1
    model.eval()
    return seen


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+", type=Path, help="two or more models trained from the same base")
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--val", type=Path, required=True, help="validation line cache (LineSet .npz)")
    ap.add_argument("--bn-lines", type=Path, help="training line cache for the BatchNorm statistics")
    ap.add_argument("--bn-batches", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ship-from", type=Path, help="the model the runs started from: the soup becomes its next "
                    "phase (its regularisation, language model; provenance)")
    ap.add_argument("--base-label", help="how the provenance names --ship-from (e.g. its path and git commit)")
    ap.add_argument("--command", help="the commands that made the soup, for its provenance")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if len(args.models) < 2:
        sys.exit("a soup needs at least two models")
    loaded = [load_checkpoint(p) for p in args.models]
    first = loaded[0]
    for other in loaded[1:]:
        if not same_architecture(other.config, first.config) or other.codec.chars != first.codec.chars:
            sys.exit(f"{other.path}: another architecture or alphabet than {first.path}: no soup")
    val = LineSet.load(args.val)
    report: dict = {"models": [str(p) for p in args.models], "val": str(args.val), "val_lines": len(val), "cer": {}}
    t0 = time.perf_counter()
    for m in loaded:
        report["cer"][m.path.name] = round(evaluate_lines(m.model, m.codec, val, torch.device("cpu"))["cer"], 5)
    soup = load_checkpoint(args.models[0])
    soup.model.load_state_dict(as_saved(average([m.model.state_dict() for m in loaded])))
    soup.model.eval()
    report["cer"]["soup (averaged BatchNorm statistics)"] = round(
        evaluate_lines(soup.model, soup.codec, val, torch.device("cpu"))["cer"], 5)
    best_key = "soup (averaged BatchNorm statistics)"
    best_state = {k: v.clone() for k, v in soup.model.state_dict().items()}
    if args.bn_lines is not None:
        seen = recalibrate_bn(soup.model, LineSet.load(args.bn_lines), args.bn_batches)
        soup.model.load_state_dict(as_saved(soup.model.state_dict()))
        key = f"soup (BatchNorm re-estimated on {seen} training lines)"
        report["cer"][key] = round(evaluate_lines(soup.model, soup.codec, val, torch.device("cpu"))["cer"], 5)
        if report["cer"][key] < report["cer"][best_key]:
            best_key, best_state = key, soup.model.state_dict()
    soup.model.load_state_dict(best_state)
    to_beat = min(report["cer"][m.path.name] for m in loaded)
    base = None
    if args.ship_from is not None:  # the soup replaces BASE: it must read better than BASE too
        base = next((m for m in loaded if m.path.resolve() == args.ship_from.resolve()), None)
        base = base or load_checkpoint(args.ship_from)
        key = f"{base.path.name} (--ship-from)"
        report["cer"][key] = report["cer"].get(base.path.name) or round(
            evaluate_lines(base.model, base.codec, val, torch.device("cpu"))["cer"], 5)
        to_beat = min(to_beat, report["cer"][key])
    report["seconds"] = round(time.perf_counter() - t0, 1)
    report["chosen"] = best_key if report["cer"][best_key] < to_beat else None
    if report["chosen"]:
        prov = soup_provenance(loaded, best_key, report["cer"][best_key], args.ship_from)
        if base is not None:
            # only the file's config changes (its modules are not rebuilt): what loading the soup builds
            soup.model.config, prov = ship_from(base, soup.model.config, prov, args.base_label, args.command)
        save_checkpoint(args.output, soup.model, soup.codec, provenance=prov, preprocessing=first.preprocessing,
                        language_model=first.language_model)
        report["output"] = str(args.output)
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
