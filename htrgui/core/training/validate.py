"""Validation during training: greedy recognition of held-out lines and corpus-level CER.

CER = sum of edit distances / sum of reference lengths over all lines (model.md 6.9). The lines come from
whole held-out pages (the trainer never splits a page between training and validation).
"""

from __future__ import annotations

import torch
from torch import nn

from htrgui.core.text import error_rates
from htrgui.core.training.data import LineSet, collate
from htrgui.core.training.losses import greedy_ids


@torch.no_grad()
def recognize_lines(model: nn.Module, codec, images, device: torch.device, max_columns: int = 16000) -> list[str]:
    """Greedy texts of line crops, batched by width (sorted) so padding stays small."""
    was_training = model.training
    model.eval()
    order = sorted(range(len(images)), key=lambda i: images[i].shape[1])
    out: list[str] = [""] * len(images)
    try:
        start = 0
        while start < len(order):
            end = start + 1
            while end < len(order) and (end - start + 1) * images[order[end]].shape[1] <= max_columns:
                end += 1
            idx = order[start:end]
            x, w = collate([images[i] for i in idx])
            logits, lengths = model(x.to(device), w.to(device))
            for i, ids in zip(idx, greedy_ids(logits, lengths)):
                out[i] = codec.decode(ids)
            start = end
    finally:
        model.train(was_training)
    return out


def evaluate_lines(model: nn.Module, codec, lines: LineSet, device: torch.device) -> dict:
    """CER, WER and counts (``htrgui.core.text``) of ``model`` on ``lines``, greedy decoding."""
    preds = recognize_lines(model, codec, lines.images, device)
    return error_rates(zip(preds, lines.texts)).as_dict()
