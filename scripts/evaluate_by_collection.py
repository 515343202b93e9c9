"""CER/WER of a model on a split of ../shared/data, overall and per collection, with ``htrgui evaluate``.

    python scripts/evaluate_by_collection.py --model models/htrconvtext-small.pt --split general/test
    python scripts/evaluate_by_collection.py --model models/htrconvtext-small.pt --caches .cache/lines/repos

With ``--caches FOLDER``: the held-out test documents of the closed-list repositories instead (the
``*-test.npz`` line caches of scripts/build_repo_cache.py, texts in the training convention), CER/WER per
repository and their mean, greedy decoding as in validation; ``--lm model`` adds the figures of the app's
reading (beam search with the model's language model) beside them.

With ``--fit TRAIN.npz VAL.npz``: how well the model fits its own training lines against held-out ones (greedy
CER of ``--sample`` lines drawn from each, no augmentation): a model that reads its training lines about as
badly as unseen ones underfits, and more steps or less regularisation still pay.

Runs ``htrgui evaluate --per-file`` once over the split's pages and sums the per-page edit counts by
collection (the first folder of each page path), so every figure is a micro average like the CLI's.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from htrgui.core.paths import shared_dir  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(REPO / "models" / "htrconvtext-small.pt"))
    ap.add_argument("--split", default="general/test", help="KEY/SUBKEY of splits.json")
    ap.add_argument("--shared", default=str(shared_dir()))
    ap.add_argument("--limit", type=int, help="only the first N pages (a quick check)")
    ap.add_argument("--caches", help="a folder of *-test.npz caches: evaluate those instead of a split")
    ap.add_argument("--lm", choices=["none", "model"], default="none",
                    help="--caches: also decode with the model's language model, as the app reads pages")
    ap.add_argument("--fit", nargs=2, metavar=("TRAIN", "VAL"), help="line caches: fit on training vs held-out lines")
    ap.add_argument("--sample", type=int, default=1000, help="--fit: lines drawn from each cache")
    ap.add_argument("--seed", type=int, default=0, help="--fit: which lines are drawn")
    ap.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more htrgui evaluate options")
    args = ap.parse_args()
    if args.caches:
        return evaluate_caches(args.model, Path(args.caches), args.lm)
    if args.fit:
        return evaluate_fit(args.model, [Path(p) for p in args.fit], args.sample, args.seed)
    data = Path(args.shared) / "data"
    listing = json.loads((data / "splits.json").read_text(encoding="utf-8"))
    for key in args.split.split("/"):
        listing = listing[key]
    files = [str(data / f"{p}.xml") for p in listing[: args.limit]]
    cmd = [sys.executable, "-m", "htrgui", "evaluate", "--model", args.model, "--per-file", *args.extra, *files]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if result.returncode != 0:
        print(result.stderr, file=sys.stderr)
        return result.returncode
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    per_file, summary = rows[:-1], rows[-1]
    sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in per_file:
        coll = Path(row["file"]).relative_to(data).parts[0]
        for k in ("char_edits", "chars", "word_edits", "words", "lines"):
            sums[coll][k] += row[k]
        sums[coll]["pages"] += 1
    out = {"model": args.model, "split": args.split, "overall": summary, "collections": {
        c: {"cer": round(s["char_edits"] / max(1, s["chars"]), 4), "wer": round(s["word_edits"] / max(1, s["words"]), 4),
            **s} for c, s in sorted(sums.items())}}
    print(json.dumps(out, ensure_ascii=False))
    return 0


def evaluate_caches(model_path: str, folder: Path, lm: str = "none") -> int:
    import torch

    from htrgui.core.training import modelio
    from htrgui.core.training.data import LineSet
    from htrgui.core.training.validate import evaluate_as_read, evaluate_lines

    model, codec, _ = modelio.load(model_path)
    out = {}
    for cache in sorted(folder.glob("*-test.npz")):
        lines = LineSet.load(cache)
        r = evaluate_lines(model, codec, lines, torch.device("cpu"))
        row = {"cer": round(r["cer"], 4), "wer": round(r["wer"], 4), "lines": len(lines),
               "pages": len(lines.page_names())}
        if lm != "none":
            read = evaluate_as_read(model_path, lines, lm)
            row |= {"cer_as_read": round(read["cer"], 4), "wer_as_read": round(read["wer"], 4),
                    "as_read": read["decoding"]}
        out[cache.name.removesuffix("-test.npz")] = row
        print(cache.name, row, file=sys.stderr, flush=True)
    keys = ("cer", "wer") + (("cer_as_read", "wer_as_read") if lm != "none" else ())
    mean = {k: round(sum(v[k] for v in out.values()) / max(1, len(out)), 4) for k in keys}
    print(json.dumps({"model": model_path, "caches": str(folder), "mean": mean, "repositories": out}))
    return 0


def evaluate_fit(model_path: str, caches: list[Path], sample: int, seed: int) -> int:
    import numpy as np
    import torch

    from htrgui.core.training import modelio
    from htrgui.core.training.data import LineSet
    from htrgui.core.training.validate import evaluate_lines

    model, codec, _ = modelio.load(model_path)
    out = {"model": model_path, "sample": sample, "seed": seed}
    for name, cache in zip(("train", "val"), caches):
        lines = LineSet.load(cache)
        pick = np.random.default_rng(seed).choice(len(lines), size=min(sample, len(lines)), replace=False)
        r = evaluate_lines(model, codec, lines.subset(sorted(pick.tolist())), torch.device("cpu"))
        out[name] = {"cache": str(cache), "lines": int(len(pick)), "cer": round(r["cer"], 4), "wer": round(r["wer"], 4)}
    out["gap"] = round(out["val"]["cer"] - out["train"]["cer"], 4)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
