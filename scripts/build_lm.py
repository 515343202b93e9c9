"""Build the character language model a model carries, from its training transcriptions.

    python scripts/build_lm.py                      # -> into models/htrconvtext-small.pt (JSON report on stdout)
    python scripts/build_lm.py --into /work/runs/phase7.pt      # into another model file
    python scripts/build_lm.py --lines .cache/lines/train.npz --order 6 -o /tmp/small.lm.npz   # a file alone

Sources: the texts of line caches (``LineSet`` .npz files; only their transcriptions are read, never the
pixels) and plain-text files (``--text``). By default the shipped model's next training set
(``train-all.npz``: general/train, the repositories' training documents, in the training convention) without
its synthetic lines (random words from word lists, not language), plus the 9.7k ``general/train`` lines as
written in ../shared/data (the convention the test pages are transcribed in). A line cache holding any page of
general/validation, general/test or the adaptation split is refused: the model must never see evaluation text.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from htrgui.core.paths import shared_dir  # noqa: E402
from htrgui.core.recognition.checkpoint import set_language_model  # noqa: E402
from htrgui.core.recognition.lm import CharNgramLM  # noqa: E402


def cache_texts(path: Path, skip_prefixes: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(texts, pages) of a line cache, without loading its pixels."""
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(bytes(z["meta"]).decode("utf-8"))
    keep = [i for i, p in enumerate(meta["pages"]) if not p.startswith(skip_prefixes)]
    return [meta["texts"][i] for i in keep], [meta["pages"][i] for i in keep]


def forbidden_pages() -> set[str]:
    """Stems (folder/name, no extension) of every evaluation page of ../shared/data."""
    splits_path = shared_dir() / "data" / "splits.json"
    if not splits_path.is_file():
        return set()
    splits = json.loads(splits_path.read_text(encoding="utf-8"))
    out = set(splits["general"]["validation"]) | set(splits["general"]["test"])
    out |= set(splits["adaptation"]["adapt"]) | set(splits["adaptation"]["test"])
    return {os.path.basename(p) for p in out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", nargs="+", type=Path,
                    default=[REPO / ".cache/lines/train-all.npz", REPO / ".cache/lines/train.npz"])
    ap.add_argument("--skip", nargs="*", default=["synthetic"], help="leave out pages starting with these")
    ap.add_argument("--text", nargs="*", type=Path, default=[], help="plain-text files (UTF-8), one line each")
    ap.add_argument("--order", type=int, default=7)
    ap.add_argument("--prune", type=int, default=1, help="drop n-grams of order >= 3 seen at most this often")
    ap.add_argument("--into", type=Path, default=REPO / "models/htrconvtext-small.pt",
                    help="the model file that carries it (rewritten atomically, weights unchanged)")
    ap.add_argument("-o", "--output", type=Path, help="write a separate .lm.npz instead (for --lm FILE)")
    args = ap.parse_args()
    forbidden = forbidden_pages()
    texts: list[str] = []
    sources = []
    for path in args.lines:
        t, pages = cache_texts(path, tuple(args.skip))
        bad = sorted({p for p in pages if Path(p).stem in forbidden})
        if bad:
            sys.exit(f"{path}: holds evaluation pages ({len(bad)}, e.g. {bad[0]}); refusing to build from it")
        texts += t
        sources.append({"file": path.name, "lines": len(t), "pages": len(set(pages))})
    for path in args.text:
        t = path.read_text(encoding="utf-8").splitlines()
        texts += t
        sources.append({"file": path.name, "lines": len(t)})
    start = time.perf_counter()
    lm = CharNgramLM.from_texts(texts, order=args.order, prune=args.prune,
                                meta={"sources": sources, "built_by": "scripts/build_lm.py"})
    seconds = time.perf_counter() - start
    data = lm.to_bytes()
    if args.output is not None:
        target = lm.save(args.output)
    else:
        target = set_language_model(args.into, data)
    report = {**lm.describe(), "build_seconds": round(seconds, 2), "file": str(target), "lm_bytes": len(data),
              "file_bytes": target.stat().st_size}
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
