"""TCM contexts, augmentations, schedule, EMA, SAM state, synthetic lines: the trainer's parts."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from htrgui.core.training.augment import AugmentConfig, augment, elastic, ink_fading, morphology, projective
from htrgui.core.training.optim import SAM, ModelEma, cosine_lr
from htrgui.core.training.tcm import TCMHead, build_contexts


def _naive_contexts(ids: list[int], pad: int, s: int):
    left = [[ids[j] if 0 <= j else pad for j in range(i - s, i)] for i in range(len(ids))]
    right = [[ids[j] if j < len(ids) else pad for j in range(i + 1, i + s + 1)] for i in range(len(ids))]
    return left, right


def test_contexts_match_the_definition():
    rng = random.Random(3)
    lines = [[rng.randint(1, 9) for _ in range(n)] for n in (1, 4, 7, 12)]
    left, right, tgt, mask = build_contexts([torch.tensor(t) for t in lines], pad_id=10, window=5)
    assert left.shape == right.shape == (4, 12, 5)
    for b, ids in enumerate(lines):
        nl, nr = _naive_contexts(ids, 10, 5)
        assert left[b, : len(ids)].tolist() == nl
        assert right[b, : len(ids)].tolist() == nr
        assert tgt[b, : len(ids)].tolist() == ids
        assert mask[b].sum() == len(ids)
        assert (tgt[b, len(ids):] == 10).all()


def test_tcm_learns_and_extends():
    torch.manual_seed(0)
    head = TCMHead(num_classes=12, vis_dim=32, txt_dim=16, dropout=0.0)
    feats = torch.randn(2, 20, 32)
    lengths = torch.tensor([20, 14])
    targets = [torch.tensor([1, 2, 3, 4, 5, 6, 7]), torch.tensor([3, 3, 9, 11])]
    opt = torch.optim.Adam(head.parameters(), 1e-2)
    first = None
    for _ in range(40):
        loss = head(feats, lengths, targets)
        first = first if first is not None else float(loss.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.5 * first
    head.extend(3)
    assert head.pad_id == 15 and head.classifier.out_features == 16
    assert torch.isfinite(head(feats[:1], lengths[:1], [torch.tensor([13, 14, 1])]))


@pytest.mark.parametrize("fn", [projective, morphology, elastic, ink_fading])
def test_augmentations_are_seeded_and_keep_height(real_lines, fn):
    img = real_lines.images[0]
    a = fn(img, np.random.default_rng(5))
    b = fn(img, np.random.default_rng(5))
    assert a.dtype == np.uint8 and a.shape[0] == 64
    assert np.array_equal(a, b)


def test_augment_pipeline_changes_lines(real_lines):
    img = real_lines.images[1]
    outs = [augment(img, np.random.default_rng(s)) for s in range(6)]
    assert all(o.shape[0] == 64 and o.dtype == np.uint8 for o in outs)
    assert sum(not (o.shape == img.shape and np.array_equal(o, img)) for o in outs) >= 4
    assert np.array_equal(augment(img, np.random.default_rng(1), AugmentConfig.off()), img)


def test_cosine_starts_after_warmup_and_ends_at_floor():
    peak, floor = 1e-3, 1e-6
    assert cosine_lr(0.0, 0, peak, 10, floor) < cosine_lr(0.0, 9, peak, 10, floor) <= peak
    # the cosine starts at the peak where the warm-up ends, not part-way down (the original's bug)
    assert cosine_lr(0.1, 10, peak, 10, floor, warmup_fraction=0.1) == pytest.approx(peak)
    values = [cosine_lr(f, 100, peak, 10, floor) for f in np.linspace(0, 1, 50)]
    assert all(a >= b for a, b in zip(values, values[1:]))
    assert values[-1] == pytest.approx(floor)


def test_ema_averages_floats_and_copies_counters():
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.BatchNorm1d(3))
    ema = ModelEma(model)
    with torch.no_grad():
        model[0].weight.add_(1.0)
    model.train()(torch.randn(4, 3))
    ema.update(model)
    w_ema, w = ema.module[0].weight, model[0].weight
    assert not torch.equal(w_ema, w)
    assert int(ema.module[1].num_batches_tracked) == int(model[1].num_batches_tracked) == 1


def test_sam_state_holds_the_adam_moments():
    model = torch.nn.Linear(4, 2)
    sam = SAM(torch.optim.AdamW(model.parameters(), 1e-2))
    x = torch.randn(8, 4)
    for _ in range(2):
        model(x).pow(2).sum().backward()
        sam.first_step()
        model(x).pow(2).sum().backward()
        sam.second_step()
    state = sam.state_dict()
    moments = state["base"]["state"]
    assert moments and all("exp_avg" in v and v["exp_avg"].abs().sum() > 0 for v in moments.values())
    fresh = SAM(torch.optim.AdamW(model.parameters(), 1e-2))
    fresh.load_state_dict(state)
    assert torch.equal(fresh.base.state_dict()["state"][0]["exp_avg_sq"], moments[0]["exp_avg_sq"])


def test_synthetic_lines_render_only_with_covering_fonts(shared_data):
    from htrgui.core.training.synthetic import load_fonts, load_words, synthetic_lines

    fonts = load_fonts(shared_data.parent / "fonts")
    words = load_words(shared_data.parent / "text" / "words-french.txt", limit=2000)
    out = list(synthetic_lines(fonts, words=words, count=6, seed=1))
    assert len(out) == 6 and all(im.shape[0] == 64 and im.shape[1] > 20 for im, _ in out)
    # dark ink on light paper, like real crops
    assert all(im.min() < 100 and np.median(im) > 180 for im, _ in out)
    texts = ["Ceci est mon testament œuvre"]
    (img, text), = synthetic_lines(fonts, texts=texts, count=1)
    assert text == texts[0]
    covering = [f for f in fonts if f.covers("œ")]
    assert 0 < len(covering) < len(fonts)  # some fonts lack œ and are skipped for it
