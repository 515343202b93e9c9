"""Cut the line crops of the shipped model's training data once, into .npz line caches.

    python scripts/build_line_cache.py --shared ../shared --out .cache/lines

writes train.npz (general/train pages), val.npz (all general/validation pages), val-subset.npz (a
few validation pages of every collection, for cheap validation during training), test.npz
(general/test) and synthetic.npz (lines rendered from ../shared/fonts and ../shared/text word lists).
Training and validation texts (train, val, val-subset, synthetic) are put into the training convention
(htrgui.core.training.conventions); test and adaptation lines keep their ground truth as written.
With ``--seg-crops``, also train-seg.npz: the general/train lines as the app's own segmentation finds them
(``htrgui.core.training.data.segmented_lines``: true lines found end to end, cut as a new scan is cut).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from htrgui.core.training.conventions import normalise
from htrgui.core.training.data import LineSet, load_lineset, segmented_lines
from htrgui.core.paths import shared_dir  # noqa: E402
from build_synthetic import render_set  # scripts/, beside this one

# The real lines are nearly all French; synthetic lines carry most of the English (and the other languages).
WORD_LISTS = {"words-american-english.txt": 0.5, "words-french.txt": 0.3, "words-ngerman.txt": 0.1,
              "words-italian.txt": 0.05, "words-spanish.txt": 0.05}
NORMALISED = ("train", "val", "val-subset")


def subset_pages(pages: list[str], per_collection: int) -> list[str]:
    """Every n-th page of each collection so validation sees all hands types cheaply."""
    by_coll: dict[str, list[str]] = {}
    for p in pages:
        by_coll.setdefault(p.split("/")[0], []).append(p)
    out = []
    for coll, ps in sorted(by_coll.items()):
        step = max(1, len(ps) // per_collection)
        out += ps[::step][:per_collection]
    return out


def segmentation_set(files: list[Path]) -> tuple[LineSet, int]:
    """The pages' true lines with text as the app's segmentation finds them, and how many true lines there are."""
    from htrgui.core.imaging import load_page_image
    from htrgui.core.io import read_document

    out, truth = LineSet(), 0
    for path in files:
        page = read_document(path)
        lines = [ln for ln in page.lines() if normalise(ln.text)]
        truth += len(lines)
        for crop, line in segmented_lines(load_page_image(page, "L"), lines):
            out.add(crop, normalise(line.text), str(path))
    return out, truth


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(shared_dir()))
    ap.add_argument("--out", default=".cache/lines")
    ap.add_argument("--synthetic", type=int, default=8000)
    ap.add_argument("--val-pages-per-collection", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--seg-crops", action="store_true",
                    help="also train-seg.npz: general/train's lines as the app's segmentation finds them")
    ap.add_argument("--seg-only", action="store_true", help="write train-seg.npz alone")
    args = ap.parse_args()
    data = Path(args.shared) / "data"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    splits = json.loads((data / "splits.json").read_text(encoding="utf-8"))
    t0 = time.time()
    if args.seg_crops or args.seg_only:
        seg, truth = segmentation_set([data / (p + ".xml") for p in splits["general"]["train"]])
        seg.save(out / "train-seg.npz")
        print(f"train-seg: {len(seg)} of {truth} true lines found whole, {time.time() - t0:.0f} s", flush=True)
        if args.seg_only:
            return
    for name, pages in (("train", splits["general"]["train"]), ("val", splits["general"]["validation"]),
                        ("test", splits["general"]["test"]),
                        ("val-subset", subset_pages(splits["general"]["validation"], args.val_pages_per_collection)),
                        ("adapt", splits["adaptation"]["adapt"]), ("adapt-test", splits["adaptation"]["test"])):
        lines = load_lineset([str(data / (p + ".xml")) for p in pages])
        if name in NORMALISED:
            keep = [i for i, t in enumerate(lines.texts) if normalise(t)]
            lines = lines.subset(keep)
            lines.texts = [normalise(t) for t in lines.texts]
        lines.save(out / f"{name}.npz")
        print(f"{name}: {len(pages)} pages, {len(lines)} lines, {time.time() - t0:.0f} s", flush=True)
    synth = render_set(Path(args.shared), WORD_LISTS, args.synthetic, args.seed)
    synth.save(out / "synthetic.npz")
    print(f"synthetic: {len(synth)} lines, {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
