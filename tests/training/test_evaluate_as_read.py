"""The app's reading of held-out lines (beam search + language model) next to the greedy validation figure."""

from __future__ import annotations

import torch

from htrgui.core.paths import bundled_models_dir
from htrgui.core.recognition.checkpoint import load_checkpoint
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
    assert shipped["decoding"] == "beam 8 + lm model"
    assert shipped["cer"] < plain["cer"] - 0.03
    # ...and a project whose verified lines are these very lines better still: the mix knows their text
    told = evaluate_as_read(path, real_lines, "project", project_texts=list(real_lines.texts))
    assert told["decoding"] == "beam 8 + lm project"
    assert told["cer"] < shipped["cer"] - 0.005
