"""The one fine-tune (issue 17): held-out pages by line counts on real pages, "what is needed" below the
minimums (core and ``htrgui finetune``), the budget estimate, the early first check, and a cancelled run
leaving nothing behind."""

from __future__ import annotations

import json

import pytest

from htrgui.core.errors import Cancelled
from htrgui.core.progress import CancelToken
from htrgui.core.speedtest import SpeedEstimate
from htrgui.core.training.holdout import (RULE, HeldOutRule, NotEnoughLines, check_held_out, not_enough,
                                          pick_held_out)


def test_held_out_pages_by_line_counts_on_the_adaptation_pages(shared_data, splits):
    from htrgui.core.io import read_document
    from htrgui.core.training.finetune import VerifiedPages

    pages = [read_document(shared_data / f"{p}.xml") for p in splits["adaptation"]["adapt"]]
    verified = VerifiedPages.of(pages)
    counts = verified.by_key()
    assert len(counts) == 20 and verified.lines == 1814  # ground truth without htrgui's status: verified
    choice = pick_held_out(counts)
    # about 15 % aimed at no more than 120 lines: one page of ~90 lines, not the first or the last
    assert len(choice.held_out) == 1 and RULE.min_held <= choice.held_lines <= 2 * RULE.max_target
    assert choice.held_out[0] not in (verified.keys[0], verified.keys[-1])
    assert choice.train_lines + choice.held_lines == verified.lines
    # estimated crop widths from the polygons are near the widths of the real crops
    from htrgui.core.training.finetune import lines_from_pages

    lines = list(lines_from_pages(pages[:1]))[-1]
    real, est = sorted(im.shape[1] for im in lines.images), sorted(verified.widths[0])
    assert abs(sum(est) - sum(real)) < 0.15 * sum(real)


def test_too_few_lines_say_what_is_needed():
    # issue 17: 11 lines on two pages; the old rule held out the 9-line page and trained on 2 lines
    msg = not_enough({"a.xml": 9, "b.xml": 2})
    assert "at least 60 verified lines" in msg and "Verify 49 more" in msg
    with pytest.raises(NotEnoughLines, match="Verify 49 more"):
        pick_held_out({"a.xml": 9, "b.xml": 2})
    assert "one page" in not_enough({"a.xml": 200})
    assert "no page" in not_enough({"a.xml": 35, "b.xml": 35})  # either page would leave < 50 to learn from
    # the small page is held out, the large one learnt from
    choice = pick_held_out({"a.xml": 55, "b.xml": 12})
    assert choice.held_out == ["b.xml"] and choice.train_lines == 55
    # a big page is not taken when smaller ones come nearer the target (15 %)
    choice = pick_held_out({f"p{i}.xml": n for i, n in enumerate([40, 40, 200, 40, 12, 40, 40])})
    assert "p2.xml" not in choice.held_out and choice.held_lines >= 10 and choice.train_lines >= 50
    # the user's own choice is held to the same minimums
    with pytest.raises(NotEnoughLines, match="at least 10"):
        check_held_out({"a.xml": 55, "b.xml": 5, "c.xml": 20}, ["b.xml"])
    with pytest.raises(NotEnoughLines, match="at least 50"):
        check_held_out({"a.xml": 55, "b.xml": 5, "c.xml": 20}, ["a.xml"])
    assert check_held_out({"a.xml": 55, "b.xml": 5, "c.xml": 20}, ["c.xml"]).train_lines == 60
    assert not not_enough({"a.xml": 3, "b.xml": 1}, HeldOutRule(min_train=3, min_held=1))


def _speed(step_s: float = 1.0) -> SpeedEstimate:
    return SpeedEstimate(device="cpu", model="m", threads=1, line_width=800, batch_size=8, lines_per_s=10.0,
                         train_batch_size=15, train_step_s=step_s, finetune_steps=0, finetune_s=0.0,
                         measured_s=1.0)


def test_the_estimate_follows_the_lines_the_passes_and_the_step_time():
    from htrgui.core.training.finetune import STEP_OVERHEAD, finetune_epochs, make_plan

    def plan(lines_a: int, step_s: float = 1.0, limit: float = 600.0):
        counts = {"a": lines_a, "b": 20}
        widths = {"a": [800] * lines_a, "b": [800] * 20}
        return make_plan(counts, widths, None, _speed(step_s), limit, "measured here")

    small, large = plan(100), plan(1000)
    assert small.held_out == ["b"] and small.train_lines == 100 and small.replay_lines == 30
    assert small.epochs == finetune_epochs(100) == 40 and large.epochs == finetune_epochs(1000) == 8
    # 130 lines x 40 passes of 15-line steps at 1 s ~ 347 steps ~ 5.8 min (times the trainer's overhead on
    # the doctor's timed step), plus the checks on 20 lines
    assert 5.7 * STEP_OVERHEAD < small.estimate_minutes < 5.8 * STEP_OVERHEAD + 1.0
    assert plan(100, step_s=2.0).estimate_minutes > 1.9 * small.estimate_minutes - 0.5
    assert large.estimate_minutes > small.estimate_minutes  # 1300 x 8 line-passes > 130 x 40
    capped = plan(1000, limit=2.0)
    assert capped.minutes == 2.0 and "the limit of 2 min stops it earlier" in capped.describe()
    assert f"about {small.estimate_minutes:.0f} min" in small.describe() and "measured here" in small.describe()
    assert make_plan({"a": 100, "b": 20}, {}, None, None, 15.0).estimate_minutes is None


def test_a_small_project_is_refused_with_what_is_needed_by_core_and_cli(verified_project, capsys):
    from htrgui.cli import main
    from htrgui.core.training.finetune import finetune_pages, verified_pages

    project = verified_project({"scan1": 30, "scan2": 5})
    verified = list(verified_pages(project))[-1]
    assert verified.counts == [30, 5] and "Verify 25 more" in verified.problem()
    with pytest.raises(NotEnoughLines, match="Verify 25 more"):
        next(finetune_pages(verified.pages, "default"))  # before a single line is cut out of the scans
    assert main(["finetune", str(project.folder)]) == 1
    out = capsys.readouterr()
    summary = json.loads(out.out.strip().splitlines()[-1])
    assert summary["model"] is None and "Verify 25 more" in summary["why"] and summary["verified_lines"] == 35
    assert summary["held_out_cer_before"] is None and "minutes" in summary
    assert "Verify 25 more" in out.err


def test_the_first_check_comes_early_then_at_intervals(narrow_lines, tmp_path):
    from htrgui.core.training.trainer import TrainConfig, train

    train_set, val_set = narrow_lines.split_pages([narrow_lines.page_names()[0]])
    cfg = TrainConfig(config="tiny", max_steps=4, warmup_steps=1, batch_columns=4000, first_val_minutes=0.0,
                      val_every_minutes=1e9, checkpoint_every_minutes=1e9, device="cpu", tcm=False,
                      resumable=False)
    steps = [p for p in train(train_set, val_set, tmp_path / "m.pt", cfg)]
    checked = [p.done for p in steps if p.info.get("validated")]
    assert checked == [1]  # the first step already checks; the next check is a long interval away
    assert not (tmp_path / "m.pt.train").exists()  # resumable=False writes no state


def test_a_cancelled_finetune_leaves_no_state_and_no_model(narrow_lines, tmp_path):
    from dataclasses import replace

    from htrgui.core.training.finetune import FinetuneResult, finetune, finetune_config
    from htrgui.core.recognition.model import build_model
    from htrgui.core.training import modelio

    codec = modelio.new_codec(narrow_lines.charset())
    base = tmp_path / "base.pt"
    modelio.save(base, build_model("tiny", codec.num_classes), codec, {"name": "base"})
    out_dir = tmp_path / "user"
    out_dir.mkdir()
    # a state every step and a check every step: without the clean-up both would be on disk at cancel time
    cfg = replace(finetune_config(60), config="tiny", max_minutes=None, max_steps=50, lr=3e-3, patience=None,
                  checkpoint_every_minutes=0.0, first_val_minutes=0.0, val_every_minutes=0.0, val_share=0.0)
    token = CancelToken()
    seen = 0
    with pytest.raises(Cancelled):
        for p in finetune(str(base), narrow_lines, out_dir=out_dir, config=cfg, cancel=token, replay=None,
                          rule=HeldOutRule(min_train=5, min_held=5), speed=_speed()):
            assert not isinstance(p, FinetuneResult)
            if getattr(p, "message", "") == "training" and p.done >= 3:
                seen = p.done
                token.cancel()
    assert seen >= 3
    assert list(out_dir.iterdir()) == []  # no .train folder, no half-trained model
