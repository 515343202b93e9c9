"""Losses and validation of the trainer: CTC as in the recipe, frame-level distillation, page validation."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def ctc_loss(logits: torch.Tensor, lengths: torch.Tensor, targets: list[torch.Tensor]) -> torch.Tensor:
    """CTC summed over each line's frames and averaged over the batch (model.md 6.4); blank = 0.

    Impossible alignments give 0 instead of inf (zero_infinity) so one bad label cannot poison a batch.
    """
    log_probs = F.log_softmax(logits.float(), dim=-1).transpose(0, 1)  # (T, B, C)
    flat = torch.cat(targets).to(logits.device) if targets else torch.zeros(0, dtype=torch.long)
    target_lengths = torch.tensor([len(t) for t in targets], dtype=torch.long)
    losses = F.ctc_loss(log_probs, flat, lengths.cpu(), target_lengths, blank=0, reduction="none",
                        zero_infinity=True)
    return losses.mean()


def distill_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, lengths: torch.Tensor,
                 temperature: float = 2.0) -> torch.Tensor:
    """Frame-level KL(teacher || student) on temperature-softened CTC posteriors, times T^2.

    When the teacher emits a multiple of the student's frames (``base`` T = W/4, ``small`` T = W/8) its
    posteriors are averaged over each group of frames, which keeps them a distribution over the same span.
    A student with more classes (letters the teacher lacks) gets probability 0 for them from the teacher.
    """
    s_t, t_t = student_logits.shape[1], teacher_logits.shape[1]
    t_prob = F.softmax(teacher_logits.float() / temperature, dim=-1)
    if t_t != s_t:
        t_prob = F.adaptive_avg_pool1d(t_prob.transpose(1, 2), s_t).transpose(1, 2)
    extra = student_logits.shape[-1] - t_prob.shape[-1]
    if extra > 0:
        t_prob = F.pad(t_prob, (0, extra))
    s_logp = F.log_softmax(student_logits.float() / temperature, dim=-1)
    kl = (t_prob * (torch.log(t_prob.clamp_min(1e-8)) - s_logp)).sum(-1)  # (B, T)
    mask = torch.arange(s_t, device=kl.device)[None, :] < lengths.to(kl.device)[:, None]
    return (kl * mask).sum() / mask.sum().clamp(min=1) * temperature ** 2
