"""The recognition engine: line images in, text with confidences out, as a stream.

:class:`Recognizer` picks the device (:func:`htrgui.core.device.pick_device`: CUDA, Apple MPS, else CPU with
all its cores), prepares the model for inference (BatchNorm folded into the convolutions, channels-last on CPU, bf16/fp16 autocast on GPU),
groups lines of similar width into batches, and yields one :class:`LineResult` per line in input order.
Progress and cancellation are the caller's: it is a generator, stop iterating to stop.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch
from torch import nn

from htrgui.core.device import pick_device, usable_cores
from htrgui.core.document import Page
from htrgui.core.editing import lines_to_read
from htrgui.core.recognition.checkpoint import LoadedModel, load_checkpoint
from htrgui.core.recognition.decode import (DEFAULT_INSERTION_BONUS, DEFAULT_LM_WEIGHT, Decoded, beam_search,
                                            beam_search_batch, greedy_from_best)
from htrgui.core.recognition.linecrop import crop_line
from htrgui.core.recognition.preprocess import batch_lines, width_buckets


@dataclass
class LineResult:
    """What the model read on one line. ``error`` says why a line could not be read (text is then empty)."""

    line_id: str
    text: str
    confidence: float
    char_confidences: list[float] = field(default_factory=list)
    error: str = ""
    #: Best-path (greedy) text of the same posteriors, when the recogniser was asked to compare (``evaluate``).
    greedy_text: str | None = None


def fuse_batchnorm(model: nn.Module) -> nn.Module:
    """Fold every eval-mode BatchNorm that follows a conv into that conv (same output, fewer passes)."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    pairs = [("stem", "stem_bn"), ("conv1", "bn1"), ("conv2", "bn2"), ("local3", "local_bn"), ("proj", "proj_bn")]
    for module in model.modules():
        for conv_name, bn_name in pairs:
            conv, bn = getattr(module, conv_name, None), getattr(module, bn_name, None)
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                setattr(module, conv_name, fuse_conv_bn_eval(conv, bn))
                setattr(module, bn_name, nn.Identity())
        shortcut = getattr(module, "shortcut", None)
        if isinstance(shortcut, nn.Sequential) and len(shortcut) == 2 and isinstance(shortcut[1], nn.BatchNorm2d):
            module.shortcut = fuse_conv_bn_eval(shortcut[0], shortcut[1])
    return model


class Recognizer:
    """Runs one model over lines or pages. Build once, reuse for many pages."""

    def __init__(self, model: LoadedModel | str | Path | None = None, *, device: str = "auto",
                 batch_size: int | None = None, beam_width: int = 1, lexicon: frozenset[str] | None = None,
                 threads: int | None = None, lm=None, lm_weight: float = DEFAULT_LM_WEIGHT,
                 insertion_bonus: float = DEFAULT_INSERTION_BONUS, compare_greedy: bool = False) -> None:
        """``lm``: a :class:`~htrgui.core.recognition.lm.MixedLM` (see ``lm.decoding_lm``) for the batched beam
        search of ``beam_width``; without one, width 1 is greedy decoding. ``lexicon`` without ``lm`` keeps the
        word-list beam search. ``compare_greedy`` also fills ``LineResult.greedy_text`` (same forward pass)."""
        if isinstance(model, LoadedModel):
            # the caller may go on training this model: fold BatchNorm in a copy, not in theirs
            import copy

            model = copy.copy(model)
            model.model = copy.deepcopy(model.model)
        else:
            from htrgui.core.recognition.library import resolve_model

            model = load_checkpoint(resolve_model(model))
        self.loaded = model
        self.codec = model.codec
        self.device = pick_device(device)
        if self.device.type == "cpu":
            torch.set_num_threads(threads or usable_cores())
        net = fuse_batchnorm(model.model.eval())
        # NHWC suits oneDNN on CPU and tensor cores on CUDA; MPS is left as it is
        self.channels_last = self.device.type in ("cpu", "cuda")
        if self.channels_last:
            net = net.to(memory_format=torch.channels_last)
        self.model = net.to(self.device)
        self.amp_dtype: torch.dtype | None = None
        if self.device.type == "cuda":
            self.amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        elif self.device.type == "mps":
            self.amp_dtype = torch.float16
        self.batch_size = batch_size or (64 if self.device.type != "cpu" else 8)
        # On a GPU, widths padded to a coarser step give fewer distinct shapes for the kernels to plan for.
        self.pad_multiple = model.config.width_multiple * (1 if self.device.type == "cpu" else 4)
        self.beam_width = beam_width
        self.lexicon = lexicon
        self.lm = lm
        self.lm_weight = lm_weight
        self.insertion_bonus = insertion_bonus
        self.compare_greedy = compare_greedy
        self._last_greedy: list[str] | None = None

    @property
    def source(self) -> str:
        """The ``TextLine.source`` of what this recogniser writes."""
        return f"model:{self.loaded.name}"

    # ----------------------------------------------------------------------------------------- lines

    def _forward(self, images: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        """Posteriors (B, T, C) on the device and output lengths of a batch of uint8 (64, W_i) lines."""
        batch, widths = batch_lines(images, self.pad_multiple)
        batch = batch.to(self.device, non_blocking=True)
        if self.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        autocast = (torch.autocast(self.device.type, dtype=self.amp_dtype) if self.amp_dtype else nullcontext())
        with torch.inference_mode(), autocast:
            logits, lengths = self.model(batch, widths.to(self.device))
        with torch.inference_mode():
            return logits.float().softmax(-1), lengths.cpu()

    def probabilities(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """Per-frame class posteriors (T_i, C) of a batch of uint8 (64, W_i) line images."""
        probs, lengths = self._forward(images)
        probs = probs.cpu().numpy()
        return [probs[i, : int(n)] for i, n in enumerate(lengths.tolist())]

    def decode_batch(self, images: list[np.ndarray]) -> list[Decoded]:
        """Decoded text of a batch of line images."""
        if self.lm is not None or (self.beam_width > 1 and not self.lexicon):
            probs, lengths = self._forward(images)
            probs = probs.cpu().numpy()
            lengths = lengths.tolist()
            out = beam_search_batch(probs, lengths, self.codec, beam_width=self.beam_width, lm=self.lm,
                                    lm_weight=self.lm_weight, insertion_bonus=self.insertion_bonus)
            if self.compare_greedy:
                from htrgui.core.recognition.decode import greedy

                self._last_greedy = [greedy(probs[i, :n], self.codec).text for i, n in enumerate(lengths)]
            return out
        if self.lexicon:
            return [beam_search(p, self.codec, max(self.beam_width, 2), self.lexicon)
                    for p in self.probabilities(images)]
        probs, lengths = self._forward(images)
        with torch.inference_mode():
            best_p, best = probs.max(-1)
            blank = probs[..., 0]
        best_p, best, blank = best_p.cpu().numpy(), best.cpu().numpy(), blank.cpu().numpy()
        return [greedy_from_best(best[i, :n], best_p[i, :n], blank[i, :n], self.codec)
                for i, n in enumerate(lengths.tolist())]

    def recognize_lines(self, lines: Iterable[tuple[str, np.ndarray | None]]) -> Iterator[LineResult]:
        """Stream results for ``(line_id, image)`` pairs in their order; an image of None is an unreadable line."""
        chunk: list[tuple[str, np.ndarray | None]] = []
        for item in lines:
            chunk.append(item)
            if len(chunk) >= 4 * self.batch_size:  # sort a few batches' worth by width, keep memory flat
                yield from self._run_chunk(chunk)
                chunk = []
        if chunk:
            yield from self._run_chunk(chunk)

    def _run_chunk(self, chunk: list[tuple[str, np.ndarray | None]]) -> Iterator[LineResult]:
        valid = [i for i, (_, img) in enumerate(chunk) if img is not None and img.size]
        done: dict[int, LineResult] = {}
        widths = [chunk[i][1].shape[1] for i in valid]
        max_pixels = self.batch_size * 1024 if self.device.type == "cpu" else None
        for group in width_buckets(widths, self.batch_size, max_pixels):
            idx = [valid[g] for g in group]
            self._last_greedy = None
            for n, (i, d) in enumerate(zip(idx, self.decode_batch([chunk[i][1] for i in idx]))):
                done[i] = LineResult(chunk[i][0], d.text, d.confidence, d.char_confidences)
                if self.compare_greedy:
                    done[i].greedy_text = self._last_greedy[n] if self._last_greedy is not None else d.text
        for i, (line_id, _) in enumerate(chunk):
            yield done.get(i) or LineResult(line_id, "", 0.0, [], error="no usable line geometry")

    # ----------------------------------------------------------------------------------------- pages

    def page_lines(self, page: Page, gray: np.ndarray, *, skip_verified: bool = True
                   ) -> Iterator[tuple[str, np.ndarray | None]]:
        """(line id, crop) of each line of ``page`` in reading order; verified lines left out by default."""
        for line in lines_to_read(page.lines()) if skip_verified else page.lines():
            try:
                yield line.id, crop_line(gray, line)
            except ValueError:
                yield line.id, None

    def recognize_page(self, page: Page, gray: np.ndarray | None = None, *, skip_verified: bool = True
                       ) -> Iterator[LineResult]:
        """Stream results for the lines of a page (the image is loaded when not given)."""
        if gray is None:
            from htrgui.core.imaging import load_page_image

            gray = load_page_image(page, mode="L")
        yield from self.recognize_lines(self.page_lines(page, gray, skip_verified=skip_verified))
