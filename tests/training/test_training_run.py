"""Training a tiny model for a few steps on real lines: loss falls, resume, cancel, codec extension,
distillation, fine-tuning with a held-out page."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from htrgui.core.errors import Cancelled
from htrgui.core.progress import CancelToken
from htrgui.core.training.augment import AugmentConfig
from htrgui.core.training.trainer import TrainConfig, train


def _cfg(**kw) -> TrainConfig:
    base = dict(config="tiny", warmup_steps=2, lr=3e-3, batch_columns=40000, max_batch_lines=64,
                augment=AugmentConfig.off(), val_every_minutes=1e9, checkpoint_every_minutes=1e9)
    base.update(kw)
    return TrainConfig(**base)


def _run(gen):
    return [p for p in gen]


@pytest.mark.parametrize("tcm", [True, False])
def test_loss_falls_on_real_lines(narrow_lines, tmp_path, tcm):
    lines = narrow_lines.subset(range(8))
    progress = _run(train(lines, None, tmp_path / "m.pt", _cfg(tcm=tcm, max_steps=14)))
    losses = [p.info["step_loss"] for p in progress if "step_loss" in p.info]
    assert len(losses) == 14
    assert np.mean(losses[-3:]) < 0.7 * np.mean(losses[:3])
    assert ("tcm" in progress[-2].info) == tcm
    assert (tmp_path / "m.pt").is_file()


def _state(path):
    return torch.load(path / "m.pt.train" / "last.pt", map_location="cpu", weights_only=False)


def test_resume_continues_exactly_where_it_stopped(narrow_lines, tmp_path):
    cfg = _cfg(max_steps=6, batch_columns=3000, augment=AugmentConfig())  # several batches, augmented
    _run(train(narrow_lines, None, tmp_path / "a" / "m.pt", cfg))
    gen = train(narrow_lines, None, tmp_path / "b" / "m.pt", cfg)
    for p in gen:
        if p.done == 3:
            break
    gen.close()  # like the GUI's cancel: the state of step 3 is saved
    cut = _state(tmp_path / "b")
    assert cut["step"] == 3 and cut["reason"] == "cancelled"
    moments = cut["optimizer"]["state"]
    assert moments and all(int(v["step"]) == 3 for v in moments.values())
    _run(train(narrow_lines, None, tmp_path / "b" / "m.pt", cfg, resume=True))
    a, b = _state(tmp_path / "a"), _state(tmp_path / "b")
    assert a["step"] == b["step"] == 6
    for key, value in a["model"].items():
        assert torch.allclose(value.float(), b["model"][key].float(), atol=1e-6), key
    for k, st in a["optimizer"]["state"].items():
        assert torch.allclose(st["exp_avg_sq"], b["optimizer"]["state"][k]["exp_avg_sq"], atol=1e-9)


def test_cancel_leaves_a_loadable_model(narrow_lines, tmp_path):
    from htrgui.core.recognition.checkpoint import load_checkpoint

    train_set, val_set = narrow_lines.split_pages([narrow_lines.page_names()[-1]])
    token = CancelToken()
    out = tmp_path / "m.pt"
    with pytest.raises(Cancelled):
        for p in train(train_set, val_set, out, _cfg(max_steps=50, val_every_steps=2), cancel=token):
            if p.done == 3:
                token.cancel()
    loaded = load_checkpoint(out)  # the best model of the validation at step 2
    assert loaded.provenance["steps"] == 2
    assert _state(tmp_path)["step"] == 3


def _save_tiny(path, lines, seed=0, language_model=None):
    from htrgui.core.recognition.model import build_model
    from htrgui.core.training import modelio

    torch.manual_seed(seed)
    codec = modelio.new_codec(lines.charset())
    model = build_model("tiny", codec.num_classes)
    modelio.save(path, model, codec, {"name": path.stem}, language_model=language_model)
    return path


def test_a_trained_model_carries_its_bases_language_model(narrow_lines, tmp_path):
    """A fine-tune shared as one file decodes with the language its base read; a model from scratch carries
    none (it decodes with the shipped one's)."""
    from htrgui.core.recognition.checkpoint import load_checkpoint
    from htrgui.core.recognition.lm import CharNgramLM, model_lm

    own = CharNgramLM.from_texts(narrow_lines.texts, order=4)
    base = _save_tiny(tmp_path / "base.pt", narrow_lines, language_model=own.to_bytes())
    _run(train(narrow_lines.subset(range(6)), None, tmp_path / "tuned.pt", _cfg(max_steps=2), base=str(base)))
    assert load_checkpoint(tmp_path / "tuned.pt").language_model == own.to_bytes()
    assert model_lm(tmp_path / "tuned.pt").vocab == own.vocab
    _run(train(narrow_lines.subset(range(6)), None, tmp_path / "fresh.pt", _cfg(max_steps=2)))
    assert load_checkpoint(tmp_path / "fresh.pt").language_model is None


def test_a_run_that_diverges_stops_with_a_clear_message(narrow_lines, tmp_path):
    """Every batch not finite (here: a base whose weights are NaN): the run stops and writes no model."""
    from htrgui.core.errors import HtrError
    from htrgui.core.recognition.checkpoint import load_checkpoint, save_checkpoint

    base = _save_tiny(tmp_path / "base.pt", narrow_lines)
    loaded = load_checkpoint(base)
    with torch.no_grad():
        for p in loaded.model.parameters():
            p.fill_(float("nan"))
    save_checkpoint(base, loaded.model, loaded.codec)
    with pytest.raises(HtrError, match="training diverged: the loss was not finite on 25 batches in a row"):
        _run(train(narrow_lines.subset(range(6)), None, tmp_path / "m.pt", _cfg(max_steps=40), base=str(base)))
    assert not (tmp_path / "m.pt").exists()


def test_codec_extension_keeps_old_predictions(narrow_lines, tmp_path):
    from htrgui.core.training import modelio
    from htrgui.core.training.validate import recognize_lines

    model, codec, _ = modelio.load(str(_save_tiny(tmp_path / "base.pt", narrow_lines)))
    before = recognize_lines(model, codec, narrow_lines.images, torch.device("cpu"))
    codec2, model2 = modelio.extend(codec, model, ["ж", "ß", "ש"])
    after = recognize_lines(model2, codec2, narrow_lines.images, torch.device("cpu"))
    assert codec2.to_list()[: len(codec)] == codec.to_list() and len(codec2) == len(codec) + 3
    assert after == before
    assert any(before)  # not a model that writes nothing


def test_distillation_loss_and_run(narrow_lines, tmp_path):
    from htrgui.core.training.losses import distill_loss

    s = torch.randn(2, 10, 7)
    lengths = torch.tensor([10, 6])
    assert float(distill_loss(s, s, lengths)) == pytest.approx(0.0, abs=1e-5)
    # a teacher at twice the frame rate saying the same thing, frame pairs pooled
    assert float(distill_loss(s, s.repeat_interleave(2, dim=1), lengths)) == pytest.approx(0.0, abs=1e-5)
    assert float(distill_loss(s, torch.randn(2, 20, 7), lengths)) > 0.01
    teacher = _save_tiny(tmp_path / "teacher.pt", narrow_lines.subset(range(12)), seed=1)  # lacks some letters
    progress = _run(train(narrow_lines.subset(range(12, 18)), None, tmp_path / "student.pt", _cfg(max_steps=3),
                          teacher=str(teacher)))
    assert all(p.info["kd"] > 0 for p in progress if "step_loss" in p.info)


def test_finetune_reports_cer_before_and_after_on_a_held_out_page(narrow_lines, tmp_path):
    from dataclasses import replace

    from htrgui.core.training.finetune import FinetunePlan, FinetuneResult, finetune, finetune_config
    from htrgui.core.training.holdout import HeldOutRule

    base = _save_tiny(tmp_path / "base.pt", narrow_lines.subset(range(10)))  # knows only part of the letters
    digest = hashlib.sha256(base.read_bytes()).hexdigest()
    held = narrow_lines.page_names()[1]
    cfg = replace(finetune_config(60), config="tiny", max_minutes=None, max_steps=6, lr=3e-3, patience=None)
    # 27 lines: below the real minimums (50 + 10), lowered here to test the mechanics on real lines
    progress = _run(finetune(str(base), narrow_lines, held_out=[held], out_dir=tmp_path / "user", config=cfg,
                             rule=HeldOutRule(min_train=5, min_held=5)))
    plans = [p for p in progress if isinstance(p, FinetunePlan)]
    assert len(plans) == 1 and plans[0].held_out == [held] and plans[0].estimate_minutes > 0  # measured now
    result = progress[-1]
    assert isinstance(result, FinetuneResult) and result.plan is plans[0]
    assert result.held_out_pages == [held]
    assert 0.0 < result.before_cer and result.after_cer is not None
    assert hashlib.sha256(base.read_bytes()).hexdigest() == digest  # the base is never touched
    written = list((tmp_path / "user").glob("*.pt"))
    if result.improved:
        assert result.after_cer < result.before_cer and written == [tmp_path / "user" / written[0].name]
        assert result.model_path == str(written[0])
    else:
        assert result.model_path is None and not written and "not better" in result.message
    assert not list((tmp_path / "user").glob("*.train"))  # no training state left behind


def test_sam_run_takes_two_passes_and_resumes_its_adam_state(narrow_lines, tmp_path):
    _run(train(narrow_lines.subset(range(6)), None, tmp_path / "m.pt", _cfg(max_steps=2, sam=True)))
    state = _state(tmp_path)
    moments = state["optimizer"]["base"]["state"]  # AdamW's moments are in the SAM state
    assert moments and all(int(v["step"]) == 2 for v in moments.values())


def test_new_letters_are_warmed_up_with_synthetic_lines(narrow_lines, shared_data, tmp_path):
    from htrgui.core.training.finetune import new_letter_lines

    base = _save_tiny(tmp_path / "base.pt", narrow_lines.subset(range(10)))
    known = set(narrow_lines.subset(range(10)).charset())
    lines = new_letter_lines(str(base), narrow_lines, shared_data.parent / "fonts", per_line=2)
    with_new = [t for t in narrow_lines.texts if set(t) - known - {" "}]
    assert with_new and len(lines) == min(200, 2 * len(with_new))
    assert set(lines.texts) <= set(with_new) and all(im.shape[0] == 64 for im in lines.images)
    assert not new_letter_lines(str(base), narrow_lines.subset(range(10)), shared_data.parent / "fonts")


def test_regularisation_can_be_turned_off_for_a_model_that_underfits(narrow_lines, tmp_path):
    from htrgui.core.errors import HtrError
    from htrgui.core.recognition.checkpoint import load_checkpoint
    from htrgui.core.recognition.model import build_model, set_regularisation
    from htrgui.core.recognition.preprocess import batch_lines
    from htrgui.core.training.data import TRAIN_MULTIPLE

    x, w = batch_lines(narrow_lines.images[:3], TRAIN_MULTIPLE)
    model = build_model("small", 40).train()
    torch.manual_seed(0)
    assert not torch.equal(model(x, w)[0], model(x, w)[0])  # dropout and stochastic depth at work
    set_regularisation(model, 0.0)
    assert torch.equal(model(x, w)[0], model(x, w)[0])
    assert (model.config.dropout, model.config.attn_dropout, model.config.drop_path) == (0.0, 0.0, 0.0)
    set_regularisation(model, 0.2)
    assert [round(b.drop_path.p, 3) for b in model.blocks] == [0.0, 0.04, 0.08, 0.12, 0.16, 0.2]
    # the trainer: the model file says what it was trained with; a bad value is refused clearly
    base = _save_tiny(tmp_path / "base.pt", narrow_lines)
    _run(train(narrow_lines.subset(range(6)), None, tmp_path / "m.pt", _cfg(max_steps=1, dropout=0.05),
               base=str(base)))
    assert load_checkpoint(tmp_path / "m.pt").config.drop_path == 0.05  # tiny's own is 0
    with pytest.raises(HtrError, match="--dropout: regularisation must be in"):
        _run(train(narrow_lines.subset(range(6)), None, tmp_path / "n.pt", _cfg(max_steps=1, dropout=1.5),
                   base=str(base)))
