"""Shapes, padding invariance, parameter counts and head extension of HTR-ConvText."""

from __future__ import annotations

import pytest
import torch

from htrgui.core.recognition.model import (CONFIGS, HTRConvText, build_model, count_macs, count_parameters,
                                           extend_head, output_length)


def _randomised(name: str) -> HTRConvText:
    """A model whose LayerScales and relative biases are not near zero, so masking bugs would show."""
    torch.manual_seed(0)
    if name == "tiny-standardize":
        model = HTRConvText(CONFIGS["tiny"].__class__.from_dict({**CONFIGS["tiny"].to_dict(), "standardize": True}))
    else:
        model = build_model(name)
    model.eval()
    with torch.no_grad():
        for block in model.blocks:
            for g in block.gammas:
                g.fill_(0.7)
            block.attn.rel_bias.weight.normal_()
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return model


@pytest.fixture(scope="module")
def base():
    return build_model("base").eval()


def test_base_reproduces_paper_parameter_count(base):
    assert count_parameters(base) == 65_920_016
    # other datasets change only the head (spec: READ2016 with 90 classes)
    assert count_parameters(build_model("base", num_classes=90)) == 65_925_146


def test_small_is_cpu_sized():
    assert count_parameters(build_model("small")) <= 10_000_000
    assert count_macs("small", 1024) * 3 <= count_macs("base", 1024)
    # attention makes cost grow faster than width, but never slower
    assert count_macs("small", 2048) >= 2 * count_macs("small", 1024)


@pytest.mark.parametrize("name", ["tiny", "small"])
def test_output_length_follows_width(name):
    model = build_model(name).eval()
    for width in (40, 333, 900):
        with torch.inference_mode():
            logits, lengths = model(torch.rand(1, 1, 64, width))
        assert logits.shape == (1, output_length(width, model.config), model.config.num_classes)
        assert int(lengths[0]) == logits.shape[1]
    assert output_length(2048, CONFIGS["base"]) == 512


@pytest.mark.parametrize("name", ["tiny", "small", "tiny-standardize"])
def test_padding_does_not_change_output(name):
    model = _randomised(name)
    short, long = torch.rand(1, 1, 64, 184), torch.rand(1, 1, 64, 517)
    batch = torch.rand(2, 1, 64, 560)  # garbage in the padding on purpose
    batch[0, :, :, :184] = short
    batch[1, :, :, :517] = long
    with torch.inference_mode():
        out_s, len_s = model(short)
        out_l, len_l = model(long)
        out_b, len_b = model(batch, torch.tensor([184, 517]))
    assert len_b.tolist() == [len_s.item(), len_l.item()]
    torch.testing.assert_close(out_b[0, : len_s.item()], out_s[0], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(out_b[1, : len_l.item()], out_l[0], atol=1e-4, rtol=1e-4)
    # and the padding really was garbage: without widths the short line reads differently
    with torch.inference_mode():
        out_nomask, _ = model(batch)
    assert not torch.allclose(out_nomask[0, : len_s.item()], out_s[0], atol=1e-3)


def test_forward_features_feed_the_head():
    model = build_model("tiny").eval()
    x = torch.rand(2, 1, 64, 256)
    with torch.inference_mode():
        feats, lengths = model.forward_features(x, torch.tensor([256, 128]))
        logits, _ = model(x, torch.tensor([256, 128]))
        from_feats = model.head(feats)
    cfg = model.config
    assert feats.shape == (2, output_length(256, cfg), cfg.dim)
    assert lengths.tolist() == [output_length(256, cfg), output_length(128, cfg)]
    torch.testing.assert_close(from_feats, logits)


def test_training_step_runs_with_ctc():
    model = build_model("tiny").train()
    x, widths = torch.rand(2, 1, 64, 200), torch.tensor([200, 120])
    logits, lengths = model(x, widths)
    targets = torch.randint(1, model.config.num_classes, (2, 5))
    loss = torch.nn.functional.ctc_loss(logits.log_softmax(-1).transpose(0, 1), targets, lengths,
                                        torch.tensor([5, 5]), zero_infinity=True)
    loss.backward()
    assert torch.isfinite(loss)
    assert model.backbone.stem.weight.grad is not None and model.head.weight.grad.abs().sum() > 0


def test_extend_head_keeps_old_rows():
    model = _randomised("tiny")
    x = torch.rand(1, 1, 64, 160)
    with torch.inference_mode():
        before, _ = model(x)
    extend_head(model, 3)
    assert model.head.out_features == model.config.num_classes == 83
    with torch.inference_mode():
        after, _ = model(x)
    torch.testing.assert_close(after[..., :80], before)
    assert after.argmax(-1).tolist() == before.argmax(-1).tolist()


def test_no_tcm_in_inference_model(base):
    names = [n for n, _ in base.named_modules()] + list(build_model("small").state_dict())
    assert not [n for n in names if "tcm" in n.lower()]


def test_standardize_switch_makes_contrast_irrelevant():
    cfg = CONFIGS["tiny"].__class__(**{**CONFIGS["tiny"].to_dict(), "mv_stages": (False, True, True),
                                       "standardize": True})
    torch.manual_seed(1)
    model = HTRConvText(cfg).eval()
    x = torch.rand(1, 1, 64, 96)
    faded = 0.5 + 0.3 * x
    with torch.inference_mode():
        torch.testing.assert_close(model(x)[0], model(faded)[0], atol=1e-3, rtol=1e-3)


def test_rejects_wrong_height():
    with pytest.raises(ValueError, match="64"):
        build_model("tiny")(torch.rand(1, 1, 32, 100))
