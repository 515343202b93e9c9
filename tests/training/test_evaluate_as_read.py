"""The app's reading of held-out lines (beam search + language model) next to the greedy validation figure."""

from __future__ import annotations

import torch

from htrgui.core.paths import bundled_models_dir
from htrgui.core.recognition.checkpoint import load_checkpoint
from htrgui.core.recognition.decode import DEFAULT_BEAM
from htrgui.core.recognition.library import DEFAULT_MODEL
from htrgui.core.training.validate import evaluate_as_read, evaluate_lines


def test_as_read_decodes_with_the_language_model_the_app_uses(real_lines, one_thread):
    path = bundled_models_dir() / DEFAULT_MODEL
    loaded = load_checkpoint(path)
    greedy = evaluate_lines(loaded.model, loaded.codec, real_lines, torch.device("cpu"))

    plain = evaluate_as_read(path, real_lines, "none")
    assert plain["decoding"] == "greedy"
    assert plain["lines"] == len(real_lines) and plain["chars"] == greedy["chars"]
    # the same decoding through the app's engine (BatchNorm folded, channels-last): the same reading, up to
    # rounding on a near tie
    assert abs(plain["cer"] - greedy["cer"]) < 0.01

    # the shipped language model alone reads these wills better than greedy decoding...
    shipped = evaluate_as_read(path, real_lines, "model")
    assert shipped["decoding"] == f"beam {DEFAULT_BEAM} + lm model"
    assert shipped["cer"] < plain["cer"] - 0.03
    # ...and a project whose verified lines are these very lines better still: the mix knows their text
    told = evaluate_as_read(path, real_lines, "project", project_texts=list(real_lines.texts))
    assert told["decoding"] == f"beam {DEFAULT_BEAM} + lm project"
    assert told["cer"] < shipped["cer"] - 0.005


def test_fit_check_compares_the_same_drawn_lines_of_two_caches(real_lines, tmp_path):
    """scripts/evaluate_by_collection.py --fit: greedy CER of lines drawn from a training and a held-out cache."""
    import json
    import os
    import subprocess
    import sys

    from htrgui.core.training.data import LineSet
    from tests.conftest import REPO

    same, wrong = tmp_path / "same.npz", tmp_path / "wrong.npz"
    real_lines.save(same)
    # the same crops under other lines' texts: a model cannot read those, so the second cache must come out worse
    LineSet(real_lines.images, real_lines.texts[1:] + real_lines.texts[:1], real_lines.pages).save(wrong)
    script = [sys.executable, str(REPO / "scripts" / "evaluate_by_collection.py"), "--sample", "6", "--fit"]
    runs = [subprocess.run(script + [str(same), str(b)], capture_output=True, text=True, timeout=300, cwd=REPO,
                           env=dict(os.environ, OMP_NUM_THREADS="1")) for b in (same, wrong)]
    for run in runs:
        assert run.returncode == 0, run.stderr[-2000:]
    alike, apart = (json.loads(r.stdout.strip().splitlines()[-1]) for r in runs)
    assert alike["train"]["lines"] == alike["val"]["lines"] == min(6, len(real_lines))
    assert alike["gap"] == 0 and alike["train"] == dict(alike["val"], cache=str(same))
    assert apart["train"] == alike["train"] and apart["gap"] > 0.3
