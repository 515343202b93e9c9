"""``htrgui finetune``: the GUI's "Improve the model" from the command line (the same core function).

The verified lines of a project (its ``page/`` files), or of PAGE/ALTO files, folders of them or page lists
(``splits.json:adaptation/adapt``); ground-truth files without htrgui's status count as verified. Progress
goes to stderr; the last stdout line is JSON: the held-out CER before and after, the model written (or null,
with why) and the minutes taken.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HELP = "fine-tune a model on verified lines (what the GUI's 'Improve the model' does)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "finetune", help=HELP,
        description=HELP + ". Whole pages are held out (chosen by line counts: at least 10 lines to check on, "
                    "50 to learn from); the new model is written only if it reads them better. Prints JSON on "
                    "the last line.")
    p.add_argument("inputs", nargs="+", metavar="PROJECT_OR_PAGES",
                   help="a project folder (its verified lines), PAGE/ALTO files, folders of them, or page lists "
                        "(FILE.json:KEY/SUBKEY)")
    p.add_argument("-o", "--output", type=Path, metavar="MODEL",
                   help="model file to write (default: a new file in the user's model folder)")
    p.add_argument("--base", default="default", metavar="MODEL",
                   help="model to start from: a path, a name from 'htrgui models list', or 'default' (the "
                        "shipped model, the default)")
    p.add_argument("--max-minutes", type=float, default=60.0, metavar="N",
                   help="stop after N minutes at most (default 60; the data usually decides earlier)")
    p.add_argument("--hold-out", nargs="+", metavar="PAGE", default=None,
                   help="check the new model on these pages (file, path or name without .xml) instead of "
                        "the pages picked by line counts")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-steps", type=int, metavar="N", help="stop after N training steps (a quick check)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--threads", type=int, help="CPU threads for torch (1 is fastest when other jobs share the CPU)")
    p.add_argument("--no-remember", action="store_true",
                   help="for a project: do not keep a sample of its lines to replay in later fine-tunes")
    p.set_defaults(func=run)


def load_pages(inputs: list[str]) -> tuple[list, str | None]:
    """(pages, the project folder when the input is one project): a folder holding scans is a project
    (its saved pages), anything else goes through the training data's file rules."""
    from htrgui.core.errors import HtrError
    from htrgui.core.io import read_document
    from htrgui.core.project import Project
    from htrgui.core.training.data import expand_sources

    pages, project_folder, files = [], None, []
    for spec in inputs:
        path = Path(spec)
        project = Project.open(path) if path.is_dir() else None
        if project is not None and project.entries:
            for entry in project.entries:
                if project.source_xml(entry) is not None:
                    pages.append(project.load_page(entry))
            project_folder = str(project.folder) if len(inputs) == 1 else None
        else:
            files.append(spec)
    if files:
        docs, lists = expand_sources(files)
        if lists:
            raise HtrError(f"{lists[0]}: finetune learns from pages (PAGE/ALTO), not line lists or caches")
        for doc in docs:
            page = read_document(doc)
            if page.image_path is None:
                raise HtrError(f"{doc}: the page image {page.image_filename!r} was not found")
            pages.append(page)
    return pages, project_folder


def match_pages(names: list[str], keys: list[str]) -> list[str]:
    """The page keys the user named: a key itself, a path to it, its file name or its name without .xml."""
    from htrgui.core.errors import HtrError

    out = []
    for name in names:
        hits = [k for k in keys if name == k or Path(name).resolve() == Path(k).resolve()
                or name in (Path(k).name, Path(k).stem)]
        if len(hits) != 1:
            raise HtrError(f"--hold-out {name}: " + ("no page with verified lines has that name" if not hits
                                                      else f"{len(hits)} pages have that name; give its path"))
        out.append(hits[0])
    return out


def run(args: argparse.Namespace) -> int:
    from htrgui.core.progress import Progress, StderrReporter
    from htrgui.core.training.finetune import (FinetunePlan, FinetuneResult, VerifiedPages, finetune_pages,
                                               training_speed)
    from htrgui.core.training.holdout import NotEnoughLines

    t0 = time.monotonic()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    base, device = args.base, args.device
    pages, project = load_pages(args.inputs)
    verified = VerifiedPages.of(pages)
    held = match_pages(args.hold_out, verified.keys) if args.hold_out else None
    print(f"htrgui finetune: {verified.lines} verified lines on {len(verified.pages)} pages, from {base}",
          file=sys.stderr)
    summary = {"base": base, "verified_lines": verified.lines, "pages": len(verified.pages)}
    report = StderrReporter(hz=0.2)
    result, speed, source = None, None, ""
    try:
        for item in training_speed(base, device):
            if isinstance(item, tuple):
                speed, source = item
        for item in finetune_pages(pages, base, held_out=held, max_minutes=args.max_minutes,
                                   output=args.output, device=device, seed=args.seed, speed=speed,
                                   max_steps=args.max_steps,
                                   speed_source=source, source=None if args.no_remember else project):
            if isinstance(item, FinetunePlan):
                print(f"htrgui finetune: {item.describe()}", file=sys.stderr, flush=True)
                print(f"htrgui finetune: held out: {', '.join(Path(k).stem for k in item.held_out)}",
                      file=sys.stderr, flush=True)
                summary.update(held_out_pages=item.held_out, held_out_lines=item.held_lines,
                               train_lines=item.train_lines, replay_lines=item.replay_lines, epochs=item.epochs,
                               estimate_minutes=None if item.estimate_minutes is None
                               else round(item.estimate_minutes, 2))
            elif isinstance(item, FinetuneResult):
                result = item
            elif isinstance(item, Progress):
                _report(report, item)
    except NotEnoughLines as exc:
        print(f"htrgui finetune: {exc}", file=sys.stderr)
        summary.update(held_out_cer_before=None, held_out_cer_after=None, model=None, why=str(exc),
                       minutes=round((time.monotonic() - t0) / 60, 2))
        print(json.dumps(summary, ensure_ascii=False))
        return 1
    assert result is not None
    print(f"htrgui finetune: {result.message}", file=sys.stderr)
    summary.update(held_out_cer_before=_r(result.before_cer), held_out_cer_after=_r(result.after_cer),
                   model=result.model_path, why=None if result.model_path else result.message,
                   steps=result.steps, training_minutes=round(result.minutes, 2),
                   checks=[{"step": h["step"], "cer": _r(h["val_cer"])} for h in result.history],
                   minutes=round((time.monotonic() - t0) / 60, 2))
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


def _report(report, p) -> None:
    """Validations always, other steps at the reporter's pace."""
    info = {k: p.info[k] for k in ("loss", "val_cer", "eta_s", "initial_cer") if p.info.get(k) is not None}
    report(type(p)(p.done, p.total, p.message, info), force=bool(p.info.get("validated")
                                                                  or p.info.get("initial_cer") is not None))
