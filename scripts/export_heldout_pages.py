"""Write the held-out pages of the training repositories as files, for scoring the segmentation on collections
other than ../shared/data (``benchmarks/segmentation.py --data OUT``):

    python scripts/export_heldout_pages.py --repos /work/.mirror --out .cache/pages/validation
    python benchmarks/segmentation.py --data .cache/pages/validation --per-page

Each repository of scripts/training_repos.json is read at its pinned commit (as ``build_repo_cache.py`` reads
it); the pages of its ``--split`` documents of scripts/heldout.json are written to ``OUT/<name>/`` in the
repository's layout, each XML with its image beside it. Never commit what this writes: the repositories'
licences and docs/training.md's rules apply to it.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import build_repo_cache as brc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repos", type=Path, required=True, help="the folder with a copy of every repository")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--split", choices=["validation", "test"], default="validation")
    ap.add_argument("--shared", type=Path, default=Path("../shared"))
    args = ap.parse_args()
    registry = json.loads(brc.REGISTRY.read_text(encoding="utf-8"))["repos"]
    heldout = json.loads(brc.HELDOUT.read_text(encoding="utf-8"))
    warnings.simplefilter("ignore")
    for entry in registry:
        name = entry["name"]
        git = brc.find_git(args.repos, entry["repo"])
        tree = brc.ls_tree(git, entry["commit"])
        xmls, _, doc = brc.pages_of(entry, tree, args.shared)
        chosen = set(heldout[name][args.split])
        written = [p for p in xmls if doc[p] in chosen
                   and brc.write_page(git, p, tree, args.out / name)[0] is not None]
        print(json.dumps({"name": name, "split": args.split, "pages": len(written)}), flush=True)


if __name__ == "__main__":
    main()
