"""The HTR-ConvText front end: ResNet-18 style stages with MobileViT + positional-encoding (MV-PE) blocks."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from htrgui.core.recognition.config import ModelConfig
from htrgui.core.recognition.layers import RealColumns, batch_norm_cols, col_mask, zero_pad_cols


class BasicBlock(nn.Module):
    """ResNet basic block; ``stride`` is (h, w)."""

    def __init__(self, cin: int, cout: int, stride: tuple[int, int]) -> None:
        super().__init__()
        self.stride_w = stride[1]
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut: nn.Module = nn.Identity()
        if stride != (1, 1) or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor, widths: torch.Tensor, padded: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` has zeros in its padded columns when ``padded``; so has the output."""
        out_w = widths // self.stride_w
        y = self.conv1(x)
        # training-mode BatchNorm statistics over the real columns only
        cols = RealColumns.of(out_w, y.shape[-1]) if padded and self.training else None
        y = F.relu(batch_norm_cols(y, cols, self.bn1))
        if padded:
            y = zero_pad_cols(y, out_w)
        if isinstance(self.shortcut, nn.Sequential):  # 1x1 conv + BatchNorm
            short = batch_norm_cols(self.shortcut[0](x), cols, self.shortcut[1])
        else:
            short = self.shortcut(x)
        y = F.relu(batch_norm_cols(self.conv2(y), cols, self.bn2) + short)
        return (zero_pad_cols(y, out_w) if padded else y), out_w


class ViTLayer(nn.Module):
    """Pre-norm transformer layer of an MV-PE block (plain MHSA, GELU MLP), with a key padding mask."""

    def __init__(self, c: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(c)
        self.qkv = nn.Linear(c, 3 * c)
        self.proj = nn.Linear(c, c)
        self.norm2 = nn.LayerNorm(c)
        self.fc1 = nn.Linear(c, 4 * c)
        self.fc2 = nn.Linear(4 * c, c)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        mask = None if key_mask is None else key_mask[:, None, None, :]
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        x = x + self.proj(a.transpose(1, 2).reshape(b, n, c))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class MVPEBlock(nn.Module):
    """MobileViT block with a positional-encoding generator (PEG); output = projection (no fusion)."""

    def __init__(self, c: int, head_dim: int) -> None:
        super().__init__()
        if c % head_dim:
            raise ValueError(f"MV-PE width {c} is not a multiple of head dim {head_dim}")
        self.local3 = nn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.local_bn = nn.BatchNorm2d(c)
        self.local1 = nn.Conv2d(c, c, 1, bias=False)
        self.vit = ViTLayer(c, c // head_dim)
        self.peg = nn.Conv2d(c, c, 3, 1, 1, groups=c)
        self.norm = nn.LayerNorm(c)
        self.proj = nn.Conv2d(c, c, 1, bias=False)
        self.proj_bn = nn.BatchNorm2d(c)

    def forward(self, x: torch.Tensor, widths: torch.Tensor, padded: bool) -> torch.Tensor:
        real = RealColumns.of(widths, x.shape[-1]) if padded and self.training else None  # for BatchNorm
        y = self.local1(F.relu(batch_norm_cols(self.local3(x), real, self.local_bn)))
        b, c, h, w = y.shape
        gh, gw = h // 2, w // 2
        # 2x2 patches: one sequence per pixel position inside the patch, over all patches (row-major).
        seq = y.view(b, c, gh, 2, gw, 2).permute(0, 3, 5, 2, 4, 1).reshape(b * 4, gh * gw, c)
        key_mask = None
        if padded:
            cols = col_mask(widths // 2, gw).repeat_interleave(4, dim=0)  # (4B, gw)
            key_mask = cols[:, None, :].expand(b * 4, gh, gw).reshape(b * 4, gh * gw)
        seq = self.vit(seq, key_mask)
        grid = seq.transpose(1, 2).reshape(b * 4, c, gh, gw)
        if padded:
            grid = zero_pad_cols(grid, (widths // 2).repeat_interleave(4, dim=0))
        grid = grid + self.peg(grid)
        seq = self.norm(grid.flatten(2).transpose(1, 2))
        y = seq.view(b, 2, 2, gh, gw, c).permute(0, 5, 3, 1, 4, 2).reshape(b, c, h, w)
        y = F.relu(batch_norm_cols(self.proj(y), real, self.proj_bn))
        return zero_pad_cols(y, widths) if padded else y


class Backbone(nn.Module):
    """Stem, three residual stages with optional MV-PE blocks, final pool: (B,1,64,W) -> (B,d,1,W/R).

    In training mode every BatchNorm takes its batch statistics from the lines' real columns at its own
    resolution (``widths`` shrinks with each stride like the output lengths do), so padding neither shifts
    the normalisation nor leaks into the running statistics inference uses.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        c1, c2, c3 = cfg.dim // 4, cfg.dim // 2, cfg.dim
        self.stem_stride_w = cfg.stem_stride_w
        self.stem = nn.Conv2d(1, c1, 3, (2, cfg.stem_stride_w), 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(c1)
        self.pool = nn.MaxPool2d(3, (2, 1), 1)
        self.stages = nn.ModuleList()
        self.mvpe = nn.ModuleList()
        for cin, cout, stride, has_mv in zip((c1, c1, c2), (c1, c2, c3), ((2, 1), (2, 2), (2, 2)), cfg.mv_stages):
            self.stages.append(nn.ModuleList([BasicBlock(cin, cout, stride), BasicBlock(cout, cout, (1, 1))]))
            self.mvpe.append(MVPEBlock(cout, cfg.mv_head_dim) if has_mv else nn.Identity())

    def forward(self, x: torch.Tensor, widths: torch.Tensor, padded: bool) -> tuple[torch.Tensor, torch.Tensor]:
        mask = zero_pad_cols if padded else (lambda t, w: t)
        x = mask(x, widths)
        widths = widths // self.stem_stride_w
        # ReLU outputs are >= 0, so zeroed padding acts like the max-pool's -inf padding.
        x = self.stem(x)
        cols = RealColumns.of(widths, x.shape[-1]) if padded and self.training else None  # for BatchNorm
        x = mask(self.pool(mask(F.relu(batch_norm_cols(x, cols, self.stem_bn)), widths)), widths)
        for blocks, mv in zip(self.stages, self.mvpe):
            for block in blocks:
                x, widths = block(x, widths, padded)
            if isinstance(mv, MVPEBlock):
                x = mv(x, widths, padded)
        return self.pool(x), widths
