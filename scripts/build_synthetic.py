"""Render an extra synthetic line set from ../shared/fonts and chosen ../shared/text word lists.

    python scripts/build_synthetic.py --words words-american-english.txt=0.5 words-british-english.txt=0.5 \
        --count 8000 --seed 101 --out .cache/lines/synthetic-en.npz

build_line_cache.py writes the default mixed-language synthetic.npz; this adds more of one language (phase 5 of
the shipped model: more English, because the real lines are nearly all French). Texts are put into the training
convention like every other training line; a different --seed gives different lines.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from htrgui.core.paths import shared_dir
from htrgui.core.training.conventions import normalise
from htrgui.core.training.data import LineSet
from htrgui.core.training.synthetic import load_fonts, load_words, synthetic_lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=str(shared_dir()))
    ap.add_argument("--words", nargs="+", required=True, metavar="LIST=SHARE",
                    help="word list file of ../shared/text and its share of the lines")
    ap.add_argument("--count", type=int, default=8000)
    ap.add_argument("--seed", type=int, default=101)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    shares = {k: float(v) for k, v in (w.split("=", 1) for w in args.words)}
    fonts = load_fonts(Path(args.shared) / "fonts")
    out = LineSet()
    t0 = time.time()
    for i, (lst, share) in enumerate(shares.items()):
        words = load_words(Path(args.shared) / "text" / lst)
        for j, (img, text) in enumerate(synthetic_lines(fonts, words=words, count=int(args.count * share),
                                                        seed=args.seed + i)):
            # Page names group 20 lines, like build_line_cache's, so the report counts them as 'synthetic'.
            out.add(img, normalise(text), f"synthetic/{lst}-s{args.seed}/{j // 20}")
    out.save(args.out)
    print(f"{args.out}: {len(out)} lines, {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
