"""SAM runs the model twice a step; only the first pass (at the real weights) may move BatchNorm statistics."""

from __future__ import annotations

import copy

import numpy as np
import torch

from htrgui.core.recognition.model import build_model
from htrgui.core.recognition.preprocess import batch_lines
from htrgui.core.training.data import TRAIN_MULTIPLE
from htrgui.core.training.optim import SAM, frozen_bn_stats, param_groups
from htrgui.core.training.trainer import TrainConfig, _optimizer_step, _Trainable


def _lines() -> list[np.ndarray]:
    """Two uint8 lines of different widths (dark strokes on light paper), so the batch is padded."""
    out = []
    for width, phase in ((232, 0.0), (150, 5.0)):
        x = np.arange(width)[None, :] + phase
        y = np.arange(64)[:, None]
        ink = (np.sin(x / 2.7) * np.cos(y / 4.9 + x / 13.0) > 0.5) & (y > 12) & (y < 52)
        out.append(np.where(ink, 30, 235).astype(np.uint8))
    return out


def _bn_buffers(model) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()
            if k.endswith(("running_mean", "running_var", "num_batches_tracked"))}


def test_sam_step_updates_batchnorm_statistics_once():
    torch.manual_seed(0)
    model = build_model("tiny", 12).train()
    reference = copy.deepcopy(model)
    cfg = TrainConfig(config="tiny", sam=True, tcm=False, ema=False)
    opt = torch.optim.AdamW(param_groups([model], cfg.weight_decay), lr=1e-3)
    sam = SAM(opt)
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    x, w = batch_lines(_lines(), TRAIN_MULTIPLE)
    targets = [torch.tensor([1, 2, 3, 4]), torch.tensor([5, 6, 5])]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    _optimizer_step(_Trainable(model, None), opt, sam, scaler, cfg, (x, w, targets, cfg, None),
                    lambda: torch.autocast("cpu", enabled=False))
    with torch.no_grad():
        reference(x, w)  # one training-mode forward at the weights the step started from
    expected, got = _bn_buffers(reference), _bn_buffers(model)
    assert expected and expected.keys() == got.keys()
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], atol=1e-6, rtol=1e-5, msg=name)
    assert all(int(v) == 1 for k, v in got.items() if k.endswith("num_batches_tracked"))
    # the step did happen, and the model is back in plain training mode
    assert not torch.equal(model.head.weight, before["head.weight"])
    assert all(m.track_running_stats and m.momentum == 0.1
               for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_frozen_bn_stats_keeps_statistics_but_normalises_with_the_batch():
    torch.manual_seed(0)
    model = build_model("tiny", 12).train()
    x, w = batch_lines(_lines(), TRAIN_MULTIPLE)
    before = _bn_buffers(model)
    with torch.no_grad():
        plain, _ = copy.deepcopy(model)(x, w)
        with frozen_bn_stats(model):
            frozen, _ = model(x, w)
    after = _bn_buffers(model)
    assert all(torch.equal(before[k], after[k]) for k in before)
    torch.testing.assert_close(frozen, plain)  # still batch statistics, as in the first pass
    # a BatchNorm kept in eval mode (fine-tuning with frozen statistics) stays on its running statistics
    model.backbone.stem_bn.eval()
    with frozen_bn_stats(model):
        assert model.backbone.stem_bn.track_running_stats and not model.backbone.stem_bn.training


def test_a_batch_whose_loss_is_not_finite_is_skipped_leaving_weights_and_statistics_untouched():
    """One overflowing batch must not turn every weight (and BatchNorm's running statistics) into NaN."""
    for use_sam in (False, True):
        torch.manual_seed(0)
        model = build_model("tiny", 12).train()
        cfg = TrainConfig(config="tiny", sam=use_sam, tcm=False, ema=False)
        opt = torch.optim.AdamW(param_groups([model], cfg.weight_decay), lr=1e-3)
        sam = SAM(opt) if use_sam else None
        scaler = torch.amp.GradScaler("cuda", enabled=False)
        x, w = batch_lines(_lines(), TRAIN_MULTIPLE)
        targets = [torch.tensor([1, 2, 3, 4]), torch.tensor([5, 6, 5])]
        before = {k: v.clone() for k, v in model.state_dict().items()}
        bad = x.clone()
        bad[0, 0, 20, 30] = float("nan")
        loss, _, stepped = _optimizer_step(_Trainable(model, None), opt, sam, scaler, cfg,
                                           (bad, w, targets, cfg, None), lambda: torch.autocast("cpu", enabled=False))
        assert not stepped and not torch.isfinite(loss)
        after = model.state_dict()
        assert all(torch.equal(after[k], v) for k, v in before.items()), use_sam
        assert all(p.grad is None for p in model.parameters())
        # the next, sound batch steps as usual
        loss, _, stepped = _optimizer_step(_Trainable(model, None), opt, sam, scaler, cfg,
                                           (x, w, targets, cfg, None), lambda: torch.autocast("cpu", enabled=False))
        assert stepped and torch.isfinite(loss)
        assert not torch.equal(model.head.weight, before["head.weight"])
        assert all(torch.isfinite(v).all() for v in model.state_dict().values() if v.is_floating_point())
