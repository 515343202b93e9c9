"""Training inputs: ALTO and PAGE files, folders, splits.json lists, IAM-style .ln lists, line caches,
bad input; and ``htrgui train`` end to end on them."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest

from htrgui.core.errors import HtrError
from htrgui.core.training.data import LineSet, expand_sources, load_lineset, make_batches


def _write_ln(real_lines, folder, n=6):
    """An IAM-style set: lines/<id>.png + .txt, and a train.ln naming the images."""
    (folder / "lines").mkdir(parents=True)
    names = []
    for i in range(n):
        name = f"f{i // 3:02d}-000-{i % 3:02d}.png"
        cv2.imwrite(str(folder / "lines" / name), real_lines.images[i])
        (folder / "lines" / name).with_suffix(".txt").write_text(real_lines.texts[i] + "\n", encoding="utf-8")
        names.append(name)
    (folder / "train.ln").write_text("\n".join(names) + "\n", encoding="utf-8")
    return folder / "train.ln"


def test_ln_list_reads_images_and_transcriptions(real_lines, tmp_path):
    lines = load_lineset([str(_write_ln(real_lines, tmp_path))])
    assert lines.texts == real_lines.texts[:6]
    assert all(im.shape == ref.shape for im, ref in zip(lines.images, real_lines.images))
    assert len(lines.page_names()) == 2  # lines of one form are one "page" for validation


def test_ln_lines_get_the_paper_tone_page_crops_get(real_lines, tmp_path):
    """A yellowed scan of a line in an .ln list comes out with white paper, exactly as crop_line cuts the
    same pixels out of a page (paper tone to white, then height 64)."""
    from htrgui.core.document import TextLine
    from htrgui.core.imaging import load_image
    from htrgui.core.recognition.linecrop import crop_line

    line = real_lines.images[0]
    tall = cv2.resize(line, (line.shape[1] * 2, 128), interpolation=cv2.INTER_CUBIC)  # a scan, not 64 high
    paper_bgr = np.array([150, 200, 222], np.float32)  # yellowed paper, darker than white
    scan = np.clip(tall[:, :, None].astype(np.float32) / 255.0 * paper_bgr, 0, 255).astype(np.uint8)
    (tmp_path / "lines").mkdir()
    cv2.imwrite(str(tmp_path / "lines" / "y01-000-00.png"), scan)
    (tmp_path / "lines" / "y01-000-00.txt").write_text(real_lines.texts[0] + "\n", encoding="utf-8")
    (tmp_path / "train.ln").write_text("y01-000-00.png\n", encoding="utf-8")

    got = load_lineset([str(tmp_path / "train.ln")]).images[0]
    gray = load_image(tmp_path / "lines" / "y01-000-00.png", mode="L")
    assert np.percentile(gray, 90) < 215  # the file's paper really is dark
    h, w = gray.shape
    whole = TextLine(id="l", polygon=[(0, 0), (w - 1, 0), (w - 1, h - 1), (0, h - 1)], baseline=[])
    expected = crop_line(gray, whole)
    assert got.shape == expected.shape and got.shape[0] == 64
    assert np.array_equal(got, expected)
    assert np.percentile(got, 90) >= 250 and got.min() < 128  # white paper, ink kept


def test_alto_and_page_give_the_same_lines(page_files, real_lines, tmp_path):
    from htrgui.core.io import read_document
    from htrgui.core.pagexml import write_page

    alto = page_files[0]
    page = read_document(alto)
    shutil.copy(page.image_path, tmp_path / page.image_path.name)
    write_page(page, tmp_path / "page.xml")
    from_alto = load_lineset([str(alto)])
    from_page = load_lineset([str(tmp_path / "page.xml")])
    assert from_page.texts == from_alto.texts == [t for t, p in zip(real_lines.texts, real_lines.pages)
                                                    if p == str(alto)]
    assert all(np.array_equal(a, b) for a, b in zip(from_alto.images, from_page.images))


def test_splits_json_folder_and_cache(shared_data, page_files, real_lines, tmp_path):
    docs, _ = expand_sources([f"{shared_data / 'splits.json'}:general/validation"])
    assert len(docs) == 49 and all(d.suffix == ".xml" and d.is_file() for d in docs)
    listing = tmp_path / "pages.json"
    listing.write_text(json.dumps({"mine": [str(p.with_suffix("")) for p in page_files]}))
    assert expand_sources([f"{listing}:mine"])[0] == page_files
    folder = tmp_path / "pages"
    folder.mkdir()
    for p in page_files[:2]:
        shutil.copy(p, folder / p.name)
    with pytest.raises(HtrError, match="not found"):  # a copied ALTO without its image is named
        load_lineset([str(folder)])
    real_lines.save(tmp_path / "cache.npz")
    again = LineSet.load(tmp_path / "cache.npz")
    assert again.texts == real_lines.texts and again.pages == real_lines.pages
    assert all(np.array_equal(a, b) for a, b in zip(again.images, real_lines.images))
    # each crop its own contiguous array, not a view into the cache: a view's row stride is the cache's whole
    # width, past 2^31 bytes in a cache of over 2 GiB, where OpenCV's 32-bit row offsets made cv2 segfault
    assert all(im.flags.c_contiguous and im.base is None for im in again.images)


@pytest.mark.parametrize("spec, message", [
    ("missing.xml", "no such file"),
    ("notes.txt", "not a PAGE/ALTO"),
    ("list.json:general/nope", "no list 'general/nope'"),
    ("list.json", "not a list of page paths"),
])
def test_bad_sources_are_named(tmp_path, spec, message):
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "list.json").write_text(json.dumps({"general": {"train": ["a"]}}))
    with pytest.raises(HtrError, match=message):
        expand_sources([str(tmp_path / spec)])


def test_ln_with_missing_transcription_is_refused(real_lines, tmp_path):
    ln = _write_ln(real_lines, tmp_path, n=2)
    next((tmp_path / "lines").glob("*.txt")).unlink()
    with pytest.raises(HtrError, match="no transcription"):
        load_lineset([str(ln)])


def test_batches_cover_every_line_once_and_respect_the_budget():
    rng = np.random.default_rng(0)
    widths = list(rng.integers(50, 2000, 300))
    batches = make_batches(widths, 8000, rng, multiple=64)
    assert sorted(i for b in batches for i in b) == list(range(300))
    for b in batches:
        padded = max(-(-widths[i] // 64) * 64 for i in b)
        assert len(b) == 1 or len(b) * padded <= 8000


def test_cli_trains_on_ln_and_alto(real_lines, page_files, tmp_path, capsys):
    from htrgui.cli import main
    from htrgui.core.recognition.checkpoint import load_checkpoint

    ln = _write_ln(real_lines, tmp_path / "iam")
    out = tmp_path / "model.pt"
    rc = main(["train", "--train", str(ln), str(page_files[1]), "--val", str(page_files[2]), "-o", str(out),
               "--config", "tiny", "--max-steps", "2", "--warmup-steps", "1", "--no-augment"])
    assert rc == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["steps"] == 2 and report["output"] == str(out)
    loaded = load_checkpoint(out)
    assert set("".join(real_lines.texts[:6])) <= set(loaded.codec.to_list())
    assert (tmp_path / "model.pt.train" / "last.pt").is_file()


def test_cli_refuses_a_run_without_a_limit(page_files, tmp_path, capsys):
    from htrgui.cli import main

    rc = main(["train", "--train", str(page_files[0]), "-o", str(tmp_path / "m.pt")])
    assert rc == 2 and "give a limit" in capsys.readouterr().err


def test_finetune_lines_come_from_verified_lines_of_pages(page_files, real_lines):
    from htrgui.core.io import read_document
    from htrgui.core.training.data import LineSet
    from htrgui.core.training.finetune import VerifiedPages, lines_from_pages
    from htrgui.core.training.holdout import HeldOutRule, pick_held_out

    pages = [read_document(p) for p in page_files[:2]]
    first = list(pages[0].lines())[0]
    first.set_text(first.text, source="model:x", status="predicted")  # not verified: not trained on
    lines = [x for x in lines_from_pages(pages) if isinstance(x, LineSet)][-1]
    expected = [t for t, p in zip(real_lines.texts, real_lines.pages) if p in map(str, page_files[:2])]
    assert lines.texts == expected[1:]
    assert len(lines.page_names()) == 2
    counts = VerifiedPages.of(pages).by_key()
    assert sorted(counts.values()) == sorted([lines.pages.count(k) for k in lines.page_names()])
    assert len(pick_held_out(counts, HeldOutRule(min_train=5, min_held=5)).held_out) == 1
    with pytest.raises(HtrError, match="on one page"):
        pick_held_out(dict(list(counts.items())[:1]), HeldOutRule(min_train=2, min_held=2))


def test_cli_names_an_unknown_config(page_files, tmp_path, capsys):
    from htrgui.cli import main

    rc = main(["train", "--train", str(page_files[0]), "--val", str(page_files[1]), "-o", str(tmp_path / "m.pt"),
               "--config", "huge", "--max-steps", "1"])
    assert rc == 2 and "unknown model config 'huge'" in capsys.readouterr().err


def test_cli_fine_tunes_a_base_and_never_overwrites_it(real_lines, page_files, tmp_path, capsys):
    from htrgui.cli import main
    from htrgui.core.recognition.model import build_model
    from htrgui.core.training import modelio

    codec = modelio.new_codec(set("abcdefghijklmnopqrstuvwxyz "))  # the data brings capitals, accents...
    base = tmp_path / "base.pt"
    modelio.save(base, build_model("tiny", codec.num_classes), codec, {})
    before = base.read_bytes()
    out = tmp_path / "tuned.pt"
    rc = main(["train", "--base", str(base), "--train", str(page_files[0]), str(page_files[1]),
               "--val", str(page_files[2]), "-o", str(out), "--max-steps", "2", "--no-augment"])
    assert rc == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out.strip().splitlines()[-1])
    assert report["initial_cer"] is not None and base.read_bytes() == before
    if report["improved"]:
        from htrgui.core.recognition.checkpoint import load_checkpoint

        tuned = load_checkpoint(out)
        assert tuned.codec.to_list()[: len(codec)] == codec.to_list() and len(tuned.codec) > len(codec)
        assert tuned.provenance["base_path"] == str(base)
    else:
        assert not out.exists() and "not better" in captured.err


def test_keep_worse_writes_a_run_its_base_reads_better_even_on_resume(page_files, tmp_path, capsys):
    """Runs meant to be averaged (scripts/soup_models.py) are written even when their base reads better; a run
    ended without --keep-worse gets its model from --resume --keep-worse, which only validates again."""
    from htrgui.cli import main
    from htrgui.core.recognition.checkpoint import load_checkpoint
    from htrgui.core.recognition.model import build_model
    from htrgui.core.training import modelio

    codec = modelio.new_codec(set("abcdefghijklmnopqrstuvwxyz "))
    base = tmp_path / "base.pt"
    modelio.save(base, build_model("tiny", codec.num_classes), codec, {})
    args = ["train", "--base", str(base), "--train", str(page_files[0]), "--val", str(page_files[2]),
            "--max-steps", "1", "--no-augment", "--lr", "10"]  # one wild step: never better than its base
    gated, kept = tmp_path / "gated.pt", tmp_path / "kept.pt"
    assert main([*args, "-o", str(gated)]) == 0
    first = capsys.readouterr()
    report = json.loads(first.out.strip().splitlines()[-1])
    assert not report["improved"] and report["output"] is None and not gated.exists()
    assert "nothing written" in first.err
    assert main([*args, "-o", str(kept), "--keep-worse"]) == 0
    second = capsys.readouterr()
    report = json.loads(second.out.strip().splitlines()[-1])
    assert not report["improved"] and report["output"] == str(kept)
    assert load_checkpoint(kept).provenance["val_cer"] == report["best_cer"] >= report["initial_cer"]
    assert "written although not better" in second.err
    # the gated run's state is kept: resuming it with --keep-worse writes its model without training on
    assert main([*args, "-o", str(gated), "--resume", "--keep-worse"]) == 0
    third = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert gated.exists() and third["steps"] == 1 and third["output"] == str(gated)
