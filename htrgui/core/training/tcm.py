"""The Textual Context Module (TCM): a training-only auxiliary loss (model.md section 4).

For every character of a ground-truth line the module predicts the character from the identities of its
S neighbours on one side (left, then separately right), attending over the recogniser's final features.
It makes the shared visual features linguistically informed; at inference it is neither built nor loaded.

Unlike the original ``make_context_batch`` (a Python double loop issuing small device ops per character),
the contexts are built here with one ``unfold`` over a PAD-bordered id tensor.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def build_contexts(targets: list[torch.Tensor], pad_id: int, window: int = 5,
                   device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Left/right contexts (B, L, S), targets (B, L) and mask (B, L) from per-line id tensors.

    ``left[b, i]`` holds ids ``i-S .. i-1`` and ``right[b, i]`` ids ``i+1 .. i+S`` of line b, PAD outside the
    line; the target itself is in neither. Padded positions carry PAD targets and mask 0.
    """
    device = device or (targets[0].device if targets else torch.device("cpu"))
    batch = len(targets)
    longest = max((len(t) for t in targets), default=0)
    longest = max(longest, 1)
    ids = torch.full((batch, longest), pad_id, dtype=torch.long, device=device)
    for b, t in enumerate(targets):
        ids[b, : len(t)] = t.to(device)
    mask = ids != pad_id
    # Border with S PADs each side; window j of the bordered row covers original positions j-S .. j-1.
    bordered = F.pad(ids, (window, window), value=pad_id)
    windows = bordered.unfold(1, window, 1)  # (B, L + S + 1, S)
    left = windows[:, :longest]
    right = windows[:, window + 1: window + 1 + longest]
    return left, right, ids, mask


class TCMHead(nn.Module):
    """Context embedding -> conv over the window -> mean -> query; single-head cross-attention on features."""

    def __init__(self, num_classes: int, vis_dim: int, txt_dim: int = 256, window: int = 5,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.pad_id = num_classes  # CTC ids 0..C-1 (blank = 0), then PAD
        self.window = window
        self.emb = nn.Embedding(num_classes + 1, txt_dim, padding_idx=self.pad_id)
        self.dir_left = nn.Parameter(torch.randn(1, 1, txt_dim))
        self.dir_right = nn.Parameter(torch.randn(1, 1, txt_dim))
        self.ctx_conv = nn.Conv1d(txt_dim, txt_dim, 3, padding=1)
        self.txt_proj = nn.Linear(txt_dim, vis_dim)
        self.q_norm = nn.LayerNorm(vis_dim)
        self.kv_norm = nn.LayerNorm(vis_dim)
        self.drop = nn.Dropout(dropout)
        self.classifier = nn.Linear(vis_dim, num_classes + 1)

    def _queries(self, ctx: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
        b, length, s = ctx.shape
        e = self.emb(ctx).reshape(b * length, s, -1).transpose(1, 2)  # (B*L, D, S)
        e = self.ctx_conv(e).mean(dim=2).reshape(b, length, -1)
        return self.q_norm(self.txt_proj(e + direction))

    def forward(self, features: torch.Tensor, lengths: torch.Tensor,
                targets: list[torch.Tensor]) -> torch.Tensor:
        """The TCM loss: mean cross-entropy over valid characters of both directions."""
        left, right, tgt, mask = build_contexts(targets, self.pad_id, self.window, features.device)
        kv = self.kv_norm(features)
        frames = torch.arange(features.shape[1], device=features.device)
        key_mask = (frames[None, :] < lengths[:, None].to(features.device))[:, None, :]  # (B, 1, T)
        total = features.new_zeros(())
        for ctx, direction in ((left, self.dir_left), (right, self.dir_right)):
            q = self._queries(ctx, direction)
            out = F.scaled_dot_product_attention(q, kv, kv, attn_mask=key_mask)
            logits = self.classifier(self.drop(out))
            ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), reduction="none")
            total = total + (ce * mask.reshape(-1)).sum()
        return total / (2 * mask.sum().clamp(min=1))

    def extend(self, n_new: int) -> None:
        """Grow the vocabulary by ``n_new`` classes (new codec letters); PAD moves to the end."""
        if n_new <= 0:
            return
        old_c = self.num_classes
        new_c = old_c + n_new
        emb = nn.Embedding(new_c + 1, self.emb.embedding_dim, padding_idx=new_c).to(self.emb.weight.device)
        cls = nn.Linear(self.classifier.in_features, new_c + 1).to(self.classifier.weight.device)
        with torch.no_grad():
            emb.weight[:old_c] = self.emb.weight[:old_c]
            emb.weight[new_c].zero_()
            cls.weight[:old_c] = self.classifier.weight[:old_c]
            cls.bias[:old_c] = self.classifier.bias[:old_c]
        self.emb, self.classifier = emb, cls
        self.num_classes, self.pad_id = new_c, new_c


def tcm_dims(vis_dim: int) -> int:
    """Text width for a recogniser width: 256 for the paper's 512, half the width for smaller models."""
    return max(32, min(256, vis_dim // 2))
