"""One-click fine-tuning: from a base model and the user's verified lines, a new model version.

What the GUI's button calls. It never overwrites the base: the result is a new file in the user's model
folder, written only if it beats the base on held-out pages. Whole pages are held out for validation (the
user may pick them), new characters extend the codec, BatchNorm statistics stay frozen, the high-resolution
front end stays fixed (cheaper, less forgetting), replay lines are mixed in, training stops early when the
held-out CER stops improving, and the whole job fits a time budget.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

import numpy as np

from htrgui.core.document import Page
from htrgui.core.errors import HtrError
from htrgui.core.progress import CancelToken, Progress
from htrgui.core.training.data import LineSet, normalize_text
from htrgui.core.training.trainer import TrainConfig, train


@dataclass
class FinetuneResult:
    """What the last Progress of :func:`finetune` carries in ``info["result"]``."""

    before_cer: float | None
    after_cer: float | None
    improved: bool
    model_path: str | None     # None when the new model is not better: keep using the base
    held_out_pages: list[str]
    train_lines: int
    minutes: float
    message: str


def finetune_config(time_budget_s: float, device: str = "auto") -> TrainConfig:
    """The fine-tuning recipe: gentle LR, frozen BN and front end, early stop, a time budget.

    A fresh TCM head starts random, so CTC leads (1.0) and the TCM only assists (0.1) here.
    """
    minutes = time_budget_s / 60.0
    return TrainConfig(lr=3e-4, min_lr=1e-6, warmup_steps=20, weight_decay=0.01, max_minutes=minutes,
                       ctc_weight=1.0, tcm_weight=0.1, freeze_bn=True, freeze="front", patience=3,
                       val_every_minutes=max(0.5, minutes / 4), checkpoint_every_minutes=max(1.0, minutes / 4),
                       device=device)


def page_key(page: Page) -> str:
    """The name a page's lines carry in a LineSet (what ``held_out`` lists)."""
    return str(page.xml_path or page.image_path)


def lines_from_pages(pages: list[Page], only_verified: bool = True) -> LineSet:
    """Crops of the (verified) lines of pages in memory, tagged by page name."""
    from htrgui.core.imaging import load_image
    from htrgui.core.recognition.linecrop import crop_line

    out = LineSet()
    for page in pages:
        lines = [ln for ln in page.lines() if normalize_text(ln.text)
                 and (ln.status == "verified" or not only_verified)]
        if not lines:
            continue
        if page.image_path is None:
            raise HtrError(f"page {page.image_filename}: no image on disk to cut lines from")
        gray = load_image(page.image_path, page_index=page.page_index, mode="L")
        name = page_key(page)
        for line in lines:
            out.add(crop_line(gray, line), normalize_text(line.text), name)
    return out


def pick_held_out(pages: list[str], fraction: float = 0.15) -> list[str]:
    """About ``fraction`` of the pages, at least one, spread over the list (not just the last ones)."""
    if len(pages) < 2:
        raise HtrError("fine-tuning needs verified lines on at least two pages: one is held out to check "
                       "that the new model is better")
    n = max(1, round(len(pages) * fraction))
    step = len(pages) / n
    return [pages[int(i * step + step / 2)] for i in range(n)]


def new_letter_lines(base: str, lines: LineSet, fonts: Path | list[Path], per_line: int = 4, limit: int = 200,
                     seed: int = 0) -> LineSet:
    """Synthetic renderings of the user's lines that hold letters ``base`` lacks (HTR-JAND's warm-up):
    a new letter then has more than its few handwritten examples to start from."""
    from htrgui.core.recognition.checkpoint import read_payload
    from htrgui.core.training.modelio import resolve
    from htrgui.core.training.synthetic import load_fonts, synthetic_lines

    known = set(read_payload(resolve(base))["codec"])
    texts = [t for t in lines.texts if set(t) - known - {" "}]
    out = LineSet()
    if not texts:
        return out
    faces = load_fonts(fonts)
    texts = [t for t in texts if any(f.covers(t) for f in faces)]  # no font, no synthetic line
    if not texts:
        return out
    count = min(limit, per_line * len(texts))
    for img, text in synthetic_lines(faces, texts=texts, count=count, seed=seed):
        out.add(img, text, "synthetic/new-letters")
    return out


def _output_path(base: str, out_dir: Path | None) -> Path:
    from htrgui.core.paths import user_models_dir

    folder = Path(out_dir) if out_dir else user_models_dir()
    stem = Path(base).stem if base not in ("default",) else "htrconvtext"
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return folder / f"{stem}-ft-{stamp}.pt"


def finetune(base: str, lines: LineSet, *, held_out: list[str] | None = None,
             replay: LineSet | str | None = "default", replay_fraction: float = 0.3, source: str | None = None,
             time_budget_s: float = 900.0, out_dir: Path | None = None, output: Path | None = None,
             device: str = "auto", config: TrainConfig | None = None, fonts: Path | list[Path] | None = None,
             cancel: CancelToken | None = None, seed: int = 0) -> Iterator[Progress]:
    """Fine-tune ``base`` on ``lines``; yields Progress (info: loss, lr, val_cer, eta_s), the last one with
    ``info["result"]`` a :class:`FinetuneResult`. ``held_out`` names pages (``lines.pages`` values).

    ``replay`` (lines of other hands mixed in against forgetting, ``replay_fraction`` of the training lines):
    a LineSet, None for none, or "default": lines remembered from the user's earlier fine-tunes of other
    projects, topped up with synthetic lines in handwriting fonts (:mod:`replay`). ``source`` names the
    project (its folder): with it, a better model's training lines are remembered for later fine-tunes.
    ``fonts`` (a folder, or font folders and files; None: :func:`replay.handwriting_fonts` finds some for the
    replay) also warms up letters the base does not know with synthetic lines of them."""
    from htrgui.core.training import replay as replay_mod

    pages = lines.page_names()
    held = held_out or pick_held_out(pages)
    unknown = set(held) - set(pages)
    if unknown:
        raise HtrError(f"held-out pages without verified lines: {', '.join(sorted(unknown))}")
    train_set, val_set = lines.split_pages(held)
    if not len(train_set):
        raise HtrError("every page with verified lines is held out: nothing left to train on")
    own = train_set
    n_replay = int(round(len(train_set) * replay_fraction))
    if isinstance(replay, str):
        if replay != "default":
            raise HtrError(f"replay: a set of lines, None or 'default', not {replay!r}")
        yield Progress(0, None, "preparing replay lines (other hands, against forgetting)")
        replay = replay_mod.default_replay(train_set, source, n_replay, fonts=fonts, seed=seed)
    if replay is not None and len(replay):
        rng = np.random.default_rng(seed)
        n = min(len(replay), n_replay)
        train_set = LineSet().extend(train_set).extend(replay.subset(rng.choice(len(replay), n, replace=False)))
    if fonts is not None:
        train_set = LineSet().extend(train_set).extend(new_letter_lines(base, train_set, fonts, seed=seed))
    out = Path(output) if output else _output_path(base, out_dir)
    from htrgui.core.training.modelio import resolve

    if out.resolve() == resolve(base).resolve():
        raise HtrError(f"{out}: fine-tuning never overwrites its base model; choose another file")
    cfg = config or finetune_config(time_budget_s, device)
    cfg = replace(cfg, seed=seed)
    last = None
    for p in train(train_set, val_set, out, cfg, base=base, cancel=cancel,
                   meta={"finetuned_on_pages": len(pages) - len(held), "held_out_pages": held}):
        last = p
        if p.message == "training":
            yield p
    from htrgui.core.training.state import state_dir
    import shutil

    shutil.rmtree(state_dir(out), ignore_errors=True)  # a one-click fine-tune is not resumed: free the disk
    info = last.info if last else {}
    before, best = info.get("initial_cer"), info.get("best_cer")
    improved = bool(info.get("improved")) and before is not None and best is not None and best < before
    after = best if improved else info.get("last_cer")
    if improved:
        msg = f"new model {out.name}: CER on held-out pages {before:.1%} -> {after:.1%}"
    else:
        msg = (f"the fine-tuned model is not better on the held-out pages (CER {before:.1%} before, "
               f"{after if after is not None else float('nan'):.1%} after): the base stays in use")
    if improved and source:
        replay_mod.remember(own, source, seed=seed)
    result = FinetuneResult(before, after, improved, str(out) if improved else None,
                            held, len(train_set), float(info.get("minutes", 0.0)), msg)
    yield Progress(last.done if last else 0, last.total if last else None, msg, {"result": result})
