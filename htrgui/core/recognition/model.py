"""HTR-ConvText: the line recognition network.

Our own implementation from the description of the paper "HTR-ConvText" (arXiv 2512.05021) as written up
in ``../shared/docs/model.md``: a ResNet-18 style front end with three MobileViT + positional-encoding
(MV-PE) blocks, a hierarchical ConvText encoder (relative-position attention, macaron feed-forwards,
depthwise convolution module, LayerScale, stochastic depth, one down/up level with a skip), a final
LayerNorm and a linear CTC head. The Textual Context Module is training-only and lives with the trainer.

Beyond the paper, lines keep their aspect ratio: height 64, any width. Every operation that mixes columns
(3x3 convs, max-pools, MV-PE attention and its positional conv, encoder attention, depthwise convs and the
GroupNorm statistics) sees padding as if it were absent, so a line padded in a batch gives the same output
as the line alone. Output frame ``t`` covers input columns ``[t*R, (t+1)*R)`` with ``R = reduction``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

import torch
import torch.nn.functional as F
from torch import nn

HEIGHT = 64


@dataclass(frozen=True)
class ModelConfig:
    """Architecture knobs. ``base`` is the paper model; see :data:`CONFIGS`."""

    dim: int = 512               # encoder width d; backbone stages use d/4, d/2, d
    depth: int = 8               # ConvText blocks
    heads: int = 8               # encoder attention heads
    mlp_ratio: float = 4.0       # encoder FFN hidden = mlp_ratio * d
    conv_kernel: int = 7         # encoder depthwise conv kernel
    down_after: int = 3          # downsample after this many blocks (0 = no hierarchy)
    up_after: int = 7            # upsample + skip after this many blocks
    mv_head_dim: int = 64        # MV-PE attention head dimension
    mv_stages: tuple[bool, bool, bool] = (True, True, True)  # which stages carry an MV-PE block
    stem_stride_w: int = 1       # 2 halves the frame rate (faster, fewer CTC frames per letter)
    num_classes: int = 80        # codec size incl. blank
    max_rel_pos: int = 128       # relative-bias table covers offsets in (-max_rel_pos, max_rel_pos)
    standardize: bool = False    # per-line input standardisation (faded ink, dark scans)
    dropout: float = 0.1
    attn_dropout: float = 0.1
    drop_path: float = 0.1       # stochastic depth, grows linearly to this over the blocks
    layer_scale_init: float = 1e-5  # LayerScale start; the paper's 1e-5 makes blocks start as identities

    @property
    def reduction(self) -> int:
        """Input columns per output frame."""
        return 4 * self.stem_stride_w

    @property
    def width_multiple(self) -> int:
        """Input widths are padded (white) to a multiple of this so each MV-PE sees whole 2x2 patches."""
        return 2 * self.reduction

    def to_dict(self) -> dict:
        d = asdict(self)
        d["mv_stages"] = list(self.mv_stages)
        return d

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        data = dict(data)
        if "mv_stages" in data:
            data["mv_stages"] = tuple(bool(x) for x in data["mv_stages"])
        return cls(**data)

    def with_classes(self, num_classes: int) -> "ModelConfig":
        return replace(self, num_classes=num_classes)


#: Named configurations. ``base`` reproduces the paper (65,920,016 parameters with 80 classes).
#: ``small`` is the CPU model (3.4M parameters, 0.42 GMAC per 64x512 line, 1/38 of base): d=128 with
#: MV-PE head dim 32, no MV-PE block on the first stage and a stride-2 stem in width (T = W/8, still 2-4
#: frames per handwritten letter at height 64). Measured on 2 shared cores, the high-resolution front end
#: (stage 1 and its MV-PE attention over W/2 tokens) dominated CPU time, and d=192/160 ran 3-6x slower than
#: d=128 for 1.6-2.2x the multiply-adds. ``tiny`` is for tests.
CONFIGS: dict[str, ModelConfig] = {
    "base": ModelConfig(),
    "small": ModelConfig(dim=128, depth=6, heads=4, mlp_ratio=4.0, down_after=2, up_after=5,
                         mv_head_dim=32, mv_stages=(False, True, True), stem_stride_w=2),
    "tiny": ModelConfig(dim=64, depth=2, heads=2, mlp_ratio=2.0, down_after=1, up_after=2,
                        mv_head_dim=16, mv_stages=(False, True, True), stem_stride_w=2, dropout=0.0,
                        attn_dropout=0.0, drop_path=0.0, layer_scale_init=0.1),
}


# ----------------------------------------------------------------------------------------------- masks

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


# -------------------------------------------------------------------------------------------- backbone

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
        y = F.relu(self.bn1(self.conv1(x)))
        if padded:
            y = zero_pad_cols(y, out_w)
        y = F.relu(self.bn2(self.conv2(y)) + self.shortcut(x))
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
        y = self.local1(F.relu(self.local_bn(self.local3(x))))
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
        y = F.relu(self.proj_bn(self.proj(y)))
        return zero_pad_cols(y, widths) if padded else y


class Backbone(nn.Module):
    """Stem, three residual stages with optional MV-PE blocks, final pool: (B,1,64,W) -> (B,d,1,W/R)."""

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
        x = mask(self.pool(mask(F.relu(self.stem_bn(self.stem(x))), widths)), widths)
        for blocks, mv in zip(self.stages, self.mvpe):
            for block in blocks:
                x, widths = block(x, widths, padded)
            if isinstance(mv, MVPEBlock):
                x = mv(x, widths, padded)
        return self.pool(x), widths


# --------------------------------------------------------------------------------------------- encoder

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
    """GroupNorm with one group over (C, valid T) only, so padding does not shift the statistics."""
    if lengths is None:
        return norm(x)
    m = col_mask(lengths, x.shape[-1]).to(x.dtype)[:, None, :]  # (B,1,T)
    count = (lengths.to(x.dtype) * x.shape[1]).clamp(min=1)[:, None, None]
    mean = (x * m).sum(dim=(1, 2), keepdim=True) / count
    var = (((x - mean) * m) ** 2).sum(dim=(1, 2), keepdim=True) / count
    y = (x - mean) / torch.sqrt(var + norm.eps)
    return y * norm.weight[None, :, None] + norm.bias[None, :, None]


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


# ------------------------------------------------------------------------------------------------ model

class HTRConvText(nn.Module):
    """The full recogniser. ``head`` is the CTC classifier (extend it with :func:`extend_head`)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        if cfg.depth > 0 and cfg.down_after and not 0 < cfg.down_after < cfg.up_after <= cfg.depth:
            raise ValueError(f"need 0 < down_after < up_after <= depth, got {cfg}")
        self.config = cfg
        self.backbone = Backbone(cfg)
        rates = [cfg.drop_path * i / max(cfg.depth - 1, 1) for i in range(cfg.depth)]
        self.blocks = nn.ModuleList([ConvTextBlock(cfg, r) for r in rates])
        self.down = Downsample1D(cfg.dim) if cfg.down_after else None
        self.up = Upsample1D(cfg.dim) if cfg.down_after else None
        self.norm = nn.LayerNorm(cfg.dim, eps=1e-6)
        self.head = nn.Linear(cfg.dim, cfg.num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, RelPosAttention):
                nn.init.zeros_(m.rel_bias.weight)

    def prepare(self, images: torch.Tensor, widths: torch.Tensor, padded: bool = True
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Pad the batch (white) to the width multiple, round widths up to it, standardise if configured."""
        if images.dim() != 4 or images.shape[1] != 1 or images.shape[2] != HEIGHT:
            raise ValueError(f"expected images of shape (B, 1, {HEIGHT}, W), got {tuple(images.shape)}")
        mult = self.config.width_multiple
        widths = widths.to(images.device).long().clamp(min=1, max=images.shape[-1])
        if padded:
            # What lies between a line's width and the next multiple is white, whatever the batch held there.
            images = torch.where(col_mask(widths, images.shape[-1])[:, None, None, :], images,
                                 torch.ones((), dtype=images.dtype, device=images.device))
        pad = -images.shape[-1] % mult
        if pad:
            images = F.pad(images, (0, pad), value=1.0)
        widths = (widths + mult - 1) // mult * mult
        if self.config.standardize:
            m = col_mask(widths, images.shape[-1]).to(images.dtype)[:, None, None, :]
            count = (m.sum(dim=(1, 2, 3), keepdim=True) * HEIGHT).clamp(min=1)
            mean = (images * m).sum(dim=(1, 2, 3), keepdim=True) / count
            var = (((images - mean) * m) ** 2).sum(dim=(1, 2, 3), keepdim=True) / count
            images = (images - mean) / torch.sqrt(var + 1e-5)
        return images, widths

    def forward_features(self, images: torch.Tensor, widths: torch.Tensor | None = None
                         ) -> tuple[torch.Tensor, torch.Tensor]:
        """Final-LayerNorm features (B, T, d) and valid lengths (B,). Steps past a length are undefined."""
        padded = widths is not None and bool((widths < images.shape[-1]).any())
        if widths is None:
            widths = torch.full((images.shape[0],), images.shape[-1], dtype=torch.long, device=images.device)
        images, widths = self.prepare(images, widths, padded)
        fmap, lengths = self.backbone(images, widths, padded)
        x = fmap.flatten(2).transpose(1, 2)  # (B, T, d): H is 1, so tokens are left to right
        mask_len = lengths if padded else None
        skip, skip_len = None, mask_len
        cur = mask_len
        for i, block in enumerate(self.blocks):
            if self.down is not None and i == self.config.down_after:
                skip = x
                x = self.down(x, cur)
                cur = None if cur is None else (cur + 1) // 2
            if self.up is not None and i == self.config.up_after:
                x = self.up(x, skip.shape[1]) + skip
                cur = skip_len
            x = block(x, cur)
        if self.up is not None and self.config.up_after == len(self.blocks):
            x = self.up(x, skip.shape[1]) + skip
        return self.norm(x), lengths

    def forward(self, images: torch.Tensor, widths: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """CTC logits (B, T, C) and output lengths (B,)."""
        features, lengths = self.forward_features(images, widths)
        return self.head(features), lengths


def build_model(config: ModelConfig | str, num_classes: int | None = None) -> HTRConvText:
    """A freshly initialised model from a config or a config name."""
    cfg = CONFIGS[config] if isinstance(config, str) else config
    if num_classes is not None:
        cfg = cfg.with_classes(num_classes)
    return HTRConvText(cfg)


def extend_head(model: HTRConvText, n_new: int) -> HTRConvText:
    """Add ``n_new`` classes to the head, keeping the trained rows (new rows start neutral)."""
    if n_new <= 0:
        return model
    old = model.head
    new = nn.Linear(old.in_features, old.out_features + n_new).to(old.weight.device, old.weight.dtype)
    with torch.no_grad():
        nn.init.xavier_uniform_(new.weight)
        new.weight[: old.out_features] = old.weight
        new.bias.zero_()
        new.bias[: old.out_features] = old.bias
        # New letters start a little below the average logit so the old model's output is unchanged at first.
        new.bias[old.out_features:] = old.bias.mean() - 1.0
    model.head = new
    model.config = model.config.with_classes(new.out_features)
    return model


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_macs(model_or_config: HTRConvText | ModelConfig | str, width: int = 1024) -> int:
    """Multiply-adds of one forward pass over a 64 x ``width`` line (matmuls, convs, attention).

    Counted on a copy on the ``meta`` device, so nothing is computed and no memory is used.
    """
    from torch.utils.flop_counter import FlopCounterMode

    cfg = model_or_config.config if isinstance(model_or_config, HTRConvText) else (
        CONFIGS[model_or_config] if isinstance(model_or_config, str) else model_or_config)
    with torch.device("meta"):
        model = HTRConvText(cfg).eval()
        x = torch.ones(1, 1, HEIGHT, width)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    return int(counter.get_total_flops() // 2)


def output_length(width: int, cfg: ModelConfig) -> int:
    """Frames the model emits for an input of ``width`` columns."""
    mult = cfg.width_multiple
    return math.ceil(width / mult) * mult // cfg.reduction
