"""Validation during training: greedy recognition of held-out lines and corpus-level CER.

CER = sum of edit distances / sum of reference lengths over all lines (model.md 6.9). The lines come from
whole held-out pages (the trainer never splits a page between training and validation).
"""

from __future__ import annotations

import torch
from torch import nn

from htrgui.core.recognition.decode import best_path
from htrgui.core.recognition.preprocess import batch_lines, width_buckets
from htrgui.core.text import error_rates
from htrgui.core.training.data import TRAIN_MULTIPLE, LineSet


@torch.no_grad()
def recognize_lines(model: nn.Module, codec, images, device: torch.device, max_columns: int = 16000) -> list[str]:
    """Greedy texts of line crops, batched by width (sorted) so padding stays small."""
    was_training = model.training
    model.eval()
    out: list[str] = [""] * len(images)
    try:
        for idx in width_buckets([im.shape[1] for im in images], len(images), max_columns):
            x, w = batch_lines([images[i] for i in idx], TRAIN_MULTIPLE)
            logits, lengths = model(x.to(device), w.to(device))
            best = logits.argmax(-1).cpu()
            for i, row, n in zip(idx, best, lengths.cpu().tolist()):
                out[i] = codec.decode(best_path(row[:n].tolist())[0])
    finally:
        model.train(was_training)
    return out


def evaluate_lines(model: nn.Module, codec, lines: LineSet, device: torch.device) -> dict:
    """CER, WER and counts (``htrgui.core.text``) of ``model`` on ``lines``, greedy decoding."""
    preds = recognize_lines(model, codec, lines.images, device)
    return error_rates(zip(preds, lines.texts)).as_dict()


def evaluate_as_read(model_path, lines: LineSet, language_model: str = "model",
                     project_texts: list[str] | None = None, device: str = "cpu") -> dict:
    """CER, WER and counts of the model file ``model_path`` on ``lines`` decoded as the app reads pages
    (``tasks.recognize.load_recognizer``: beam search with ``language_model``, ``model`` or ``project`` mixed
    with ``project_texts``, the verified lines; greedy when there is none), on the caller's torch threads.

    Validation stays greedy (a fixed, fast yardstick); this is the figure a user sees."""
    from htrgui.core.tasks.recognize import RecognizerSpec, load_recognizer

    threads = torch.get_num_threads()
    recognizer = load_recognizer(RecognizerSpec(model=str(model_path), device=device, language_model=language_model,
                                                texts=list(project_texts or [])))
    torch.set_num_threads(threads)  # the app leaves a core to its window; a measurement keeps its own setting
    results = recognizer.recognize_lines((str(i), im) for i, im in enumerate(lines.images))
    rates = error_rates((r.text, lines.texts[int(r.line_id)]) for r in results)
    decoding = f"beam {recognizer.beam_width} + lm {language_model}" if recognizer.lm is not None else "greedy"
    return {**rates.as_dict(), "decoding": decoding}
