"""The core tasks the CLI and the GUI both drive (core/tasks): real LECTAUREP pages, an untrained tiny model
(the wiring, not the readings), the verified-line rule, the model cache, export and segmentation jobs."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import pytest

from htrgui.core.editing import apply_recognition, open_to_model
from htrgui.core.errors import Cancelled
from htrgui.core.progress import CancelToken, Progress
from htrgui.core.tasks.pages import PageTask
from htrgui.core.tasks.recognize import (ModelCache, RecognitionResult, RecognizerSpec, load_recognizer,
                                         recognize_pages)


@pytest.fixture
def tiny(shared_data, tmp_path) -> Path:
    import torch

    from htrgui.core.recognition.checkpoint import save_checkpoint
    from htrgui.core.recognition.codec import Codec
    from htrgui.core.recognition.model import build_model

    codec = Codec.from_texts(["abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 éèà.,'-"])
    torch.manual_seed(0)
    model = build_model("tiny", num_classes=codec.num_classes)
    with torch.no_grad():
        model.head.bias[0] -= 3.0  # writes something on every line
    return save_checkpoint(tmp_path / "tiny-task.pt", model, codec, half=False, provenance={"name": "tiny-task"})


def _first_lines(page, n):
    """The page cut to its first ``n`` lines (keeps the test short on one CPU thread)."""
    kept = {line.id for line in list(page.lines())[:n]}
    for region in page.regions:
        region.lines = [line for line in region.lines if line.id in kept]
    page.regions = [r for r in page.regions if r.lines]
    return page


def test_recognition_task_never_reads_nor_writes_a_verified_line(verified_project, tiny):
    project = verified_project({"a": 3, "b": 0})
    pages = {e.name: _first_lines(project.load_page(e), 6) for e in project.entries}
    for page in pages.values():
        project.save_page(page)
    # page a is "loaded" (its lines given), page b is read in the job (as the window does for pages not loaded)
    a, b = project.entries
    tasks = [PageTask(0, a.image_path, lines=list(pages["a"].lines()), name="a"),
             PageTask(1, b.image_path, load=partial(project.load_page, b), name="b")]
    items = list(recognize_pages(tasks, lambda: load_recognizer(RecognizerSpec(str(tiny), "cpu")), CancelToken()))
    results = [i for i in items if isinstance(i, RecognitionResult)]
    assert [r.index for r in results] == [0, 1] and not any(r.error for r in results)
    verified_a = [line.id for line in pages["a"].lines() if not open_to_model(line)]
    assert len(verified_a) == 3 and not set(verified_a) & set(results[0].lines)
    assert len(results[0].lines) == 3 and len(results[1].lines) == 6
    assert results[0].stored is None and results[1].stored is not None  # the page read in the job comes back
    assert all(r.model_id == "model:tiny-task" for r in results)
    # applying: verified lines keep their ground truth even when a result names them
    truth = {line.id: line.text for line in pages["a"].lines()}
    forged = dict(results[0].lines, **{lid: ("overwritten", 0.1, [0.1]) for lid in verified_a})
    report = apply_recognition(pages["a"], forged, "model:x").result
    assert report.kept_verified == 3
    assert all(pages["a"].find_line(lid)[1].text == truth[lid] for lid in verified_a)
    assert isinstance(items[-1], Progress) and items[-1].done == items[-1].total


def test_a_page_that_cannot_be_read_is_reported_and_the_job_goes_on(verified_project, tiny, tmp_path):
    project = verified_project({"a": 0})
    page = _first_lines(project.load_page(project.entries[0]), 2)
    missing = tmp_path / "gone.jpg"
    tasks = [PageTask(0, missing, lines=list(page.lines()), name="gone"),
             PageTask(1, page.image_path, lines=list(page.lines()), name="a")]
    results = [i for i in recognize_pages(tasks, lambda: load_recognizer(RecognizerSpec(str(tiny), "cpu")))
               if isinstance(i, RecognitionResult)]
    assert results[0].error and "gone.jpg" in results[0].error and not results[0].lines
    assert not results[1].error and len(results[1].lines) == 2


def test_cancelling_stops_between_batches(verified_project, tiny):
    project = verified_project({"a": 0})
    page = project.load_page(project.entries[0])  # 95 lines
    token = CancelToken()
    gen = recognize_pages([PageTask(0, page.image_path, lines=list(page.lines()))],
                          lambda: load_recognizer(RecognizerSpec(str(tiny), "cpu")), token)
    lines = 0
    with pytest.raises(Cancelled):
        for item in gen:
            if isinstance(item, Progress) and item.done:
                lines += 1
                token.cancel()
    assert 1 <= lines <= 8  # the batch under way finishes, no more


def test_model_cache_loads_once_and_again_when_the_file_changes(tiny):
    cache = ModelCache()
    first = load_recognizer(RecognizerSpec(str(tiny), "cpu"), cache)
    assert load_recognizer(RecognizerSpec(str(tiny), "cpu", "none"), cache) is first and cache.loads == 1
    stat = tiny.stat()
    os.utime(tiny, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a fine-tune rewrote the file
    assert load_recognizer(RecognizerSpec(str(tiny), "cpu"), cache) is not first and cache.loads == 2


def test_export_project_writes_every_format_and_reports_bad_pages(verified_project, tmp_path):
    from htrgui.core.tasks.export import export_project

    project = verified_project({"a": 2, "b": 0})
    project.entries[1].xml_path.write_text("<PcGts>broken", encoding="utf-8")
    out = tmp_path / "out"
    items = list(export_project(project, project.entries, out, ["page", "txt"]))
    assert [p.done for p in items] == [1, 2, 3, 4]
    errors = [p.info["error"] for p in items if "error" in p.info]
    assert len(errors) == 2 and all("b" in e for e in errors)
    assert (out / "PAGE" / "a.xml").is_file() and (out / "text" / "a.txt").read_text(encoding="utf-8").strip()


def test_segment_all_skips_pages_with_lines_read_in_the_job(verified_project, tmp_path):
    import shutil

    from htrgui.core.tasks.segment import Segmented, segment_pages

    project = verified_project({"a": 0})
    entry = project.entries[0]
    shutil.copy(entry.image_path, entry.image_path.with_name("new.jpg"))
    from htrgui.core.project import Project

    project = Project.open(project.folder)
    tasks = [PageTask(i, e.image_path, e.page_index, load=partial(project.load_page, e))
             for i, e in enumerate(project.entries)]
    done = [s for s in segment_pages(tasks, only_empty=True) if isinstance(s, Segmented)]
    by_name = {Path(s.path).stem: s for s in done}
    assert by_name["a"].skipped and by_name["a"].stored.counts().lines == 95
    assert not by_name["new"].skipped and by_name["new"].page.counts().lines > 20


def test_a_word_list_is_mixed_into_the_language_model_and_a_bad_one_left_out_with_a_reason(tiny, tmp_path):
    """The preferences' word list joins the language model at lm.TEXT_WEIGHT (built once per file); a file
    that cannot be used is left out, the recognition goes on with the shipped language model and says why."""
    from htrgui.core.recognition.lm import TEXT_WEIGHT, model_lm

    words = tmp_path / "english.txt"
    words.write_text("\n".join(["funeral", "zymurgy", "Stanford", "University", "Sincerely", "yours"] * 3),
                     encoding="utf-8")
    spec = RecognizerSpec(str(tiny), "cpu", "model", extra_text=str(words))
    lm = load_recognizer(spec).lm
    assert spec.problem == "" and len(lm.components) == 2
    assert lm.components[0] is model_lm(tiny) and lm.weights[1] == pytest.approx(TEXT_WEIGHT)
    english = lm.components[1]
    assert english.meta["source"] == "english.txt"
    # what the list teaches: after "zymurg" a y, far likelier than in the shipped model alone
    assert english.distribution("zymurg")["y"] > 0.5 and lm.components[0].distribution("zymurg")["y"] < 0.1
    assert load_recognizer(RecognizerSpec(str(tiny), "cpu", "model", extra_text=str(words))).lm.components[1] \
        is english  # read once, not at every recognition
    for bad, why in ((tmp_path / "missing.txt", "cannot read"), (tiny, "not a plain-text file"),
                     (tmp_path / "empty.txt", "empty")):
        if bad.name == "empty.txt":
            bad.write_text("\n \n", encoding="utf-8")
        spec = RecognizerSpec(str(tiny), "cpu", "project", extra_text=str(bad))
        lm = load_recognizer(spec).lm
        assert why in spec.problem and str(bad.name) in spec.problem
        assert [c for c in lm.components] == [model_lm(tiny)]
    # no language model at all: no word list either
    assert load_recognizer(RecognizerSpec(str(tiny), "cpu", "none", extra_text=str(words))).lm is None


def test_the_bundled_english_word_list_is_named_and_found_where_the_app_is_installed(tiny):
    """``english`` names the word list in resources/ (the preferences and --lexicon take the name): it is
    found, read as a word list and teaches English spelling the shipped language model lacks."""
    from htrgui.core.paths import resources_dir
    from htrgui.core.recognition.lm import BUNDLED_WORD_LISTS, text_lines, word_list_path

    path = word_list_path("english")
    assert path == resources_dir() / BUNDLED_WORD_LISTS["english"] and path.is_file()
    assert (path.parent / "english.copyright").is_file()  # SCOWL's notice travels with its words
    assert word_list_path("my/english") == Path("my/english")  # a path stays a path
    lines = text_lines("english")
    assert len(lines) > 8000 and all(len(line.split()) <= 12 for line in lines)  # 100k words, a dozen a line
    spec = RecognizerSpec(str(tiny), "cpu", "model", extra_text="english")
    english = load_recognizer(spec).lm.components[1]
    assert spec.problem == "" and english.meta["source"] == "english.txt"
    assert english.distribution("thoroug")["h"] > 0.5 and english.distribution("knowledg")["e"] > 0.5
