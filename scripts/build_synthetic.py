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


def render_set(shared: Path, shares: dict[str, float], count: int, seed: int, tag: str = "") -> LineSet:
    """``count`` synthetic lines, ``shares`` of them from each word list of ``shared``/text (list i with seed
    ``seed + i``), texts in the training convention, pages named ``synthetic/LIST{tag}/N`` (20 lines each)."""
    fonts = load_fonts(shared / "fonts")
    out = LineSet()
    for i, (lst, share) in enumerate(shares.items()):
        words = load_words(shared / "text" / lst)
        for j, (img, text) in enumerate(synthetic_lines(fonts, words=words, count=int(count * share),
                                                        seed=seed + i)):
            out.add(img, normalise(text), f"synthetic/{lst}{tag}/{j // 20}")
    return out


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
    t0 = time.time()
    out = render_set(Path(args.shared), shares, args.count, args.seed, tag=f"-s{args.seed}")
    out.save(args.out)
    print(f"{args.out}: {len(out)} lines, {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
