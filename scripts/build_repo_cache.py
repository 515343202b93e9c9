"""Turn the ground-truth repositories of scripts/training_repos.json into line caches for training.

    git clone https://github.com/HTR-United/CREMMA-MSS-17 repos/CREMMA-MSS-17   # ... one clone each
    python scripts/build_repo_cache.py --repos repos --out .cache/lines/repos

Each repository is read at its pinned commit straight from git (``git ls-tree`` / ``git cat-file``; a bare
copy is enough, and files missing from a partial copy are skipped and counted), so a later commit of the
repository never changes the set. For each page: the XML and its image are read, lines with text of the kept
regions are cut as the trainer wants them (uint8, height 64, polygon mask, paper tone to white: the same
``crop_line`` the app uses) and their text is put into the training convention
(``htrgui.core.training.conventions``). Writes per repository ``<name>-train.npz``, ``-validation.npz``,
``-test.npz`` and ``<name>.json`` (counts: pages, lines, pages skipped and why).

``--crops segmentation`` cuts the training documents' lines as the app reads a new scan instead: the page is
segmented by the app and each found line that matches a true line end to end gets that line's text
(``htrgui.core.training.data.segmented_lines``); writes ``<name>-train-seg.npz`` and ``<name>-seg.json`` (how
many of the true lines were found whole). Held-out documents are not cut this way: they stay what every
figure is measured on.

Held-out documents: ``scripts/heldout.json``. A repository not yet in it gets its held-out documents by a
fixed rule before any training, and the file is then never changed for it: documents are ordered by the
SHA-1 of their name; test takes documents in that order until it has 5 % of the repository's lines,
validation the next ones until it has 5 %. What a document is depends on the repository (training_repos.json:
a folder, a writer's copy, a notebook, or a block of 10 consecutive pages of a single register). Lines are
counted on the pages whose image the copy at hand has (ours lacked files of 4 MiB and more); once written,
the list is what counts, so a full clone gets the same held-out documents.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from multiprocessing import Pool
from pathlib import Path, PurePosixPath

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from htrgui.core.imaging import IMAGE_SUFFIXES  # noqa: E402
from htrgui.core.training.conventions import normalise  # noqa: E402
from htrgui.core.training.data import HEIGHT, LineSet  # noqa: E402

HERE = Path(__file__).resolve().parent
REGISTRY = HERE / "training_repos.json"
HELDOUT = HERE / "heldout.json"
HELD_SHARE = 0.05  # of a repository's lines, for test and again for validation
BLOCK = 10         # pages per pseudo-document of a single register


# --------------------------------------------------------------------------------------------- git

def find_git(root: Path, repo: str) -> Path:
    """The git directory of ``owner/name`` under ``root``: a clone ``root/name``, ``root/owner+name/repo``
    (a bare mirror) or ``root/owner+name``."""
    owner, name = repo.split("/")
    for cand in (root / name, root / f"{owner}+{name}" / "repo", root / f"{owner}+{name}", root / f"{name}.git"):
        if cand.is_dir():
            return cand
    raise SystemExit(f"{repo}: no copy under {root} (git clone https://github.com/{repo} {root / name})")


def ls_tree(git: Path, commit: str) -> dict[str, str]:
    """path -> blob id of every file at ``commit``."""
    res = subprocess.run(["git", "-C", str(git), "ls-tree", "-r", "-z", commit], capture_output=True)
    if res.returncode:
        raise SystemExit(f"{git}: commit {commit} not found ({res.stderr.decode().strip()}); fetch it first")
    out = {}
    for entry in res.stdout.decode("utf-8").split("\0"):
        if entry:
            meta, path = entry.split("\t", 1)
            out[path] = meta.split()[2]
    return out


def blob(git: Path, sha: str) -> bytes | None:
    """A file's bytes, or None when this copy lacks it (partial copies omit large files)."""
    res = subprocess.run(["git", "-C", str(git), "cat-file", "blob", sha], capture_output=True)
    return res.stdout if res.returncode == 0 else None


# ---------------------------------------------------------------------------------------- documents

def document_of(path: str, rule: str) -> str:
    """The document (or writer) a page belongs to, by the repository's rule."""
    p = PurePosixPath(path)
    if rule == "folder":
        return str(p.parent)
    if rule == "stem":                       # imp_wikitexte_0164_1 -> imp_wikitexte_0164 (one writer's copy)
        return re.sub(r"^(.*_\d+)_\d+$", r"\1", p.stem)
    if rule == "notebook":                   # test_B.18.chine4_0003 -> B.18.chine4
        return re.sub(r"_\d+$", "", p.stem.removeprefix("test_"))
    if rule == "register":                   # filled in by register_blocks
        return str(p.parent)
    raise SystemExit(f"unknown document rule {rule!r}")


def _natural(s: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def register_blocks(pages: list[str]) -> dict[str, str]:
    """page -> 'folder#k': blocks of BLOCK consecutive pages (natural order) within each folder."""
    by_folder: dict[str, list[str]] = {}
    for p in pages:
        by_folder.setdefault(str(PurePosixPath(p).parent), []).append(p)
    out = {}
    for folder, ps in by_folder.items():
        for i, p in enumerate(sorted(ps, key=lambda s: _natural(PurePosixPath(s).stem))):
            out[p] = f"{folder}#{i // BLOCK}"
    return out


def choose_heldout(doc_lines: dict[str, int], name: str) -> dict[str, list[str]]:
    """The fixed rule (module doc): documents by SHA-1 of their name, 5 % of lines to test, 5 % to validation."""
    total = sum(doc_lines.values())
    order = sorted(doc_lines, key=lambda d: hashlib.sha1(f"{name}/{d}".encode()).hexdigest())
    held: dict[str, list[str]] = {"test": [], "validation": []}
    counts = {"test": 0, "validation": 0}
    for d in order:
        split = "test" if counts["test"] < HELD_SHARE * total else "validation"
        if split == "validation" and counts["validation"] >= HELD_SHARE * total:
            break
        if len(order) - len(held["test"]) - len(held["validation"]) <= 1:
            break  # always leave a document to train on
        held[split].append(d)
        counts[split] += doc_lines[d]
    return held


# --------------------------------------------------------------------------------------------- pages

def _image_for(xml_path: str, filename: str, tree: dict[str, str]) -> str | None:
    """The repository path of the image an XML file names (same rules as htrgui.core.io.resolve_image)."""
    folder = PurePosixPath(xml_path).parent
    names = [filename.replace("\\", "/")] if filename else []
    names += [PurePosixPath(n).name for n in names]
    for d in (folder, folder.parent):
        for n in names:
            cand = str(PurePosixPath(d) / n)
            if cand in tree:
                return cand
        for suffix in IMAGE_SUFFIXES:  # same stem as the XML (files that do not name their image)
            cand = str(PurePosixPath(d) / (PurePosixPath(xml_path).stem + suffix))
            if cand in tree:
                return cand
    # elsewhere in the repository (alto/ and jpg/ side by side), when the name is unique there
    for n in names[-1:]:
        found = [p for p in tree if PurePosixPath(p).name == n]
        if len(found) == 1:
            return found[0]
    return None


def write_page(git: Path, xml_path: str, tree: dict[str, str], root: Path) -> tuple[Path | None, str | None]:
    """Write one page's XML under ``root`` in the repository's layout, with its image beside it under the
    name the XML gives (where the reader looks first; the repository may keep images in a sibling folder).
    Returns the XML's path, or None and why it was skipped (None too for a page without text)."""
    data = blob(git, tree[xml_path])
    if data is None:
        return None, "xml missing from this copy"
    local = Path(root, *PurePosixPath(xml_path).parts)
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_bytes(data)
    image, skip = _image_beside(git, xml_path, tree, local)
    if image is None:
        local.unlink()  # a page left out leaves no file behind
        return None, skip
    return local, None


def _image_beside(git: Path, xml_path: str, tree: dict[str, str], local: Path) -> tuple[Path | None, str | None]:
    """Write the image of the page at ``local`` beside it: its path, or None and why not."""
    from htrgui.core.io import read_document

    try:
        page = read_document(local)
    except Exception as exc:  # a malformed page is skipped and counted, never fatal for the build
        return None, f"unreadable xml: {exc}"
    if not any(ln.text.strip() for r in page.regions for ln in r.lines):
        return None, None
    img_path = _image_for(xml_path, page.image_filename, tree)
    img = blob(git, tree[img_path]) if img_path else None
    if img is None:
        return None, "image missing from this copy" if img_path else "image not in the repository"
    image = local.parent / PurePosixPath((page.image_filename or img_path).replace("\\", "/")).name
    image.write_bytes(img)
    return image, None


def cut_page(job: tuple) -> dict:
    """Read one page from git and cut its lines: {'lines': [(crop, text, raw)], 'skip': reason or None}."""
    from htrgui.core.imaging import load_page_image
    from htrgui.core.io import read_document
    from htrgui.core.recognition.linecrop import crop_line
    from htrgui.core.training.data import segmented_lines

    git, xml_path, tree, regions, crops = job
    with tempfile.TemporaryDirectory() as td, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        local, skip = write_page(Path(git), xml_path, tree, Path(td))
        if local is None:
            return {"lines": [], "skip": skip}
        try:
            page = read_document(local)  # again, now with its image: size checks and EXIF handling apply
            gray = load_page_image(page, "L")
        except Exception as exc:
            return {"lines": [], "skip": f"image unreadable: {exc}"}
        lines = [ln for r in page.regions if not regions or r.type in regions for ln in r.lines
                 if ln.text.strip()]
        out = []
        if crops == "segmentation":
            for crop, ln in segmented_lines(gray, lines):
                out.append((crop, normalise(ln.text), ln.text))
            return {"lines": out, "skip": None, "truth_lines": len(lines)}
        for ln in lines:
            try:
                crop = crop_line(gray, ln, height=HEIGHT)
            except ValueError:
                continue
            out.append((crop, normalise(ln.text), ln.text))
        return {"lines": out, "skip": None, "truth_lines": len(lines)}


# ---------------------------------------------------------------------------------------------- main

def count_lines(git: Path, xml_paths: list[str], tree: dict[str, str], regions: list[str]) -> dict[str, int]:
    """Lines with text per page whose image this copy has, from the XML (for the held-out rule)."""
    from htrgui.core.io import read_document

    out = {}
    with tempfile.TemporaryDirectory() as td, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for p in xml_paths:
            data = blob(git, tree[p])
            if data is None:
                out[p] = 0
                continue
            f = Path(td) / "x.xml"
            f.write_bytes(data)
            try:
                page = read_document(f)
            except Exception:
                out[p] = 0
                continue
            img = _image_for(p, page.image_filename, tree)
            present = img is not None and subprocess.run(
                ["git", "-C", str(git), "cat-file", "-e", tree[img]], capture_output=True).returncode == 0
            out[p] = sum(1 for r in page.regions if not regions or r.type in regions for ln in r.lines
                         if ln.text.strip()) if present else 0
    return out


def shared_stems(shared: Path) -> set[str]:
    return {p.stem for p in (shared / "data").rglob("*.xml")}


def pages_of(entry: dict, tree: dict[str, str], shared: Path) -> tuple[list[str], int, dict[str, str]]:
    """The repository's page XMLs that count (its include/exclude patterns, pages also in ../shared/data
    left out where asked), how many of those were left out, and each page's document."""
    xmls = sorted(p for p in tree if any(fnmatch.fnmatch(p, pat) for pat in entry["include"])
                  and not any(fnmatch.fnmatch(p, pat) for pat in entry["exclude"]))
    skipped_shared = 0
    if entry.get("skip_shared"):
        known = shared_stems(shared)
        kept = [p for p in xmls if PurePosixPath(p).stem not in known]
        skipped_shared, xmls = len(xmls) - len(kept), kept
    rule = entry["documents"]
    doc = register_blocks(xmls) if rule == "register" else {p: document_of(p, rule) for p in xmls}
    return xmls, skipped_shared, doc


def build(entry: dict, root: Path, out: Path, shared: Path, jobs: int, heldout_file: Path = HELDOUT,
          crops: str = "truth") -> dict:
    """Cut one repository's lines into ``out`` (train/validation/test caches and a report; with ``crops``
    "segmentation" the training documents' lines as the app's segmentation finds them); returns the report."""
    name = entry["name"]
    git = find_git(root, entry["repo"])
    tree = ls_tree(git, entry["commit"])
    xmls, skipped_shared, doc = pages_of(entry, tree, shared)
    rule = entry["documents"]

    heldout = json.loads(heldout_file.read_text(encoding="utf-8")) if heldout_file.is_file() else {}
    if name not in heldout:
        per_page = count_lines(git, xmls, tree, entry["regions"])
        doc_lines: Counter[str] = Counter()
        for p, n in per_page.items():
            doc_lines[doc[p]] += n
        heldout[name] = {"commit": entry["commit"], "rule": rule, **choose_heldout(dict(doc_lines), name)}
        heldout = dict(sorted(heldout.items()))
        heldout_file.write_text(json.dumps(heldout, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"{name}: held-out documents chosen and written to {heldout_file.name}", flush=True)
    if heldout[name]["commit"] != entry["commit"]:
        raise SystemExit(f"{name}: {heldout_file.name} was chosen at commit {heldout[name]['commit']}, the "
                         f"registry pins {entry['commit']}; held-out documents are never changed")
    split_of = {d: s for s in ("test", "validation") for d in heldout[name][s]}

    seg = crops == "segmentation"
    if seg:  # held-out documents keep their true lines only
        xmls = [p for p in xmls if split_of.get(doc[p], "train") == "train"]
    sets = {s: LineSet() for s in (("train",) if seg else ("train", "validation", "test"))}
    skips: Counter[str] = Counter()
    truth_lines = 0
    t0 = time.time()
    jobs_list = [(str(git), p, tree, entry["regions"], crops) for p in xmls]
    pool = Pool(jobs) if jobs > 1 else None
    results = pool.imap(cut_page, jobs_list, chunksize=2) if pool else map(cut_page, jobs_list)
    try:
        for i, (p, res) in enumerate(zip(xmls, results)):
            split = split_of.get(doc[p], "train")
            if split != "test" and any(fnmatch.fnmatch(p, pat) for pat in entry.get("not_for_training", [])):
                skips["not for training"] += 1
                continue
            if res["skip"]:
                skips[res["skip"].split(":")[0]] += 1
            truth_lines += res.get("truth_lines", 0)
            for crop, text, _raw in res["lines"]:
                if text:
                    sets[split].add(crop, text, f"{name}/{p}")
            if (i + 1) % 25 == 0:
                print(f"  {name}: {i + 1}/{len(xmls)} pages, {time.time() - t0:.0f} s", flush=True)
    finally:
        if pool:
            pool.close()
    report = {"name": name, "repo": entry["repo"], "commit": entry["commit"], "pages": len(xmls),
              "pages_skipped": dict(skips), "pages_also_in_shared_data": skipped_shared,
              "documents": len(set(doc.values())),
              **{f"{s}_lines": len(ls) for s, ls in sets.items()},
              **{f"{s}_pages": len(ls.page_names()) for s, ls in sets.items()}}
    tag = "-seg" if seg else ""
    if seg:
        report |= {"crops": "segmentation", "truth_lines": truth_lines,
                   "found_whole": round(len(sets["train"]) / max(1, truth_lines), 4)}
    for s, ls in sets.items():
        if len(ls):
            ls.save(out / f"{name}-{s}{tag}.npz")
        else:
            (out / f"{name}-{s}{tag}.npz").unlink(missing_ok=True)  # a set left empty by a rebuild: no stale file
    (out / f"{name}{tag}.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repos", required=True, help="folder holding a clone (or bare copy) of each repository")
    ap.add_argument("--out", default=".cache/lines/repos")
    ap.add_argument("--shared", default=str(HERE.parent.parent / "shared"))
    ap.add_argument("--only", nargs="*", help="names of training_repos.json to build (default: all)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--crops", choices=["truth", "segmentation"], default="truth",
                    help="cut the true lines (default), or the training documents' lines as the app's "
                         "segmentation finds them (-> <name>-train-seg.npz)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    entries = json.loads(REGISTRY.read_text(encoding="utf-8"))["repos"]
    for entry in entries:
        if args.only and entry["name"] not in args.only:
            continue
        rep = build(entry, Path(args.repos), out, Path(args.shared), args.jobs, crops=args.crops)
        print(json.dumps(rep, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
