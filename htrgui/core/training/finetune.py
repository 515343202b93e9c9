"""One-click fine-tuning: from a base model and the user's verified lines, a new model version.

:func:`finetune_pages` is *the* fine-tune: the GUI's "Improve the model" job and ``htrgui finetune`` both call
it, so the same pages, base and seed give the same model. It never overwrites the base: the result is a new
file, written only if it beats the base on held-out pages. Whole pages are held out, chosen by line counts
(:mod:`holdout`: at least 10 lines to check on, 50 to learn from, else it says what is needed); new
characters extend the codec, BatchNorm statistics stay frozen, the high-resolution front end stays fixed
(cheaper, less forgetting), replay lines are mixed in, the loss is CTC 1.0 + TCM 0.1 (a fresh TCM head starts
random: CTC leads). The budget follows the data: a number of passes over the lines that shrinks as they grow,
an estimate of the minutes from the lines, those passes and the training step time measured on this machine
(``htrgui doctor``'s figure, else measured once), capped by the user's limit; the held-out CER is measured
before training, within the first minute and then at regular intervals, and training stops early when it
stops improving. A cancelled or failed run leaves nothing in the user's data folder.

Events yielded: one :class:`FinetunePlan` (before training), :class:`Progress` (cutting lines, training
steps: ``info`` has loss, lr, val_cer, eta_s), one :class:`FinetuneResult` last.
"""

from __future__ import annotations

import datetime as _dt
import math
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator

import numpy as np

from htrgui.core.document import Page
from htrgui.core.errors import HtrError
from htrgui.core.progress import CancelToken, Progress
from htrgui.core.training.data import LineSet, normalize_text
from htrgui.core.training.holdout import RULE, HeldOutRule, NotEnoughLines, check_held_out, not_enough, pick_held_out
from htrgui.core.training.trainer import TrainConfig, train

#: Within this many minutes of the start the held-out CER is measured a first time (the curve shows at once
#: whether training helps: issue 17 saw the first figure after 4 minutes).
FIRST_CHECK_MINUTES = 0.75
#: Checks never take more than this share of the time (recognising held-out lines is not training).
CHECK_SHARE = 0.2
#: Passes over the lines: many over few lines, fewer over many; ``EPOCH_LINES`` line-passes at most. Twice
#: the passes of the first recipe (4-20 over 2500): on the adaptation split the held-out and test CER kept
#: falling past them (20 pages: 15.5 % -> 14.1 % on adaptation/test, 3 pages: 19.6 % -> 19.1 %; four times
#: gave nothing more on 3 pages; docs/training.md, "Learning faster from few lines").
MIN_EPOCHS, MAX_EPOCHS, EPOCH_LINES = 8, 40, 5000
#: A fine-tune's step costs more than the doctor's timed step (augmentation, the TCM head, EMA, bf16 casts,
#: replay lines rendered): measured over 12 one-click runs of ``benchmarks/adaptation.py --recipes`` (3, 10
#: and 20 pages, one thread, the other core busy, the speed measured in the same conditions), wall minutes
#: / estimate without this factor = 1.58-1.95, median 1.78.
STEP_OVERHEAD = 1.8


@dataclass
class FinetunePlan:
    """What a fine-tune will do, known before it trains (the dialog shows it before Start, the CLI prints it)."""

    held_out: list[str]
    held_lines: int
    train_lines: int            # the user's lines learnt from
    replay_lines: int           # lines of other hands mixed in against forgetting
    epochs: float
    max_minutes: float
    estimate_minutes: float | None  # None: no step time known (nothing measured)
    speed_source: str = ""      # where the step time comes from

    @property
    def minutes(self) -> float | None:
        """The expected duration: the estimate, or the limit when it stops the run first."""
        return None if self.estimate_minutes is None else min(self.estimate_minutes, self.max_minutes)

    def describe(self) -> str:
        what = (f"{self.train_lines} lines x {self.epochs:g} passes"
                + (f" (+{self.replay_lines} replay lines)" if self.replay_lines else "")
                + f", checked on {self.held_lines} lines of {len(self.held_out)} held-out page(s)")
        if self.estimate_minutes is None:
            return f"{what}; at most {self.max_minutes:g} min"
        cut = (f"; the limit of {self.max_minutes:g} min stops it earlier"
               if self.estimate_minutes > self.max_minutes else "")
        return f"about {_minutes(self.estimate_minutes)}: {what}{cut} (step time {self.speed_source})"


@dataclass
class FinetuneResult:
    """The last event of :func:`finetune`."""

    before_cer: float | None
    after_cer: float | None
    improved: bool
    model_path: str | None     # None when the new model is not better: keep using the base
    held_out_pages: list[str]
    train_lines: int
    minutes: float
    message: str
    plan: FinetunePlan | None = None
    steps: int = 0
    history: list[dict] = field(default_factory=list)


def _minutes(m: float) -> str:
    return f"{m:.0f} min" if m >= 1.5 else f"{max(1, round(m * 60)):.0f} s"


def finetune_epochs(lines: int) -> float:
    """Passes over ``lines`` training lines: 40 over 125 lines or fewer, down to 8 over 625 or more."""
    return float(min(MAX_EPOCHS, max(MIN_EPOCHS, round(EPOCH_LINES / max(1, lines)))))


def finetune_config(max_minutes: float, device: str = "auto", epochs: float | None = None,
                    expected_minutes: float | None = None) -> TrainConfig:
    """The fine-tuning recipe: gentle LR, frozen BN and front end, CTC 1.0 + TCM 0.1, early stop, a limit.

    Checks: before training, after :data:`FIRST_CHECK_MINUTES`, then every sixth of the expected run (1 to 5
    minutes apart), each taking at most :data:`CHECK_SHARE` of the time; 3 checks without improvement stop.
    """
    expected = min(max_minutes, expected_minutes or max_minutes)
    return TrainConfig(lr=3e-4, min_lr=1e-6, warmup_steps=20, weight_decay=0.01, max_minutes=max_minutes,
                       max_epochs=epochs, ctc_weight=1.0, tcm_weight=0.1, freeze_bn=True, freeze="front",
                       patience=3, first_val_minutes=FIRST_CHECK_MINUTES,
                       val_every_minutes=min(5.0, max(1.0, expected / 6)), val_share=CHECK_SHARE,
                       checkpoint_every_minutes=1e9, resumable=False, device=device)


def page_key(page: Page) -> str:
    """The name a page's lines carry in a LineSet (what ``held_out`` lists)."""
    return str(page.xml_path or page.image_path)


def _verified(page: Page) -> list:
    return [ln for ln in page.lines() if ln.status == "verified" and normalize_text(ln.text)]


def lines_from_pages(pages: list[Page], only_verified: bool = True, cancel: CancelToken | None = None
                     ) -> Iterator[Progress | LineSet]:
    """Crops of the (verified) lines of pages in memory, tagged by page name: Progress per page, the
    LineSet last."""
    from htrgui.core.imaging import load_image
    from htrgui.core.recognition.linecrop import crop_line

    out = LineSet()
    for i, page in enumerate(pages):
        if cancel is not None:
            cancel.check()
        yield Progress(i, len(pages), "cutting the verified lines out of the scans")
        lines = _verified(page) if only_verified else [ln for ln in page.lines() if normalize_text(ln.text)]
        if not lines:
            continue
        if page.image_path is None:
            raise HtrError(f"page {page.image_filename}: no image on disk to cut lines from")
        gray = load_image(page.image_path, page_index=page.page_index, mode="L")
        name = page_key(page)
        for line in lines:
            out.add(crop_line(gray, line), normalize_text(line.text), name)
    yield out


def estimated_width(line) -> int:
    """The width of a line's crop at height 64, from its polygon (no image read): what the estimate needs."""
    from htrgui.core.recognition.linecrop import HEIGHT, MAX_WIDTH

    x0, y0, x1, y1 = line.bbox()
    return int(min(MAX_WIDTH, max(1, round((x1 - x0) * HEIGHT / max(1, y1 - y0)))))


# ---------------------------------------------------------------- the project's verified pages (GUI and CLI)
@dataclass
class VerifiedPages:
    """Pages with verified lines (read from their PAGE files), their line counts and estimated crop widths."""

    pages: list[Page]
    counts: list[int]
    widths: list[list[int]] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return sum(self.counts)

    @property
    def keys(self) -> list[str]:
        return [page_key(p) for p in self.pages]

    def by_key(self) -> dict[str, int]:
        return dict(zip(self.keys, self.counts))

    def problem(self, rule: HeldOutRule = RULE) -> str:
        """What is missing before fine-tuning ("" when enough): the held-out rule's message."""
        return not_enough(self.by_key(), rule)

    @property
    def enough(self) -> bool:
        return not self.problem()

    @classmethod
    def of(cls, pages: list[Page]) -> VerifiedPages:
        keep = [(p, _verified(p)) for p in pages]
        keep = [(p, lines) for p, lines in keep if lines]
        return cls([p for p, _ in keep], [len(ls) for _, ls in keep],
                   [[estimated_width(ln) for ln in ls] for _, ls in keep])


def verified_pages(project, token: CancelToken | None = None, only: set[str] | None = None,
                   previous: VerifiedPages | None = None) -> Iterator[Progress | VerifiedPages]:
    """Read the project's saved pages and keep those with verified, non-empty lines (Progress per page, the
    :class:`VerifiedPages` last). ``only`` (entry names) with ``previous``: re-read just those pages (the
    ones saved since), keep the rest as counted before."""
    known = {page_key(p): p for p in previous.pages} if previous is not None and only is not None else {}
    entries = [e for e in project.entries if e.xml_path.is_file()]
    pages: list[Page] = []
    for i, entry in enumerate(entries):
        if token is not None:
            token.check()
        if only is not None and entry.name not in only and str(entry.xml_path) in known:
            pages.append(known[str(entry.xml_path)])
            continue
        if only is not None and entry.name not in only and previous is not None:
            continue  # had no verified line before and was not saved since
        yield Progress(i, len(entries), entry.name)
        try:
            pages.append(project.load_page(entry))
        except HtrError:
            continue  # an unreadable page is the page list's business; it just cannot teach anything here
    yield VerifiedPages.of(pages)


def base_model_problem(name: str) -> str:
    """Why the model to start from cannot be used ("" when it can): checked before anything runs."""
    from htrgui.core.errors import ModelError
    from htrgui.core.recognition.library import resolve_model

    try:
        resolve_model(name or None)
    except ModelError as exc:
        return f"No model to start from: {exc}"
    return ""


# ---------------------------------------------------------------- the budget
def training_speed(base: str, device: str = "auto", measure: bool = True, token: CancelToken | None = None
                   ) -> Iterator[Progress | tuple]:
    """(SpeedEstimate, where it comes from) as the last item, or None when nothing is known and ``measure``
    is False: the doctor's measurement kept for this device and thread count, else measured now (a few
    seconds, then kept)."""
    import torch

    from htrgui.core import speedtest
    from htrgui.core.device import pick_device

    dev = str(pick_device(device))
    threads = torch.get_num_threads()
    saved = speedtest.saved_estimate(dev, threads)
    if saved is not None:
        yield saved[0], f"measured here {saved[1]}".rstrip()
        return
    if not measure:
        yield None
        return
    yield Progress(0, None, "measuring this computer's training speed (once)")
    estimate = None
    for item in speedtest.measure_speed(model=base, device=dev, seconds=1.0, token=token):
        if isinstance(item, speedtest.SpeedEstimate):
            estimate = item
    speedtest.save_estimate(estimate)
    yield estimate, "measured just now"


def estimate_minutes(train_widths: list[int], held_widths: list[int], epochs: float, speed,
                     batch_columns: int = 12000, max_minutes: float | None = None) -> float:
    """Minutes a fine-tune takes: training (lines x passes, the cost of a step proportional to its padded
    columns, timed by ``speed``, a :class:`SpeedEstimate`) plus the held-out checks (before, early, at
    regular intervals, at the end) at ``speed``'s recognition rate."""
    col_s = STEP_OVERHEAD * speed.train_step_s / max(1, speed.train_batch_size * speed.line_width)
    padded = sum(-(-int(w) // 64) * 64 for w in train_widths)
    train_s = epochs * padded * col_s
    check_s = sum(held_widths) / max(1, speed.line_width) / max(1e-6, speed.lines_per_s)
    train_min = train_s / 60 if max_minutes is None else min(train_s / 60, max_minutes)
    gap = max(min(5.0, max(1.0, train_min / 6)), check_s * (1 - CHECK_SHARE) / CHECK_SHARE / 60)
    checks = 3 + int(max(0.0, train_min - FIRST_CHECK_MINUTES) / gap)  # before, first, regular, final
    return (train_s + checks * check_s) / 60


def make_plan(counts: dict[str, int], widths: dict[str, list[int]], held_out: list[str] | None, speed,
              max_minutes: float, speed_source: str = "", replay_fraction: float = 0.3,
              rule: HeldOutRule = RULE, batch_columns: int = 12000) -> FinetunePlan:
    """The plan for pages with ``counts`` verified lines and crop ``widths`` (page key -> list): held-out
    pages (the user's, checked, or picked by line counts), passes, estimated minutes (None without
    ``speed``). Raises :class:`NotEnoughLines` with what is needed."""
    choice = check_held_out(counts, held_out, rule) if held_out else pick_held_out(counts, rule)
    held = set(choice.held_out)
    train_w = [w for k, ws in widths.items() if k not in held for w in ws]
    held_w = [w for k in choice.held_out for w in widths.get(k, [])]
    n_replay = int(round(choice.train_lines * replay_fraction))
    epochs = finetune_epochs(choice.train_lines)
    est = None
    if speed is not None and train_w:
        mean = float(np.mean(train_w))
        est = estimate_minutes(train_w + [int(mean)] * n_replay, held_w, epochs, speed, batch_columns, max_minutes)
    return FinetunePlan(choice.held_out, choice.held_lines, choice.train_lines, n_replay, epochs, max_minutes,
                        est, speed_source)


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


def page_lines(lines: LineSet) -> tuple[dict[str, int], dict[str, list[int]]]:
    """Lines per page and their crop widths (page name -> count, -> widths): what a plan is made from."""
    counts: dict[str, int] = {}
    widths: dict[str, list[int]] = {}
    for im, page in zip(lines.images, lines.pages):
        counts[page] = counts.get(page, 0) + 1
        widths.setdefault(page, []).append(int(im.shape[1]))
    return counts, widths


def _output_path(base: str, out_dir: Path | None) -> Path:
    from htrgui.core.paths import user_models_dir

    folder = Path(out_dir) if out_dir else user_models_dir()
    stem = Path(base).stem if base not in ("default",) else "htrconvtext"
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return folder / f"{stem}-ft-{stamp}.pt"


def finetune(base: str, lines: LineSet, *, held_out: list[str] | None = None,
             replay: LineSet | str | None = "default", replay_fraction: float = 0.3, source: str | None = None,
             max_minutes: float = 15.0, out_dir: Path | None = None, output: Path | None = None,
             device: str = "auto", config: TrainConfig | None = None, fonts: Path | list[Path] | None = None,
             cancel: CancelToken | None = None, seed: int = 0, speed=None, speed_source: str = "",
             rule: HeldOutRule = RULE, max_steps: int | None = None
             ) -> Iterator[Progress | FinetunePlan | FinetuneResult]:
    """Fine-tune ``base`` on ``lines``: yields the :class:`FinetunePlan`, Progress (info: loss, lr, val_cer,
    eta_s), and the :class:`FinetuneResult` last. ``held_out`` names pages (``lines.pages`` values); without
    it they are picked by line counts. Raises :class:`NotEnoughLines` (before training) when the lines do not
    allow a fine-tune and a fair check.

    ``replay`` (lines of other hands mixed in against forgetting, ``replay_fraction`` of the training lines):
    a LineSet, None for none, or "default": lines remembered from the user's earlier fine-tunes of other
    projects, topped up with synthetic lines in handwriting fonts (:mod:`replay`). ``source`` names the
    project (its folder): with it, a better model's training lines are remembered for later fine-tunes.
    ``fonts`` (a folder, or font folders and files; None: :func:`replay.handwriting_fonts` finds some for the
    replay) also warms up letters the base does not know with synthetic lines of them. ``speed``: a
    SpeedEstimate for the duration estimate (None: the kept measurement, else measured now). ``config``
    replaces the recipe (tests run a few steps of a tiny model); ``max_steps`` stops the recipe after that
    many steps (a quick check of a setup; checks then fall due by steps, so the run is reproducible)."""
    from htrgui.core.training import replay as replay_mod
    from htrgui.core.training.modelio import resolve

    counts, widths = page_lines(lines)
    out = Path(output) if output else _output_path(base, out_dir)
    if out.resolve() == resolve(base).resolve():
        raise HtrError(f"{out}: fine-tuning never overwrites its base model; choose another file")
    if speed is None:
        for item in training_speed(base, device, token=cancel):
            if isinstance(item, Progress):
                yield item
            elif item is not None:
                speed, speed_source = item
    plan = make_plan(counts, widths, held_out, speed, max_minutes, speed_source, replay_fraction, rule)
    held = plan.held_out
    yield plan
    train_set, val_set = lines.split_pages(held)
    own = train_set
    n_replay = plan.replay_lines
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
    if config is None:
        config = finetune_config(max_minutes, device, plan.epochs, plan.estimate_minutes)
    cfg = replace(config, seed=seed, resumable=False)
    if max_steps is not None:
        # a step count, not a time: checks fall due by steps too (time-based ones land on different steps
        # on a loaded machine, and a check decides which weights are kept), so the run is reproducible
        cfg = replace(cfg, max_steps=max_steps, first_val_minutes=None, val_every_steps=max(1, max_steps // 3))
    last = None
    try:
        for p in train(train_set, val_set, out, cfg, base=base, cancel=cancel,
                       meta={"finetuned_on_pages": len(counts) - len(held), "held_out_pages": held}):
            last = p
            if p.message == "training":
                yield p
    except BaseException:
        # Cancelled, failed or abandoned (the generator closed): nothing of this run stays on disk.
        out.unlink(missing_ok=True)
        raise
    finally:
        from htrgui.core.training.state import state_dir

        shutil.rmtree(state_dir(out), ignore_errors=True)  # a one-click fine-tune is never resumed
    info = last.info if last else {}
    before, best = info.get("initial_cer"), info.get("best_cer")
    improved = bool(info.get("improved")) and before is not None and best is not None and best < before
    after = best if improved else info.get("last_cer")
    if improved:
        msg = f"new model {out.name}: CER on held-out pages {before:.1%} -> {after:.1%}"
    else:
        out.unlink(missing_ok=True)  # not better: the base stays, and no file is left to mistake for a model
        msg = (f"the fine-tuned model is not better on the held-out pages (CER {_pct(before)} before, "
               f"{_pct(after)} after): the base stays in use")
    if improved and source:
        replay_mod.remember(own, source, seed=seed)
    yield FinetuneResult(before, after, improved, str(out) if improved else None, held, len(train_set),
                         float(info.get("minutes", 0.0)), msg, plan, int(info.get("steps", 0)),
                         list(info.get("history", [])))


def _pct(x: float | None) -> str:
    return "?" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.1%}"


def finetune_pages(pages: list[Page], base: str = "default", *, held_out: list[str] | None = None,
                   max_minutes: float = 15.0, output: Path | None = None, out_dir: Path | None = None,
                   device: str = "auto", source: str | None = None, seed: int = 0, speed=None,
                   speed_source: str = "", config: TrainConfig | None = None, rule: HeldOutRule = RULE,
                   max_steps: int | None = None, cancel: CancelToken | None = None
                   ) -> Iterator[Progress | FinetunePlan | FinetuneResult]:
    """The fine-tune of the GUI's one click and of ``htrgui finetune``: the verified lines of ``pages``,
    the handwriting fonts found (replay lines, new letters), then :func:`finetune`. Checks the lines
    first (raises :class:`NotEnoughLines` before cutting anything out of the scans)."""
    from htrgui.core.training.replay import handwriting_fonts

    verified = VerifiedPages.of(pages)
    counts = verified.by_key()
    if held_out:
        check_held_out(counts, held_out, rule)
    else:
        problem = not_enough(counts, rule)
        if problem:
            raise NotEnoughLines(problem)
    lines = None
    for item in lines_from_pages(verified.pages, cancel=cancel):
        if isinstance(item, LineSet):
            lines = item
        else:
            yield item
    assert lines is not None
    fonts = handwriting_fonts()  # looked for once: replay lines and new letters are rendered in them
    yield from finetune(base, lines, held_out=held_out or None, source=source, max_minutes=max_minutes,
                        output=output, out_dir=out_dir, device=device, config=config, fonts=fonts or None,
                        cancel=cancel, seed=seed, speed=speed, speed_source=speed_source, rule=rule,
                        max_steps=max_steps)
