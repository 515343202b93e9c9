"""Join the line caches into the shipped model's training and validation sets, in one convention.

    python scripts/build_line_cache.py --shared ../shared --out .cache/lines         # ../shared/data + synthetic
    python scripts/build_repo_cache.py --repos repos --out .cache/lines/repos        # the closed list
    python scripts/assemble_training_set.py --lines .cache/lines                     # -> train-all, val-all

train-all.npz: general/train of ../shared/data, every repository's training documents and the synthetic
lines; val-all.npz: all of general/validation and every repository's validation documents (selection is made
on it, never on test). --repeat stanford=4 takes each line of a collection that many times (the real English
letters are a small share of the real lines, and general/test reads them). The alphabet is the one the convention implies (conventions.implied_alphabet over the
training text): lines with a rarer character are left out and counted. ``--seg-crops`` adds the training lines
as the app's segmentation finds them (train-seg.npz, repos/*-train-seg.npz: ``build_line_cache.py
--seg-crops``, ``build_repo_cache.py --crops segmentation``) beside the true lines. Prints a JSON report.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from htrgui.core.training.conventions import MIN_COUNT, implied_alphabet, usable  # noqa: E402
from htrgui.core.training.data import LineSet  # noqa: E402


def source_of(page: str) -> str:
    """Collection a line's page belongs to ('poilus', 'timeus', 'synthetic', ...), for the report."""
    parts = Path(page).parts
    if "data" in parts and "shared" in parts:
        return parts[parts.index("data") + 1]
    return parts[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", default=".cache/lines")
    ap.add_argument("--min-count", type=int, default=MIN_COUNT)
    ap.add_argument("--repeat", nargs="*", default=[], metavar="SOURCE=N",
                    help="take every training line of SOURCE (see the report's by_source) N times")
    ap.add_argument("--name", default="train-all", help="file name of the training set (without .npz)")
    ap.add_argument("--seg-crops", action="store_true",
                    help="also the training lines as the app's segmentation cuts them (*-seg.npz caches)")
    args = ap.parse_args()
    repeat = {k: int(v) for k, v in (r.split("=", 1) for r in args.repeat)}
    lines = Path(args.lines)
    repos = sorted((lines / "repos").glob("*-train.npz"))
    train = LineSet.load(lines / "train.npz")
    for p in repos:
        train.extend(LineSet.load(p))
    train.extend(LineSet.load(lines / "synthetic.npz"))
    val = LineSet.load(lines / "val.npz")
    for p in sorted((lines / "repos").glob("*-validation.npz")):
        val.extend(LineSet.load(p))
    alphabet = implied_alphabet(train.texts, args.min_count)
    # second views of lines already counted: added after the alphabet, which they must not change
    seg_lines = 0
    if args.seg_crops:
        for p in [lines / "train-seg.npz", *sorted((lines / "repos").glob("*-train-seg.npz"))]:
            seg = LineSet.load(p)
            seg_lines += len(seg)
            train.extend(seg)
    report = {"alphabet": "".join(sorted(alphabet)), "alphabet_size": len(alphabet), "min_count": args.min_count,
              "segmentation_crops": seg_lines}
    for name, ls in (("train", train), ("val", val)):
        keep = [i for i, t in enumerate(ls.texts) if usable(t, alphabet)]
        kept_set = set(keep)
        if name == "train" and repeat:
            keep = [i for i in keep for _ in range(repeat.get(source_of(ls.pages[i]), 1))]
        dropped = Counter(c for i, t in enumerate(ls.texts) if i not in kept_set for c in t if c not in alphabet)
        kept = ls.subset(keep)
        kept.save(lines / (f"{args.name}.npz" if name == "train" else "val-all.npz"))
        by_source = Counter(source_of(p) for p in kept.pages)
        report[name] = {"lines": len(kept), "dropped_lines": len(ls) - len(kept_set),
                        "dropped_for": "".join(c for c, _ in dropped.most_common(40)),
                        "by_source": dict(sorted(by_source.items()))}
    print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
