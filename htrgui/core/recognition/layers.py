"""Padding masks and the HTR-ConvText encoder layers (ConvText blocks, down/up sampling).

A batch holds lines of different widths padded to the widest; these helpers and layers make padded steps
invisible: zeroed before convolutions, masked as attention keys, left out of normalisation statistics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
