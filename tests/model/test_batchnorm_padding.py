"""BatchNorm and padding: in training mode the backbone's batch statistics (and so the running statistics
inference uses) come from the lines' real columns only, whatever the padding; eval mode is unchanged."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from htrgui.core.recognition.model import build_model

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "models" / "htrconvtext-small.pt"


def _line(width: int, phase: float = 0.0) -> torch.Tensor:
    """A deterministic (1, 1, 64, width) line: dark strokes on light paper, no random generator involved."""
    x = np.arange(width, dtype=np.float64)[None, :] + phase
    y = np.arange(64, dtype=np.float64)[:, None]
    ink = (np.sin(x / 3.1) * np.cos(y / 5.3 + x / 17.0) > 0.55) & (y > 14) & (y < 50)
    return torch.from_numpy(np.where(ink, 0.12, 0.94).astype(np.float32))[None, None]


def _bns(model) -> list[torch.nn.BatchNorm2d]:
    return [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]


def _fresh_tiny() -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model("tiny", 40).train()
    for bn in _bns(model):
        bn.momentum = 1.0  # running statistics = this batch's statistics
    return model


def _train_forward(model, images, widths=None):
    logits, lengths = model(images, widths)
    stats = [(bn.running_mean.clone(), bn.running_var.clone()) for bn in _bns(model)]
    return logits.detach(), lengths, stats


def _padded(lines: list[torch.Tensor], width: int) -> tuple[torch.Tensor, torch.Tensor]:
    batch = torch.ones(len(lines), 1, 64, width)
    for i, line in enumerate(lines):
        batch[i, :, :, : line.shape[-1]] = line
    return batch, torch.tensor([line.shape[-1] for line in lines])


def test_train_mode_statistics_ignore_white_padding():
    """One line alone and the same line padded with lots of white: same batch statistics, same output."""
    model = _fresh_tiny()
    line = _line(200)
    alone_logits, alone_len, alone_stats = _train_forward(copy.deepcopy(model), line)
    batch, widths = _padded([line], 1200)
    pad_logits, pad_len, pad_stats = _train_forward(copy.deepcopy(model), batch, widths)
    assert len(alone_stats) == len(_bns(model)) > 10
    for (m_a, v_a), (m_p, v_p) in zip(alone_stats, pad_stats):
        torch.testing.assert_close(m_p, m_a, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(v_p, v_a, atol=1e-5, rtol=1e-4)
    n = alone_len.item()
    assert pad_len.item() == n
    torch.testing.assert_close(pad_logits[0, :n], alone_logits[0, :n], atol=1e-4, rtol=1e-4)


def test_train_mode_statistics_do_not_depend_on_the_amount_of_padding():
    """Two lines of different widths padded to 400 or to 1024 columns: identical statistics and outputs."""
    model = _fresh_tiny()
    lines = [_line(200), _line(328, 7.0)]
    a_logits, a_len, a_stats = _train_forward(copy.deepcopy(model), *_padded(lines, 400))
    b_logits, b_len, b_stats = _train_forward(copy.deepcopy(model), *_padded(lines, 1024))
    assert a_len.tolist() == b_len.tolist()
    for (m_a, v_a), (m_b, v_b) in zip(a_stats, b_stats):
        torch.testing.assert_close(m_b, m_a, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(v_b, v_a, atol=1e-5, rtol=1e-4)
    for i, n in enumerate(a_len.tolist()):
        torch.testing.assert_close(b_logits[i, :n], a_logits[i, :n], atol=1e-4, rtol=1e-4)


def test_masked_statistics_train_like_plain_batchnorm_without_padding():
    """Without padding the masked path is plain BatchNorm: same gradients as the same batch unpadded."""
    model = _fresh_tiny()
    lines = [_line(256), _line(256, 3.0)]
    plain, masked = copy.deepcopy(model), copy.deepcopy(model)
    batch = torch.cat(lines)
    out_plain, _ = plain(batch)  # all widths full: the plain BatchNorm path
    out_plain.square().mean().backward()
    wide, widths = _padded(lines, 512)
    out_masked, _ = masked(wide, widths)
    out_masked[:, : out_plain.shape[1]].square().mean().backward()
    torch.testing.assert_close(out_masked[:, : out_plain.shape[1]], out_plain, atol=1e-4, rtol=1e-4)
    for (name, p), q in zip(plain.named_parameters(), masked.parameters()):
        if p.grad is not None and name.startswith("backbone"):
            torch.testing.assert_close(q.grad, p.grad, atol=1e-5, rtol=1e-3, msg=name)


def test_shipped_model_loads_and_eval_uses_the_running_statistics():
    """The shipped checkpoint loads strictly (parameter and buffer names unchanged), and in eval mode every
    BatchNorm normalises with its running statistics: the model's output equals a forward in which each
    BatchNorm is replaced by the textbook eval formula, alone and padded in a batch; nothing is updated."""
    if not SHIPPED.is_file():
        pytest.skip(f"{SHIPPED} is absent")
    from htrgui.core.training import modelio

    model, _, _ = modelio.load(str(SHIPPED))  # strict load
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    batch, widths = _padded([_line(200), _line(328, 7.0)], 400)
    with torch.inference_mode():
        alone, n = model(_line(200))
        padded, lengths = model(batch, widths)
    assert n.tolist() == [26] and lengths.tolist() == [26, 42]
    torch.testing.assert_close(padded[0, :26], alone[0], atol=2e-3, rtol=0)
    assert padded[0, :26].argmax(-1).tolist() == alone[0].argmax(-1).tolist()

    fired = []

    def textbook(bn, inputs, output):
        fired.append(bn)
        x = inputs[0].float()
        ref = (x - bn.running_mean[None, :, None, None]) / torch.sqrt(bn.running_var[None, :, None, None] + bn.eps)
        return (ref * bn.weight[None, :, None, None] + bn.bias[None, :, None, None]).to(output.dtype)

    hooks = [m.register_forward_hook(textbook) for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert hooks
    try:
        with torch.inference_mode():
            ref, _ = model(batch, widths)
    finally:
        for h in hooks:
            h.remove()
    assert len(set(map(id, fired))) == len(hooks)  # every BatchNorm ran as a module, in eval mode
    torch.testing.assert_close(padded, ref, atol=2e-3, rtol=1e-3)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # eval mode updates no statistics


def _reference_batch_norm(x, widths, bn):
    """Masked BatchNorm written out with autograd ops: the definition the fast version must match."""
    m = (torch.arange(x.shape[-1])[None, :] < widths[:, None]).to(x.dtype)[:, None, None, :]
    n = m.sum() * x.shape[2]
    mean = (x * m).sum(dim=(0, 2, 3)) / n
    var = (((x - mean[:, None, None]) * m) ** 2).sum(dim=(0, 2, 3)) / n
    xhat = (x - mean[:, None, None]) / torch.sqrt(var[:, None, None] + bn.eps)
    return xhat * bn.weight[:, None, None] + bn.bias[:, None, None]


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_column_batch_norm_matches_its_definition_and_gradient(layout):
    """Values and gradients of the masked BatchNorm in float64, in both of its ways (contiguous: sums;
    channels-last: native BatchNorm over zeroed padding)."""
    from htrgui.core.recognition.layers import RealColumns, batch_norm_cols

    torch.manual_seed(0)
    bn = torch.nn.BatchNorm2d(3).double().train()
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.normal_()
    x = (torch.randn(3, 3, 4, 7, dtype=torch.float64) * 2 + 1).contiguous(memory_format=layout).requires_grad_()
    widths = torch.tensor([7, 4, 2])
    cols = RealColumns.of(widths, 7)
    real = (torch.arange(7)[None, :] < widths[:, None])[:, None, None, :].expand_as(x)
    torch.testing.assert_close(batch_norm_cols(x, cols, bn)[real], _reference_batch_norm(x, widths, bn)[real])
    # gradcheck perturbs x, bn.weight and bn.bias in place; the gradient through the padded outputs counts too
    assert torch.autograd.gradcheck(lambda x, w, b: batch_norm_cols(x, cols, bn), (x, bn.weight, bn.bias))
    # the running statistics follow the real columns: momentum 1 gives the unbiased batch statistics
    bn.reset_running_stats()
    bn.momentum = 1.0
    batch_norm_cols(x, cols, bn)
    real = torch.cat([x[i, :, :, :w].reshape(3, -1) for i, w in enumerate(widths.tolist())], dim=1)
    torch.testing.assert_close(bn.running_mean, real.mean(1).detach())
    torch.testing.assert_close(bn.running_var, real.var(1).detach())
    assert int(bn.num_batches_tracked) == 1


def test_masked_batch_norm_under_bf16_autocast():
    """The trainer may run the model under bf16 autocast: the masked path keeps float32 statistics."""
    model = _fresh_tiny()
    batch, widths = _padded([_line(200), _line(328, 7.0)], 400)
    ref = copy.deepcopy(model)
    _, _, stats32 = _train_forward(ref, batch, widths)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits, _ = model(batch, widths)
    logits.float().square().mean().backward()
    assert logits.dtype == torch.bfloat16
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())
    for bn, (mean, var) in zip(_bns(model), stats32):
        assert bn.running_mean.dtype == torch.float32
        torch.testing.assert_close(bn.running_mean, mean, atol=0.05, rtol=0.05)
        torch.testing.assert_close(bn.running_var, var, atol=0.05, rtol=0.05)


def test_column_batch_norm_in_bf16_channels_last_matches_float32():
    """The reduced-precision path (the trainer's bf16 channels-last CPU setting) against the definition in
    float32: outputs and gradients on the real columns (the model never uses the padded outputs)."""
    from htrgui.core.recognition.layers import RealColumns, batch_norm_cols

    torch.manual_seed(0)
    bn = torch.nn.BatchNorm2d(8).train()
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.normal_()
    widths = torch.tensor([40, 23, 9])
    x32 = torch.randn(3, 8, 4, 40) * 2 + 1
    x16 = x32.bfloat16().contiguous(memory_format=torch.channels_last).requires_grad_()
    x32 = x16.detach().float().requires_grad_()
    real = (torch.arange(40)[None, :] < widths[:, None])[:, None, None, :]
    dy = torch.randn(3, 8, 4, 40) * real
    ref = _reference_batch_norm(x32, widths, bn)
    ref.backward(dy)
    ref_dw, ref_db = bn.weight.grad.clone(), bn.bias.grad.clone()
    bn.weight.grad = bn.bias.grad = None
    y = batch_norm_cols(x16, RealColumns.of(widths, 40), bn)
    y.backward(dy.bfloat16())
    assert y.dtype == torch.bfloat16
    r = real.expand_as(y)
    torch.testing.assert_close(y.float()[r], ref.detach()[r], atol=0.03, rtol=0.02)
    torch.testing.assert_close(x16.grad.float()[r], x32.grad[r], atol=0.02, rtol=0.03)
    assert (x16.grad.float()[~r] == 0).all()
    torch.testing.assert_close(bn.weight.grad, ref_dw, atol=0.05, rtol=0.02)
    torch.testing.assert_close(bn.bias.grad, ref_db, atol=0.05, rtol=0.02)
