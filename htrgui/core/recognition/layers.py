"""Padding masks and the HTR-ConvText encoder layers (ConvText blocks, down/up sampling).

A batch holds lines of different widths padded to the widest; these helpers and layers make padded steps
invisible: zeroed before convolutions, masked as attention keys, left out of normalisation statistics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from htrgui.core.recognition.config import ModelConfig


def col_mask(widths: torch.Tensor, width: int) -> torch.Tensor:
    """(B, width) bool, True on real columns."""
    return torch.arange(width, device=widths.device)[None, :] < widths[:, None]


def zero_pad_cols(x: torch.Tensor, widths: torch.Tensor) -> torch.Tensor:
    """Zero the padded columns of a (B, C, H, W) map, so convs and pools see what zero padding gives."""
    m = col_mask(widths, x.shape[-1]).to(x.dtype)
    return x * m[:, None, None, :]


def zero_pad_steps(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Zero the padded steps of a (B, C, T) sequence."""
    m = col_mask(lengths, x.shape[-1]).to(x.dtype)
    return x * m[:, None, :]


class DropPath(nn.Module):
    """Stochastic depth: drops the whole residual branch per sample while training."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        shape = (x.shape[0],) + (1,) * (x.dim() - 1)
        return x * x.new_empty(shape).bernoulli_(keep) / keep


class RelPosAttention(nn.Module):
    """MHSA with a learned per-head bias b[h, i-j] (offsets clipped), and a key padding mask."""

    def __init__(self, dim: int, heads: int, max_rel: int, attn_drop: float, drop: float) -> None:
        super().__init__()
        self.heads = heads
        self.max_rel = max_rel
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.rel_bias = nn.Embedding(2 * max_rel - 1, heads)
        self.attn_drop = attn_drop
        self.drop = nn.Dropout(drop)

    def bias(self, t: int, device: torch.device) -> torch.Tensor:
        pos = torch.arange(t, device=device)
        rel = (pos[:, None] - pos[None, :]).clamp(-(self.max_rel - 1), self.max_rel - 1) + self.max_rel - 1
        return self.rel_bias(rel).permute(2, 0, 1)  # (h, T, T)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        mask = self.bias(t, x.device).to(q.dtype)[None]
        if key_mask is not None:
            mask = mask.masked_fill(~key_mask[:, None, None, :], float("-inf"))
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                           dropout_p=self.attn_drop if self.training else 0.0)
        return self.drop(self.proj(a.transpose(1, 2).reshape(b, t, d)))


class FeedForward(nn.Module):
    def __init__(self, dim: int, hidden: int, drop: float) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(F.silu(self.fc1(x))))


def masked_group_norm1(x: torch.Tensor, lengths: torch.Tensor | None, norm: nn.GroupNorm) -> torch.Tensor:
    """GroupNorm with one group over (C, valid T) only, so padding does not shift the statistics.

    Computed in fp32 like autocast runs the plain GroupNorm, so bf16 inference keeps its statistics exact.
    """
    if lengths is None:
        return norm(x)
    dtype, x = x.dtype, x.float()
    m = col_mask(lengths, x.shape[-1]).to(x.dtype)[:, None, :]  # (B,1,T)
    count = (lengths.to(x.dtype) * x.shape[1]).clamp(min=1)[:, None, None]
    mean = (x * m).sum(dim=(1, 2), keepdim=True) / count
    var = (((x - mean) * m) ** 2).sum(dim=(1, 2), keepdim=True) / count
    y = (x - mean) / torch.sqrt(var + norm.eps)
    return (y * norm.weight.float()[None, :, None] + norm.bias.float()[None, :, None]).to(dtype)


class RealColumns(NamedTuple):
    """Where the lines of a (B, C, H, W) batch are real, for :func:`batch_norm_cols`: ``mask`` (B, W) is 1.0
    on a real column and 0.0 on padding, ``count`` the number of real columns (a tensor: no host sync)."""

    mask: torch.Tensor
    count: torch.Tensor

    @classmethod
    def of(cls, widths: torch.Tensor, width: int) -> "RealColumns":
        mask = col_mask(widths, width).to(torch.float32)
        return cls(mask, mask.sum().clamp(min=1.0))


def _memory_format(x: torch.Tensor) -> torch.memory_format:
    """channels_last for a channels-last (B, C, H, W) tensor (the trainer's bf16 CPU setting), else contiguous."""
    if not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


class _ColumnBatchNorm(torch.autograd.Function):
    """Training-mode BatchNorm2d whose statistics come from the real columns only (``mask``, ``count``:
    see :class:`RealColumns`); the output's padded columns are unspecified (callers discard them).

    The gradient is BatchNorm's, with the statistics' terms reaching the real columns only. Written for
    speed on CPU, in two ways, each measured faster than the other where it is used:

    - contiguous float32/64 (plain fp32 training): allocating a full-size tensor costs more than the
      arithmetic, so the statistics are exact two-pass sums over the height first, weighted over lines and
      columns by a small matmul; one tensor is allocated (the centred squares, overwritten by the output).
    - anything else, above all bf16 under autocast in channels-last (the trainer's CPU default where the
      CPU has bf16): there an elementwise op mixing dtypes costs 10-30x more, while BatchNorm's native
      kernels are fast, so the padded columns are zeroed (in x's dtype), native BatchNorm takes the
      statistics over all columns (in float32) and they are rescaled to the real ones.

    The backward is eval-mode BatchNorm's native backward plus in-place corrections (in dx's dtype).
    """

    @staticmethod
    def forward(ctx, x, weight, bias, mask, count, eps):
        with torch.autocast(x.device.type, enabled=False):  # autocast would run the matmuls in bf16/fp16
            if x.dtype in (torch.float32, torch.float64) and x.is_contiguous():
                y, mean, var = _ColumnBatchNorm._forward_sums(x, weight, bias, mask / count, eps)
                saved, ctx.zeroed = x, False
            else:
                y, mean, var, saved = _ColumnBatchNorm._forward_native(x, weight, bias, mask, count, eps)
                ctx.zeroed = True
        ctx.save_for_backward(saved, weight, mean, var, mask, count)
        ctx.eps = eps
        ctx.mark_non_differentiable(mean, var)
        return y, mean, var

    @staticmethod
    def _forward_sums(x, weight, bias, share, eps):
        h, share = x.shape[2], share.to(x.dtype)[:, :, None]  # (B, W, 1): 1 / (real columns) on real ones
        # column sums over the height, then the weighted sum over lines and columns as one matmul
        mean = torch.bmm(x.sum(2), share).sum(0).squeeze(-1) / h
        # (x - mean)^2 in a single pass: mse_loss without reduction is exactly that
        buf = F.mse_loss(x, mean[None, :, None, None].expand_as(x), reduction="none")
        var = torch.bmm(buf.sum(2), share).sum(0).squeeze(-1) / h
        scale = (var + eps).rsqrt_()
        if weight is not None:
            scale = scale * weight
        shift = -mean * scale if bias is None else torch.addcmul(bias, mean, scale, value=-1.0)
        y = torch.addcmul(shift[None, :, None, None], x, scale[None, :, None, None], out=buf)
        return y, mean, var

    @staticmethod
    def _forward_native(x, weight, bias, mask, count, eps):
        xz = x * mask.to(x.dtype)[:, None, None, :]  # padded columns zeroed, in x's dtype and memory format
        # BatchNorm's native statistics over all columns (float32 for bf16/fp16 input), without an output
        mean_all, var_all = torch.batch_norm_update_stats(xz, None, None, 0.0)
        acc = torch.promote_types(x.dtype, torch.float32)
        mean_all, var_all = mean_all.to(acc), var_all.to(acc)
        # The zeros add nothing to the sums: rescale the moments from all B*H*W positions to the N real ones
        # (mean = rho * mean_all, E[x^2] = rho * E_all[x^2]); no cancellation worth the name in float32.
        rho = (xz.numel() // xz.shape[1]) / (count * x.shape[2])
        mean = mean_all * rho
        var = (rho * var_all - rho * (rho - 1.0) * mean_all.square()).clamp_(min=0.0)
        y = F.batch_norm(xz, mean, var, weight, bias, False, 0.0, eps)
        return y, mean, var, xz

    @staticmethod
    def backward(ctx, dy, _dmean, _dvar):
        x, weight, mean, var, mask, count = ctx.saved_tensors
        with torch.autocast(x.device.type, enabled=False):
            # Plain part: dx = dy * w * invstd, with the sums of dy (db) and of dy * xhat (dw) over all
            # positions (the output's padded columns depend on weight and bias too); eval mode takes the
            # statistics where it takes running_mean and running_var.
            dx, dw, db = torch.ops.aten.native_batch_norm_backward(
                dy.contiguous(memory_format=_memory_format(x)), x, weight, mean, var, None, None, False, ctx.eps,
                [True, True, True])
            # Through the statistics, on the real columns only: -w * invstd / N * (db + xhat * dw) there,
            # that is a + b * x with:
            invstd = (var + ctx.eps).rsqrt()
            k = (invstd if weight is None else weight.to(invstd.dtype) * invstd) / -(count * x.shape[2])
            b = k * invstd * dw
            a = k * db - b * mean
            if ctx.zeroed:  # x is zero on the padding, where the output does not depend on the input
                dx.addcmul_(x, b.to(dx.dtype)[None, :, None, None]).add_(a.to(dx.dtype)[None, :, None, None])
                dx.mul_(mask.to(dx.dtype)[:, None, None, :])
            else:
                coef = torch.stack([b, a])[:, None, :, None, None] * mask.to(b.dtype)[None, :, None, None, :]
                dx.addcmul_(x, coef[0]).add_(coef[1])  # coef: (2, B, C, 1, W)
        needs = ctx.needs_input_grad
        return dx, (dw if needs[1] else None), (db if needs[2] else None), None, None, None


def batch_norm_cols(x: torch.Tensor, cols: RealColumns | None, bn: nn.BatchNorm2d) -> torch.Tensor:
    """``bn(x)`` for a (B, C, H, W) map whose lines are real on ``cols`` only (None: all columns are).

    Where ``bn`` uses batch statistics (training mode), they, and the running statistics updated from
    them, cover the real columns only, so how much padding a batch has changes nothing; the output's
    padded columns are then unspecified. Eval mode, and a batch without padding, is the plain module call.
    """
    if cols is None or not (bn.training or bn.running_mean is None):
        return bn(x)
    update = bn.training and bn.track_running_stats
    factor = 0.0 if bn.momentum is None else bn.momentum
    if update and bn.num_batches_tracked is not None:
        bn.num_batches_tracked.add_(1)
        factor = 1.0 / float(bn.num_batches_tracked) if bn.momentum is None else bn.momentum
    y, mean, var = _ColumnBatchNorm.apply(x, bn.weight, bn.bias, cols.mask, cols.count, bn.eps)
    if update and bn.running_mean is not None:
        with torch.no_grad():
            n = cols.count * x.shape[2]
            bn.running_mean.lerp_(mean.to(bn.running_mean.dtype), factor)
            bn.running_var.lerp_((var * n / (n - 1.0).clamp(min=1.0)).to(bn.running_var.dtype), factor)
    return y


def pointwise(conv: nn.Conv1d, x: torch.Tensor) -> torch.Tensor:
    """A kernel-1 Conv1d applied to channels-last (B, T, C) input as the Linear it is (no transposes)."""
    return F.linear(x, conv.weight.squeeze(-1), conv.bias)


class ConvModule(nn.Module):
    """Pointwise, SiLU, depthwise, GroupNorm(1), SiLU, pointwise, dropout."""

    def __init__(self, dim: int, kernel: int, drop: float) -> None:
        super().__init__()
        self.pw1 = nn.Conv1d(dim, dim, 1)
        self.dw = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=dim)
        self.norm = nn.GroupNorm(1, dim)
        self.pw2 = nn.Conv1d(dim, dim, 1)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        y = F.silu(pointwise(self.pw1, x)).transpose(1, 2)  # only the depthwise conv needs channels first
        if lengths is not None:
            y = zero_pad_steps(y, lengths)
        y = F.silu(masked_group_norm1(self.dw(y), lengths, self.norm))
        return self.drop(pointwise(self.pw2, y.transpose(1, 2)))


class ConvTextBlock(nn.Module):
    """Post-norm block: MHSA -> half FFN -> conv -> half FFN, each with LayerScale and DropPath."""

    def __init__(self, cfg: ModelConfig, drop_path: float) -> None:
        super().__init__()
        d = cfg.dim
        self.attn = RelPosAttention(d, cfg.heads, cfg.max_rel_pos, cfg.attn_dropout, cfg.dropout)
        self.ffn1 = FeedForward(d, int(d * cfg.mlp_ratio), cfg.dropout)
        self.conv = ConvModule(d, cfg.conv_kernel, cfg.dropout)
        self.ffn2 = FeedForward(d, int(d * cfg.mlp_ratio), cfg.dropout)
        self.norms = nn.ModuleList([nn.LayerNorm(d, eps=1e-6) for _ in range(4)])
        self.gammas = nn.ParameterList([nn.Parameter(torch.full((d,), cfg.layer_scale_init)) for _ in range(4)])
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        key_mask = None if lengths is None else col_mask(lengths, x.shape[1])
        branches = (lambda y: self.attn(y, key_mask), lambda y: 0.5 * self.ffn1(y),
                    lambda y: self.conv(y, lengths), lambda y: 0.5 * self.ffn2(y))
        for branch, norm, gamma in zip(branches, self.norms, self.gammas):
            x = norm(x + self.drop_path(gamma * branch(x)))
        return x


class Downsample1D(nn.Module):
    """Stride-2 depthwise (box-filter init) + pointwise conv; an odd length repeats its last step."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dw = nn.Conv1d(dim, dim, 3, 2, 1, groups=dim, bias=False)
        self.pw = nn.Conv1d(dim, dim, 1)
        nn.init.constant_(self.dw.weight, 1.0 / 3.0)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        y = x.transpose(1, 2)
        if lengths is not None:
            y = zero_pad_steps(y, lengths)
        if y.shape[-1] % 2:
            y = torch.cat([y, y[..., -1:]], dim=-1)
        return pointwise(self.pw, self.dw(y).transpose(1, 2))


class Upsample1D(nn.Module):
    """Nearest-neighbour upsampling to the skip's length, then a pointwise conv."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.pw = nn.Conv1d(dim, dim, 1)

    def forward(self, x: torch.Tensor, length: int) -> torch.Tensor:
        # nearest neighbour along T: each step is repeated (or picked) by index, channels stay last
        idx = (torch.arange(length, device=x.device) * x.shape[1]) // length
        return pointwise(self.pw, x[:, idx])
