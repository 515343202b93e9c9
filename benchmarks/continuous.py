"""The model learns while you correct: replay a real correction session and measure each next page.

    python benchmarks/continuous.py [--pages 20] [--seconds-per-line 20] [--lines-per-page N] [--threads 1]
                                    [--every-lines 25] [--round-minutes 5] [--model M]

A person verifies the ``adaptation/adapt`` pages of ../shared/data/splits.json (one writer) one by one, line
by line, taking ``--seconds-per-line`` per line. That time is what the background rounds have: a simulated
clock starts a round of :func:`htrgui.core.training.continuous.learning_round` whenever the policy says one is
due (with the lines verified by then), advances by the round's measured wall time on this machine, and a
better version is in use from the moment its round ended. Each page is read, before the person touches it,
by the version in use at that moment and by the shipped model alone (the baseline, same run, same lines).
Reading is greedy, as the held-out checks; recognition time is the person's own, not the rounds'.
``--lines-per-page`` keeps the first N lines of each page (a reduced session). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
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
    ap.add_argument("--pages", type=int, default=20, help="adaptation/adapt pages verified, in order")
    ap.add_argument("--lines-per-page", type=int, help="verify only the first N lines of each page")
    ap.add_argument("--seconds-per-line", type=float, default=20.0, help="a person's time to verify a line")
    ap.add_argument("--every-lines", type=int, help="a round after this many new verified lines")
    ap.add_argument("--round-minutes", type=float, help="a round's time limit")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, help="torch CPU threads (1 on a shared CPU)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    data, splits = private_run(args.shared, args.threads)
    import torch

    from htrgui.core.io import read_document
    from htrgui.core.progress import Progress, StderrReporter
    from htrgui.core.recognition.checkpoint import load_checkpoint
    from htrgui.core.training.continuous import LearningPolicy, ModelHistory, RoundResult, learning_round
    from htrgui.core.training.data import LineSet, normalize_text
    from htrgui.core.training.finetune import VerifiedPages, lines_from_pages, training_speed
    from htrgui.core.training.validate import evaluate_lines

    t_start = time.monotonic()
    names = splits["adaptation"]["adapt"][: args.pages]
    pages, session = [], []  # Page objects; per page the lines the person verifies, in order
    for name in names:
        page = read_document(data / f"{name}.xml")
        todo = [ln for ln in page.lines() if normalize_text(ln.text)][: args.lines_per_page]
        for line in page.lines():
            line.status = "predicted"  # ground truth: nothing is verified before the person gets to it
        pages.append(page)
        session.append(todo)
    crops: list[LineSet] = []
    for page, todo in zip(pages, session):
        for line in todo:
            line.status = "verified"  # only to cut these lines out; reset below
        crops.append([x for x in lines_from_pages([page]) if isinstance(x, LineSet)][0])
        for line in todo:
            line.status = "predicted"
    per_line = args.seconds_per_line
    starts = [0.0]
    for todo in session:
        starts.append(starts[-1] + per_line * len(todo))

    def set_clock(t: float) -> int:
        """Mark what the person has verified at time ``t``; the number of verified lines."""
        n = 0
        for start, todo in zip(starts, session):
            done = max(0, min(len(todo), int((t - start) // per_line)))
            for i, line in enumerate(todo):
                line.status = "verified" if i < done else "predicted"
            n += done
        return n

    policy = LearningPolicy()
    if args.every_lines:
        policy.every_lines = args.every_lines
    if args.round_minutes:
        policy.round_minutes = args.round_minutes
    folder = Path(os.environ["HTRGUI_HOME"]) / "project-models"
    history = ModelHistory.load(folder, base=args.model)
    report = StderrReporter(hz=0.2)
    # this machine's training speed (the rounds' estimate), measured once here: measuring loads a recogniser,
    # which takes every core, so the thread count is set again afterwards (and after each round)
    speed = [x for x in training_speed(args.model, args.device) if isinstance(x, tuple)][0]
    if args.threads:
        torch.set_num_threads(args.threads)
    available: list[tuple[float, str, str]] = [(0.0, args.model, "shipped")]  # (from when, model, name)
    rounds, table = [], []

    def cer(model: str, i: int) -> float:
        m = load_checkpoint(model)
        if args.threads:
            torch.set_num_threads(args.threads)
        return evaluate_lines(m.model, m.codec, crops[i], torch.device("cpu"))["cer"]

    def read_pages_until(t: float) -> None:
        """Read the pages the person opens by time ``t`` with the version in use (measured now: a version
        may later leave the bounded history)."""
        _, model, version = available[-1]
        for i in range(len(table), len(names)):
            if starts[i] > t:
                break
            table.append({"page": Path(names[i]).name, "lines": len(session[i]), "starts_at_s": round(starts[i]),
                          "verified_before": sum(len(s) for s in session[:i]), "model": version,
                          "cer_shipped": _r(cer(args.model, i)),
                          "cer_in_use": _r(cer(model, i)) if version != "shipped" else None})
            if version == "shipped":
                table[-1]["cer_in_use"] = table[-1]["cer_shipped"]

    clock, last_needed = 0.0, starts[len(session) - 1]  # the last page is read at its start
    while clock < last_needed:
        n = set_clock(clock)
        due = policy.due(VerifiedPages.of(pages), history)
        if not due.due:
            read_pages_until(clock)
            clock += per_line  # the next verified line
            continue
        t0 = time.monotonic()
        result = None
        for item in learning_round(pages, history, policy, device=args.device, seed=args.seed,
                                   speed=speed[0], speed_source=speed[1]):
            if isinstance(item, RoundResult):
                result = item
            elif isinstance(item, Progress):
                report(item)
        spent = time.monotonic() - t0
        if args.threads:
            torch.set_num_threads(args.threads)
        r = result.result
        rounds.append({"start_s": round(clock), "end_s": round(clock + spent), "verified_lines": n,
                       "train_lines": r.plan.train_lines if r.plan else None,
                       "held_out_lines": r.plan.held_lines if r.plan else None,
                       "held_out_cer_before": _r(r.before_cer), "held_out_cer_after": _r(r.after_cer),
                       "kept": result.version.name if result.version else None, "steps": r.steps})
        print(f"round at {clock:.0f} s, {n} lines: {result.describe()} ({spent:.0f} s)", file=sys.stderr)
        clock += spent
        read_pages_until(clock)  # pages opened while the round ran: still the version it started from
        if result.version is not None:
            available.append((clock, str(folder / result.version.file), result.version.name))

    read_pages_until(float("inf"))
    helped = [row for row in table if row["model"] != "shipped"]
    mean = lambda key, rows: _r(sum(r[key] for r in rows) / len(rows)) if rows else None  # noqa: E731
    out = {"benchmark": "continuous", "model": Path(args.model).name, "torch_threads": torch.get_num_threads(),
           "pages": len(names), "lines": sum(len(s) for s in session), "seconds_per_line": per_line,
           "every_lines": policy.every_lines, "round_minutes": policy.round_minutes, "rounds": rounds,
           "per_page": table,
           "mean_cer_shipped_all": mean("cer_shipped", table), "mean_cer_in_use_all": mean("cer_in_use", table),
           "pages_read_by_a_new_version": len(helped),
           "mean_cer_shipped_those": mean("cer_shipped", helped), "mean_cer_in_use_those": mean("cer_in_use", helped),
           "total_minutes": round((time.monotonic() - t_start) / 60, 2)}
    print(json.dumps(out, ensure_ascii=False))
    return 0


def _r(x):
    return None if x is None else round(float(x), 4)


if __name__ == "__main__":
    raise SystemExit(main())
