"""Replay lines for one-click fine-tuning: the store of earlier corrections and synthetic lines in
handwriting fonts (found in the user's folder, the app, ../shared or the system)."""

from __future__ import annotations

import shutil
import sys
from dataclasses import replace

import numpy as np
import pytest

from htrgui.core.paths import user_data_dir
from htrgui.core.training import replay
from htrgui.core.training.data import LineSet


@pytest.fixture
def fonts(shared_data, monkeypatch):
    """The OFL handwriting fonts of ../shared as the user's font folder."""
    folder = shared_data.parent / "fonts"
    monkeypatch.setenv("HTRGUI_FONTS", str(folder))
    return folder


def test_fonts_are_found_in_order(fonts, tmp_path, monkeypatch):
    assert replay.handwriting_fonts() == [fonts]  # HTRGUI_FONTS first
    monkeypatch.delenv("HTRGUI_FONTS")
    mine = user_data_dir() / "fonts"
    mine.mkdir()
    (mine / "notes.txt").write_text("not a font")
    assert mine not in replay.font_folders()  # a folder without fonts does not count
    shutil.copy(next(fonts.glob("*.ttf")), mine)
    assert replay.handwriting_fonts() == [mine]  # the user's own folder next


@pytest.mark.skipif(sys.platform != "linux", reason="the Linux font folders are what this test fills")
def test_system_script_fonts_are_found_by_name(narrow_lines, fonts, tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".fonts" / "deep").mkdir(parents=True)
    ttf = next(fonts.glob("*.ttf"))
    for name in ("SegoeScript.ttf", "deep/URWChanceryL.otf", "DejaVuSans.ttf", "ScriptNotes.txt"):
        shutil.copy(ttf, home / ".fonts" / name)
    monkeypatch.setenv("HOME", str(home))
    found = [p for p in replay.system_handwriting_fonts() if home in p.parents]
    assert sorted(p.name for p in found) == ["SegoeScript.ttf", "URWChanceryL.otf"]
    # with no font folder at all, those are what replay lines are drawn with
    monkeypatch.delenv("HTRGUI_FONTS")
    monkeypatch.setattr(replay, "font_folders", lambda: [])
    assert set(found) <= set(replay.handwriting_fonts())
    made = replay.synthetic_replay(narrow_lines, 3, fonts=found)
    assert len(made) == 3


def test_synthetic_replay_renders_the_users_words(narrow_lines, fonts):
    made = replay.synthetic_replay(narrow_lines, 30, seed=3)
    assert len(made) == 30 and set(made.pages) == {"synthetic/replay"}
    words = {w.lower() for t in narrow_lines.texts for w in t.split()}
    digits = {str(i) for i in range(2001)}
    used = {w.strip(",.;:-'?!()") for t in made.texts for w in t.split()}
    # words come from the user's lines (capitalised sometimes), or are numbers
    assert all(w.lower() in words or w in digits or not w for w in used)
    assert all(im.dtype == np.uint8 and im.shape[0] == 64 and im.shape[1] > 16 for im in made.images)
    again = replay.synthetic_replay(narrow_lines, 30, seed=3)
    assert again.texts == made.texts  # seeded: a fine-tune can be repeated


def test_no_fonts_or_no_words_give_no_lines(narrow_lines, tmp_path):
    assert len(replay.synthetic_replay(narrow_lines, 10, fonts=tmp_path)) == 0  # empty folder
    assert len(replay.synthetic_replay(narrow_lines, 10, fonts=tmp_path / "missing")) == 0
    assert len(replay.synthetic_replay(LineSet(), 10)) == 0
    assert len(replay.synthetic_replay(narrow_lines, 0)) == 0


def test_store_remembers_projects_and_leaves_out_the_one_being_learnt(narrow_lines, fonts):
    a = LineSet(narrow_lines.images[:12], narrow_lines.texts[:12], narrow_lines.pages[:12])
    b = LineSet(narrow_lines.images[12:20], narrow_lines.texts[12:20], narrow_lines.pages[12:20])
    # synthetic and replayed lines mixed into a training set are not remembered as the user's own
    a_mixed = LineSet().extend(a).extend(replay.synthetic_replay(a, 5))
    assert replay.remember(a_mixed, "/archive/project-a", limit=10) is not None
    assert replay.remember(b, "/archive/project-b") is not None
    from_b = replay.stored_lines(exclude="/archive/project-b")
    assert len(from_b) == 10 and set(from_b.texts) <= set(a.texts)
    assert all(p.startswith("replay/") for p in from_b.pages)
    assert len(replay.stored_lines(exclude="/archive/project-a")) == 8
    assert len(replay.stored_lines()) == 18
    # the store first, synthetic lines for the rest
    mixed = replay.default_replay(b, "/archive/project-b", 25)
    assert len(mixed) == 25 and mixed.pages.count("synthetic/replay") == 15
    # a damaged file in the store is skipped, not fatal
    (replay.replay_dir() / "0000000000000000.npz").write_bytes(b"not a zip")
    assert len(replay.stored_lines()) == 18
    assert replay.remember(replay.synthetic_replay(a, 3), "/archive/only-synthetic") is None


def test_store_keeps_the_newest_projects_only(narrow_lines, monkeypatch):
    import os
    import time

    monkeypatch.setattr(replay, "STORE_LIMIT", 3)
    for i in range(5):
        path = replay.remember(narrow_lines.subset(range(i, i + 2)), f"/p{i}")
        os.utime(path, (time.time() - 100 + i, time.time() - 100 + i))
        replay._prune(replay.replay_dir(), replay.STORE_LIMIT)
    kept = sorted(p.stem for p in replay.replay_dir().glob("*.npz"))
    assert kept == sorted(replay.source_key(f"/p{i}") for i in (2, 3, 4))


def test_one_click_mixes_replay_and_remembers_a_better_models_lines(narrow_lines, tmp_path, fonts):
    from htrgui.core.training.finetune import finetune, finetune_config
    from htrgui.core.training.holdout import HeldOutRule

    from tests.training.test_training_run import _save_tiny

    few = HeldOutRule(min_train=5, min_held=5)  # 27 real lines: the mechanics, below the real minimums
    base = _save_tiny(tmp_path / "base.pt", narrow_lines.subset(range(10)))
    held = narrow_lines.page_names()[1]
    own = len(narrow_lines.split_pages([held])[0])
    cfg = replace(finetune_config(60), config="tiny", max_minutes=None, max_steps=4, lr=3e-3, patience=None)
    progress = list(finetune(str(base), narrow_lines, held_out=[held], source="/archive/letters",
                             replay_fraction=0.5, out_dir=tmp_path / "user", config=cfg, rule=few))
    result = progress[-1]
    assert any("replay" in getattr(p, "message", "") for p in progress)
    assert result.train_lines == own + round(own * 0.5)  # the store is empty: synthetic lines fill in
    stored = list(replay.replay_dir().glob("*.npz"))
    assert bool(stored) == result.improved  # only a better model's lines are worth replaying later
    none = list(finetune(str(base), narrow_lines, held_out=[held], replay=None, out_dir=tmp_path / "u2",
                         config=cfg, rule=few))
    assert none[-1].train_lines == own
