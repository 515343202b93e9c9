"""HTR-ConvText: the line recognition network.

Our own implementation from the description of the paper "HTR-ConvText" (arXiv 2512.05021) as written up
in ``../shared/docs/model.md``: a ResNet-18 style front end with three MobileViT + positional-encoding
(MV-PE) blocks, a hierarchical ConvText encoder (relative-position attention, macaron feed-forwards,
depthwise convolution module, LayerScale, stochastic depth, one down/up level with a skip), a final
LayerNorm and a linear CTC head. The Textual Context Module is training-only and lives with the trainer.

Beyond the paper, lines keep their aspect ratio: height 64, any width. Every operation that mixes columns
(3x3 convs, max-pools, MV-PE attention and its positional conv, encoder attention, depthwise convs, the
GroupNorm statistics and, in training mode, the BatchNorm statistics) sees padding as if it were absent, so
a line padded in a batch gives the same output as the line alone, and the running statistics inference uses
are those training normalised with. Output frame ``t`` covers input columns ``[t*R, (t+1)*R)`` with
``R = reduction``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from htrgui.core.recognition.backbone import Backbone
from htrgui.core.recognition.config import CONFIGS, HEIGHT, REGULARISATION, ModelConfig
from htrgui.core.recognition.layers import ConvTextBlock, Downsample1D, RelPosAttention, Upsample1D, col_mask

__all__ = ["CONFIGS", "HEIGHT", "HTRConvText", "ModelConfig", "build_model", "count_macs", "count_parameters",
           "extend_head", "output_length"]


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


def set_regularisation(model: HTRConvText, p: float) -> HTRConvText:
    """Set dropout, attention dropout and stochastic depth (its top rate; it grows over the blocks as built) of
    ``model`` to ``p``, in the modules and in its config. For a model that underfits its training lines (the
    shipped one reads them at about 15 % CER, unseen ones at 19 %), less regularisation fits more per step."""
    from dataclasses import replace

    from htrgui.core.recognition.layers import DropPath, RelPosAttention

    if not 0.0 <= p < 1.0:
        raise ValueError(f"regularisation must be in [0, 1), not {p}")
    depth = max(model.config.depth - 1, 1)
    for i, block in enumerate(model.blocks):
        for m in block.modules():
            if isinstance(m, DropPath):
                m.p = p * i / depth
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = p
        elif isinstance(m, RelPosAttention):
            m.attn_drop = p
    model.config = replace(model.config, **dict.fromkeys(REGULARISATION, p))
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
