"""Reading a page from scratch (the app's segmentation, then recognition) scored against ground truth by position:
``scoring.assign_lines`` / ``end_to_end_pairs`` and ``htrgui evaluate --segment``."""

from __future__ import annotations

import json
import os

import numpy as np

from htrgui.core.segmentation.scoring import assign_lines, end_to_end_pairs

PAGE = "poilus/batch-1/TestamentsDePoilus_will_AN_0232-2"


def _box(x0, y0, x1, y1):
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def _line(x0, y0, x1, y1, text=""):
    return (_box(x0, y0, x1, y1), [(x0, y1 - 10), (x1, y1 - 10)], text)


TRUTH = [_line(0, 0, 1000, 50, "hello world"), _line(0, 60, 1000, 110, "second line"),
         _line(0, 120, 1000, 170, "third")]


def test_split_merged_missing_and_stray_lines_cost_what_the_user_retypes():
    found = [
        _line(520, 4, 1000, 52, "world"), _line(0, 4, 480, 52, "hello"),  # one true line split in two
        _line(0, 62, 1000, 160, "second line third"),  # two true lines merged: the larger overlap wins
        _line(0, 400, 300, 450, "note"),  # text where the truth has no line
    ]
    geometry = [(p, b) for p, b, _ in found]
    assert assign_lines([(p, b) for p, b, _ in TRUTH], geometry) == [0, 0, 1, None]
    pairs = end_to_end_pairs(TRUTH, found)
    # pieces are put back left to right, the merged line is compared with one line and the other is missing,
    # the stray line is extra text
    assert sorted(pairs) == sorted([("hello world", "hello world"), ("second line third", "second line"),
                                    ("", "third"), ("note", "")])
    # outside every region that the truth transcribed, stray text is not judged (stamps, notes left out)
    pairs = end_to_end_pairs(TRUTH, found, regions=[_box(0, 0, 1000, 200)])
    assert ("note", "") not in pairs and len(pairs) == 3


def test_lines_without_polygons_count_by_their_baseline():
    truth = [([], [(0, 40), (1000, 40)], "a"), ([], [(0, 140), (1000, 140)], "b")]
    found = [([], [(10, 138), (990, 142)], "b"), ([], [(0, 600), (100, 600)], "c")]
    assert assign_lines([(p, b) for p, b, _ in truth], [(p, b) for p, b, _ in found]) == [1, None]
    assert assign_lines([], [(p, b) for p, b, _ in found]) == [None, None]
    assert end_to_end_pairs([], []) == []


def _evaluate(args, capsys):
    from htrgui.cli import main

    assert main(["evaluate", "--threads", "1", "--lm", "none", *args]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_cli_reads_a_real_page_from_scratch(shared_data, tmp_path, capsys):
    import cv2

    from htrgui.core.io import read_document
    from htrgui.core.pagewrite import write_page

    xml = shared_data / f"{PAGE}.xml"
    on_truth = _evaluate(["--errors", "5", str(xml)], capsys)
    errors = on_truth["errors"]  # what the reading got wrong adds up to its edits
    assert sum(errors["edits"].values()) == on_truth["char_edits"] == errors["char_edits"]
    assert len(errors["confusions"]) == 5 and all(0 <= v <= on_truth["cer"] for v in errors["cer_without"].values())
    scratch = _evaluate(["--segment", str(xml)], capsys)
    # the same truth is scored (every transcribed character), from lines the segmentation found
    assert scratch["lines_from"] == "segmentation" and scratch["lines_found"] >= on_truth["lines"]
    assert scratch["chars"] == on_truth["chars"] and 0 < scratch["cer"] < 0.5

    # the same page over a blank sheet: nothing is found, every character of the truth is missing
    page = read_document(xml)
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((page.height, page.width), 235, np.uint8))
    page.image_filename = os.path.relpath(blank, tmp_path)
    write_page(page, tmp_path / "blank.xml")
    empty = _evaluate(["--segment", "--errors", "3", str(tmp_path / "blank.xml")], capsys)
    assert empty["lines_found"] == 0 and empty["cer"] == 1.0 and empty["chars"] == on_truth["chars"]
    assert empty["errors"]["edits"] == {"substitutions": 0, "deletions": empty["chars"], "insertions": 0}
    assert all(c["read"] == "" for c in empty["errors"]["confusions"])
