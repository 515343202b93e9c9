"""Reading a page from scratch (the app's segmentation, then recognition) scored against ground truth by position:
``scoring.line_groups`` / ``end_to_end_pairs`` and ``htrgui evaluate --segment``."""

from __future__ import annotations

import json
import os

import numpy as np

from htrgui.core.segmentation.scoring import end_to_end_pairs, line_groups

PAGE = "poilus/batch-1/TestamentsDePoilus_will_AN_0232-2"


def _box(x0, y0, x1, y1):
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def _line(x0, y0, x1, y1, text=""):
    return (_box(x0, y0, x1, y1), [(x0, y1 - 10), (x1, y1 - 10)], text)


TRUTH = [_line(0, 0, 1000, 50, "hello world"), _line(0, 60, 1000, 110, "second line"),
         _line(0, 120, 1000, 170, "third"), _line(0, 300, 300, 350, "Paris,"), _line(320, 300, 1000, 350, "le 3 mai"),
         _line(0, 420, 1000, 470, "never found")]


def test_split_merged_missing_and_stray_lines_cost_what_the_user_retypes():
    found = [
        _line(520, 4, 1000, 52, "world"), _line(0, 4, 480, 52, "hello"),  # one true line split in two
        _line(0, 62, 1000, 160, "second line thrd"),  # two lines of writing merged into one
        _line(0, 302, 1000, 352, "Paris, le 3 mai"),  # one line of writing the transcriber cut in two
        _line(0, 600, 300, 650, "note"),  # text where the truth has no line
    ]
    geometry = [(p, b) for p, b, _ in found]
    assert sorted(map(sorted, (g for g, _ in line_groups([(p, b) for p, b, _ in TRUTH], geometry)))) == [
        [], [0], [1, 2], [3, 4], [5]]
    pairs = end_to_end_pairs(TRUTH, found)
    # each side of a group is read in reading order: the pieces of a split line left to right, merged lines
    # top to bottom, a transcriber's two lines side by side as the one line found; a missing line costs all
    # its characters, stray text its own
    assert sorted(pairs) == sorted([("hello world", "hello world"), ("second line thrd", "second line third"),
                                    ("Paris, le 3 mai", "Paris, le 3 mai"), ("", "never found"), ("note", "")])
    # outside every region that the truth transcribed, stray text is not judged (stamps, notes left out)
    pairs = end_to_end_pairs(TRUTH, found, regions=[_box(0, 0, 1000, 500)])
    assert ("note", "") not in pairs and len(pairs) == 4
    # a found line whose tall polygon reaches a fifth of its area into the next true line links only its own
    tall = [_line(0, -10, 1000, 80, "hello world"), _line(0, 80, 1000, 112, "second line")]
    assert sorted(map(sorted, (t for t, _ in line_groups([(p, b) for p, b, _ in TRUTH[:2]],
                                                          [(p, b) for p, b, _ in tall])))) == [[0], [1]]
    # a group whose true lines have no text is not judged either (a line the transcriber left empty)
    blank = [(p, b, "") for p, b, _ in TRUTH]
    assert end_to_end_pairs(blank, found, regions=[_box(0, 0, 1000, 500)]) == []


def test_lines_without_polygons_count_by_their_baseline():
    truth = [([], [(0, 40), (1000, 40)], "a"), ([], [(0, 140), (1000, 140)], "b")]
    found = [([], [(10, 138), (990, 142)], "b"), ([], [(0, 600), (100, 600)], "c")]
    geometry = [(p, b) for p, b, _ in found]
    assert sorted(line_groups([(p, b) for p, b, _ in truth], geometry)) == [([], [1]), ([0], []), ([1], [0])]
    assert sorted(line_groups([], geometry)) == [([], [0]), ([], [1])]
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
