"""The recipe's fixes: the projective warp keeps the whole line, the cosine starts at the end of the warm-up,
and training precision is chosen by what the hardware computes natively."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from htrgui.core.errors import HtrError
from htrgui.core.training.augment import projective
from htrgui.core.training.trainer import TrainConfig, autocast_for, cpu_has_bf16, resolve_precision, train


def _corner_marks(h: int = 64, w: int = 256, size: int = 4) -> np.ndarray:
    img = np.full((h, w), 255, np.uint8)
    for y in (0, h - size):
        for x in (0, w - size):
            img[y: y + size, x: x + size] = 0
    return img


def test_projective_warp_keeps_every_corner_of_the_line():
    # Ink at the very corners (first/last letter, ascender, descender) must survive every warp: before the
    # fix the warp went back onto the crop's own canvas and corners moved outwards were cut off.
    img = _corner_marks()
    for seed in range(40):
        out = projective(img, np.random.default_rng(seed))
        assert out.shape[0] == 64 and out.dtype == np.uint8
        assert 0.8 * img.shape[1] < out.shape[1] < 1.2 * img.shape[1]
        h, w = out.shape
        quadrants = [out[: h // 2, : w // 2], out[: h // 2, w // 2:], out[h // 2:, : w // 2], out[h // 2:, w // 2:]]
        assert all(q.min() < 100 for q in quadrants), f"seed {seed}: a corner's ink was cut off"


def test_projective_warp_keeps_the_ink_of_a_real_line(real_lines):
    img = real_lines.images[0]
    ink = float((255 - img.astype(np.float32)).sum()) / img.shape[1]
    for seed in range(10):
        out = projective(img, np.random.default_rng(seed))
        out_ink = float((255 - out.astype(np.float32)).sum()) / out.shape[1]
        assert out_ink == pytest.approx(ink, rel=0.2)


def test_cosine_decays_from_the_end_of_the_warm_up(narrow_lines, tmp_path):
    # With the warm-up fraction passed, the first step after the warm-up runs at the peak learning rate;
    # before, the cosine was measured from the start of the run and had already decayed by then.
    cfg = TrainConfig(config="tiny", max_steps=6, warmup_steps=3, lr=1e-3, min_lr=1e-6, batch_columns=3000,
                      val_every_minutes=100, augment=TrainConfig().augment.off(), precision="fp32")
    lrs = [p.info["lr"] for p in train(narrow_lines, None, tmp_path / "m.pt", cfg) if "lr" in p.info]
    assert lrs[:3] == pytest.approx([1e-3 * (s + 1) / 4 for s in range(3)])
    assert lrs[3] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(lrs[3:], lrs[4:]))


def test_precision_follows_the_hardware():
    cpu = torch.device("cpu")
    assert resolve_precision(cpu, "fp32") == "fp32"
    assert resolve_precision(cpu, "auto") == ("bf16" if cpu_has_bf16() else "fp32")
    with pytest.raises(HtrError, match="unknown precision"):
        resolve_precision(cpu, "fp8")
    with autocast_for(cpu, "bf16"):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16
    with autocast_for(cpu, "fp32"):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32


def test_bf16_channels_last_training_step_learns(narrow_lines, tmp_path):
    cfg = TrainConfig(config="tiny", max_steps=8, warmup_steps=1, lr=3e-3, batch_columns=3000,
                      val_every_minutes=100, augment=TrainConfig().augment.off(), precision="bf16",
                      channels_last=True)
    steps = [p for p in train(narrow_lines, None, tmp_path / "m.pt", cfg) if "loss" in p.info]
    first, last = steps[0].info["step_loss"], steps[-1].info["step_loss"]
    assert np.isfinite(last) and last < first
