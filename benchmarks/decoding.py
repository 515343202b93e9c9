"""Decoding with and without the language model: CER/WER, lines per second and confidence quality, in one run.

Real lines of ../shared/data pages, cut as the engine cuts them; the model runs once per batch (width
buckets, batch 16, as the app runs it) and every decoder reads the same posteriors, so the speed figures
compare decoders, not machine moods. Prints one JSON object per set and decoder, a JSON summary last.

    python benchmarks/decoding.py                                   # general/test and adaptation/test
    python benchmarks/decoding.py --sets general/validation --grid  # choose weight, bonus and beam (never on test)
    python benchmarks/decoding.py --model runs/new.pt --threads 2

Decoders: ``greedy`` (best path), ``beam`` (prefix beam search, no LM), ``beam+lm`` (the LM shipped beside the
model), and on adaptation/test ``beam+lm+project``: the shipped LM mixed with one built from the verified
``adaptation/adapt`` pages (the user after correcting 20 pages; its build time is reported).
``lines_per_second`` of a decoder = lines / (model forward + its decoding); ``time_vs_greedy`` is the ratio of
those times to greedy's (wall clock), ``cpu_time_vs_greedy`` the same in CPU time of this process (less
sensitive to other jobs on a shared machine), ``time_vs_greedy_at_75_lines_per_s`` the ratio if the forward
ran at the engine's greedy speed on 2 idle cores (75 lines/s) and decoding took what it took here.

Confidences: each hypothesis character is labelled correct or not by an edit-distance alignment to the truth;
``conf_auroc`` is the probability that a correct character has a higher confidence than a wrong one (0.5:
useless, 1: perfect), ``flag_recall_at_0.5`` the share of wrong characters under 0.5 (what the editor
highlights) and ``flag_share_at_0.5`` the share of all characters under 0.5.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from htrgui.core.paths import shared_dir  # noqa: E402

SHARED = shared_dir()


def page_lines(recognizer, stems: list[str]) -> tuple[list[np.ndarray], list[str]]:
    """Crops and ground truth of every line with text of these pages."""
    from htrgui.core.imaging import load_page_image
    from htrgui.core.io import read_document

    crops, truths = [], []
    for stem in stems:
        page = read_document(SHARED / "data" / f"{stem}.xml")
        truth = {line.id: line.text for line in page.lines() if line.text.strip()}
        gray = load_page_image(page, mode="L")
        for lid, img in recognizer.page_lines(page, gray, skip_verified=False):
            if lid in truth and img is not None and img.size:
                crops.append(img)
                truths.append(truth[lid])
    return crops, truths


def page_texts(stems: list[str]) -> list[str]:
    from htrgui.core.io import read_document

    return [line.text for stem in stems for line in read_document(SHARED / "data" / f"{stem}.xml").lines()
            if line.text.strip()]


def forward_all(recognizer, crops: list[np.ndarray]) -> tuple[list[tuple[np.ndarray, list[int], list[int]]], float]:
    """Posteriors of every batch the engine would form, and the seconds the model took."""
    from htrgui.core.recognition.preprocess import width_buckets

    batches, seconds, cpu = [], 0.0, 0.0
    max_pixels = recognizer.batch_size * 1024
    for group in width_buckets([c.shape[1] for c in crops], recognizer.batch_size, max_pixels):
        t, c = time.perf_counter(), time.process_time()
        probs, lengths = recognizer._forward([crops[i] for i in group])
        probs = probs.cpu().numpy()
        seconds += time.perf_counter() - t
        cpu += time.process_time() - c
        batches.append((probs, lengths.tolist(), group))
    return batches, seconds, cpu


def labels(hyp: str, ref: str) -> list[bool]:
    """For each character of ``hyp``: True when an optimal edit alignment matches it to the same character."""
    from htrgui.core.text import alignment

    return [truth == read for truth, read in alignment(hyp, ref) if read]


def confidence_quality(results, truths) -> dict:
    conf, ok = [], []
    for d, ref in zip(results, truths):
        from htrgui.core.text import normalize

        hyp = d.text
        if len(d.char_confidences) != len(hyp) or normalize(hyp) != hyp:
            continue
        conf += d.char_confidences
        ok += labels(hyp, normalize(ref))
    conf, ok = np.array(conf), np.array(ok, dtype=bool)
    if not len(conf) or ok.all() or not ok.any():
        return {}
    ranks = np.argsort(np.argsort(conf, kind="stable"), kind="stable") + 1.0
    # ties get their mean rank
    order = np.argsort(conf, kind="stable")
    sc = conf[order]
    starts = np.r_[0, np.nonzero(np.diff(sc))[0] + 1]
    ends = np.r_[starts[1:], len(sc)]
    for a, b in zip(starts, ends):
        ranks[order[a:b]] = (a + b + 1) / 2.0
    n_pos, n_neg = ok.sum(), (~ok).sum()
    auroc = (ranks[ok].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return {"conf_auroc": round(float(auroc), 4), "flag_recall_at_0.5": round(float((conf[~ok] < 0.5).mean()), 4),
            "flag_share_at_0.5": round(float((conf < 0.5).mean()), 4),
            "mean_conf_correct": round(float(conf[ok].mean()), 4), "mean_conf_wrong": round(float(conf[~ok].mean()), 4)}


def decode(batches, n_lines, codec, **kw):
    """(results in line order, decoding seconds)."""
    from htrgui.core.recognition.decode import beam_search_batch, greedy_from_best

    out: list = [None] * n_lines
    t, c = time.perf_counter(), time.process_time()
    for probs, lengths, group in batches:
        if kw.get("greedy"):
            best = probs.argmax(axis=2)
            best_p = np.take_along_axis(probs, best[:, :, None], axis=2)[:, :, 0]
            res = [greedy_from_best(best[i, :n], best_p[i, :n], probs[i, :n, 0], codec) for i, n in enumerate(lengths)]
        else:
            res = beam_search_batch(probs, lengths, codec, **kw)
        for i, r in zip(group, res):
            out[i] = r
    return out, time.perf_counter() - t, time.process_time() - c


def score(results, truths) -> dict:
    from htrgui.core.text import ErrorRates

    rates = ErrorRates()
    for d, ref in zip(results, truths):
        rates.add(d.text, ref)
    return {"cer": round(rates.cer, 4), "wer": round(rates.wer, 4), "lines": rates.lines}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--lm", default=None, help="language model file (default: the one the model carries)")
    ap.add_argument("--sets", default="general/test,adaptation/test")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--beam", type=int, default=None)
    ap.add_argument("--lm-weight", type=float, default=None)
    ap.add_argument("--bonus", type=float, default=None)
    ap.add_argument("--limit", type=int, default=None, help="at most this many pages per set")
    ap.add_argument("--skip-pages", type=int, default=0, help="leave out the first N pages of each set")
    ap.add_argument("--weights", default=None,
                    help="with --grid: only these weight:bonus pairs, e.g. 0.7:2.0,0.9:2.5")
    ap.add_argument("--grid", action="store_true", help="try weights, bonuses and beams (for general/validation)")
    ap.add_argument("--beams", default="4,8,16",
                    help="with --grid: beam widths tried (at the default weight and bonus, all pairs at --beam)")
    ap.add_argument("--project-grid", action="store_true",
                    help="adaptation/adapt: LM from 17 pages, project weights tried on the other 3")
    ap.add_argument("--project-pages", default=None,
                    help="with --project-grid: comma list of how many pages (those just before the measured ones) "
                         "the project LM reads, e.g. 1,3,17 (default: all skipped pages)")
    ap.add_argument("--project-weights", default="0.2,0.35,0.5,0.65,0.8",
                    help="with --project-grid: project weights to try")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from htrgui.core.recognition import decode as dec
    from htrgui.core.recognition import lm as lmmod
    from htrgui.core.recognition.engine import Recognizer
    from htrgui.core.recognition.library import resolve_model

    model_path = resolve_model(None if args.model == "default" else args.model)
    recognizer = Recognizer(model_path, device="cpu", threads=args.threads, batch_size=args.batch_size)
    codec = recognizer.codec
    shipped = lmmod.CharNgramLM.load(args.lm) if args.lm else lmmod.model_lm(model_path)
    if shipped is None:
        sys.exit(f"{model_path}: carries no language model (and the shipped one is not installed); pass --lm FILE")
    base = lmmod.MixedLM([(shipped, 1.0)])
    beam = args.beam or dec.DEFAULT_BEAM
    weight = dec.DEFAULT_LM_WEIGHT if args.lm_weight is None else args.lm_weight
    bonus = dec.DEFAULT_INSERTION_BONUS if args.bonus is None else args.bonus
    splits = json.loads((SHARED / "data" / "splits.json").read_text(encoding="utf-8"))
    if args.lm:
        lm_file, lm_bytes = Path(args.lm).name, Path(args.lm).stat().st_size
    else:  # the size as stored, not compressed again for a figure
        from htrgui.core.recognition.library import read_card

        lm_file, lm_bytes = f"inside {model_path.name}", read_card(model_path)["language_model_bytes"]
    summary = {"model": str(model_path.name), "lm": {"file": lm_file, "bytes": lm_bytes,
                                                      **shipped.describe()},
               "threads": args.threads, "batch_size": args.batch_size, "beam": beam, "lm_weight": weight,
               "insertion_bonus": bonus, "sets": {}}
    for name in args.sets.split(","):
        group, split = name.split("/")
        stems = list(splits[group][split])[args.skip_pages:][: args.limit]
        crops, truths = page_lines(recognizer, stems)
        batches, fwd, fwd_cpu = forward_all(recognizer, crops)
        n = len(crops)
        rows = {}

        def run(label, **kw):
            res, sec, cpu = decode(batches, n, codec, **kw)
            row = {"set": name, "decoder": label, **score(res, truths),
                   "decode_ms_per_line": round(1000 * sec / n, 2), "forward_ms_per_line": round(1000 * fwd / n, 2),
                   "decode_cpu_ms_per_line": round(1000 * cpu / n, 2),
                   "forward_cpu_ms_per_line": round(1000 * fwd_cpu / n, 2),
                   "lines_per_second": round(n / (fwd + sec), 2), **confidence_quality(res, truths)}
            row["_seconds"] = fwd + sec
            row["_cpu"] = fwd_cpu + cpu
            # against the engine's greedy speed on 2 idle cores (75 lines/s, README): decoding added to 1/75 s
            row["_decode_s"] = sec
            rows[label] = row
            return row

        run("greedy", greedy=True)
        if args.grid:
            pairs = (list(itertools.product((0.3, 0.5, 0.7, 0.9, 1.1), (0.0, 0.5, 1.0, 1.5, 2.0))) if not args.weights
                     else [tuple(float(x) for x in p.split(":")) for p in args.weights.split(",")])
            for b, (w, ib) in itertools.product([int(x) for x in args.beams.split(",")], pairs):
                if b != beam and (w, ib) != (weight, bonus):
                    continue
                r = run(f"beam{b}+lm w={w} b={ib}", beam_width=b, lm=base, lm_weight=w, insertion_bonus=ib)
                print(json.dumps({k: v for k, v in r.items() if not k.startswith("_")}), flush=True)
        if args.project_grid:
            # the LM from the pages of adaptation/adapt not measured here (run with --sets adaptation/adapt
            # --skip-pages 17: LM from the first 17 pages, weights tried on the last 3)
            adapt = list(splits["adaptation"]["adapt"])
            counts = [int(k) for k in args.project_pages.split(",")] if args.project_pages else [args.skip_pages]
            for n_pages in counts:
                own = lmmod.project_lm(page_texts(adapt[max(0, args.skip_pages - n_pages): args.skip_pages]))
                for pw in (float(x) for x in args.project_weights.split(",")):
                    mix = lmmod.MixedLM([(shipped, 1 - pw), (own, pw)])
                    r = run(f"beam+lm+project pages={n_pages} chars={own.meta['characters']} pw={pw}", beam_width=beam,
                            lm=mix, lm_weight=weight, insertion_bonus=bonus)
                    print(json.dumps({k: v for k, v in r.items() if not k.startswith("_")}), flush=True)
        run("beam", beam_width=beam, insertion_bonus=0.0)
        run("beam+lm", beam_width=beam, lm=base, lm_weight=weight, insertion_bonus=bonus)
        if group == "adaptation" and split == "test":
            t = time.perf_counter()
            own = lmmod.project_lm(page_texts(list(splits["adaptation"]["adapt"])))
            build_s = time.perf_counter() - t
            mix = lmmod.MixedLM([(shipped, 1 - lmmod.project_weight(own)), (own, lmmod.project_weight(own))])
            r = run("beam+lm+project", beam_width=beam, lm=mix, lm_weight=weight, insertion_bonus=bonus)
            r["project_lm"] = {"lines": own.meta["lines"], "characters": own.meta["characters"],
                               "weight": round(lmmod.project_weight(own), 3), "build_seconds": round(build_s, 3)}
        g = rows["greedy"]
        for r in rows.values():
            r["time_vs_greedy"] = round(r["_seconds"] / g["_seconds"], 3)
            r["cpu_time_vs_greedy"] = round(r["_cpu"] / g["_cpu"], 3)
            r["time_vs_greedy_at_75_lines_per_s"] = round((1 / 75 + (r["_decode_s"] - g["_decode_s"]) / n) / (1 / 75), 3)
            r["char_errors_vs_greedy"] = round(r["cer"] / g["cer"] - 1, 4) if g["cer"] else None
            if not args.grid and not args.project_grid or not r["decoder"].startswith("beam") or "=" not in r["decoder"]:
                print(json.dumps({k: v for k, v in r.items() if not k.startswith("_")}, ensure_ascii=False),
                      flush=True)
        summary["sets"][name] = {k: {kk: vv for kk, vv in v.items() if not kk.startswith("_") and kk != "set"}
                                 for k, v in rows.items()}
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
