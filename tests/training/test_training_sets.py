"""The training sets: one transcription convention, and line caches cut from a git repository at a pinned
commit with whole documents held out by a fixed rule (scripts/build_repo_cache.py)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from htrgui.core.training.conventions import BASE_ALPHABET, implied_alphabet, normalise, usable
from htrgui.core.training.data import LineSet

REPO = Path(__file__).resolve().parents[2]


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("raw, expected", [
    ("l'homme", "l’homme"),                      # one apostrophe
    ("“Paris”  —  1858", '"Paris" - 1858'),       # quotes, dashes, spaces
    ("ſoldat ¬", "soldat -"),                     # long s, line-break mark
    ("le 3 ⁊ le 4", "le 3 & le 4"),               # Tironian et
    ("Mͬ Dupont", "M^r Dupont"),                  # combining superscript r -> the ^ convention
    ("cõme", "cõme"),                             # an abbreviation tilde is written: kept
    ("e\u0301te\u0301", "été"),                   # NFC
    ("« Oui »\u00a0!", "« Oui » !"),              # guillemets kept, no-break space folded
])
def test_normalise_unifies_spellings_of_one_glyph(raw, expected):
    assert normalise(raw) == expected
    assert normalise(normalise(raw)) == normalise(raw)  # idempotent


def test_alphabet_keeps_frequent_and_base_letters_only():
    texts = [normalise(t) for t in ["abc ꝑ", "abc"] * 3 + ["À la ligne ε"]]
    alphabet = implied_alphabet(texts, min_count=5)
    assert {"a", "b", "c", " "} <= alphabet and "À" in BASE_ALPHABET and "À" in alphabet
    assert "ꝑ" not in alphabet and "ε" not in alphabet
    assert usable("abc", alphabet) and not usable("abc ꝑ", alphabet) and not usable("", alphabet)


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def repo_copy(tmp_path, page_files):
    """A git repository of three documents (two real pages with their scans, one page whose scan is
    missing), committed, like a clone of one of the closed-list repositories."""
    from htrgui.core.io import read_document

    root = tmp_path / "repos" / "demo"
    for doc, xml in zip(("doc-a", "doc-b", "doc-c"), page_files):
        folder = root / "data" / doc
        folder.mkdir(parents=True)
        shutil.copy(xml, folder / xml.name)
        if doc != "doc-c":
            image = read_document(xml).image_path
            shutil.copy(image, folder / image.name)
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "pages")
    return root, _git(root, "rev-parse", "HEAD")


def test_repository_becomes_line_caches_with_held_out_documents(repo_copy, tmp_path, shared_data):
    build = _script("build_repo_cache")
    root, commit = repo_copy
    entry = {"name": "demo", "repo": "someone/demo", "commit": commit, "include": ["data/*.xml"],
             "exclude": [], "documents": "folder", "regions": []}
    heldout, out = tmp_path / "heldout.json", tmp_path / "lines"
    out.mkdir()
    report = build.build(entry, root.parent, out, shared_data.parent, 1, heldout)

    assert report["pages"] == 3 and report["pages_skipped"] == {"image not in the repository": 1}
    chosen = json.loads(heldout.read_text())["demo"]
    assert chosen["commit"] == commit and chosen["test"]            # whole documents, by the fixed rule
    held = set(chosen["test"]) | set(chosen["validation"])
    train = LineSet.load(out / "demo-train.npz")
    assert len(train) == report["train_lines"] > 0
    assert all(im.shape[0] == 64 and im.dtype.name == "uint8" for im in train.images)
    assert not {str(Path(p.split("/", 1)[1]).parent) for p in train.pages} & held  # no held-out page trained on
    assert all(t == normalise(t) for t in train.texts)
    assert report["train_lines"] + report["validation_lines"] + report["test_lines"] == len(train) + sum(
        len(LineSet.load(out / f"demo-{s}.npz")) for s in ("validation", "test") if (out / f"demo-{s}.npz").exists())

    # the same training documents cut as the app's segmentation finds their lines: the texts of true lines
    # found whole, from training pages only; the held-out documents are not cut this way
    seg = build.build(entry, root.parent, out, shared_data.parent, 1, heldout, crops="segmentation")
    found = LineSet.load(out / "demo-train-seg.npz")
    assert seg["crops"] == "segmentation" and len(found) == seg["train_lines"] > 0
    assert 0.5 < seg["found_whole"] <= 1 and seg["truth_lines"] >= len(found)
    assert set(found.pages) <= set(train.pages) and all(im.shape[0] == 64 for im in found.images)
    by_page = {}
    for text, page in zip(train.texts, train.pages):
        by_page.setdefault(page, []).append(text)
    assert all(t in by_page[p] for t, p in zip(found.texts, found.pages))
    assert not list(out.glob("demo-validation-seg*")) and not list(out.glob("demo-test-seg*"))

    # the held-out pages as files (scripts/export_heldout_pages.py): the XML with its scan beside it, readable
    # as a page of the app; the page whose scan the repository lacks is left out, with the reason
    from htrgui.core.imaging import load_page_image
    from htrgui.core.io import read_document

    tree = build.ls_tree(root / ".git", commit)
    xmls, _, doc = build.pages_of(entry, tree, shared_data.parent)
    written = {p: build.write_page(root / ".git", p, tree, tmp_path / "pages") for p in xmls}
    assert sum(local is not None for local, _ in written.values()) == 2
    assert [why for local, why in written.values() if local is None] == ["image not in the repository"]
    assert len(list((tmp_path / "pages").rglob("*.xml"))) == 2  # the page left out leaves no file behind
    for p, (local, _) in written.items():
        if local is not None:
            page = read_document(local)
            assert local == tmp_path / "pages" / p and page.lines() and load_page_image(page).size > 0

    # once chosen, the held-out documents never change: a rebuild keeps them, another commit is refused
    before = heldout.read_text()
    build.build(entry, root.parent, out, shared_data.parent, 1, heldout)
    assert heldout.read_text() == before
    (root / "README.md").write_text("a later commit")
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "later")
    with pytest.raises(SystemExit, match="never changed"):
        build.build(dict(entry, commit=_git(root, "rev-parse", "HEAD")), root.parent, out, shared_data.parent, 1,
                    heldout)


def test_document_rules():
    build = _script("build_repo_cache")
    assert build.document_of("alto/imp_wikitexte_0164_1.xml", "stem") == "imp_wikitexte_0164"
    assert build.document_of("alto/imp_wikitexte_0164.xml", "stem") == "imp_wikitexte_0164"
    assert build.document_of("data/test/test_B.18.chine4_0003.xml", "notebook") == "B.18.chine4"
    blocks = build.register_blocks([f"data/reg/p{i}.xml" for i in range(25)])
    assert blocks["data/reg/p2.xml"] == blocks["data/reg/p9.xml"] != blocks["data/reg/p10.xml"]
    assert len(set(blocks.values())) == 3
    held = build.choose_heldout({f"d{i}": 100 for i in range(40)}, "x")
    assert len(held["test"]) == 2 and len(held["validation"]) == 2  # 5 % of the lines each
    assert build.choose_heldout({f"d{i}": 100 for i in range(40)}, "x") == held  # a fixed rule
    two = build.choose_heldout({"a": 10, "b": 10}, "y")
    assert len(two["test"]) + len(two["validation"]) == 1  # a document is always left to train on
