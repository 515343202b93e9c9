"""The recognition engine as the job wiring uses it: load a model once, recognise a page's lines.

Runs in the worker thread only (no Qt here beyond the module's place in the package).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from htrgui.core.document import TextLine
from htrgui.core.progress import CancelToken


def load_recognizer(model: str, device: str = "auto", language_model: str = "none",
                    project_texts: list[str] | None = None):
    """(recognizer, model id) for a model name or path ("" = the shipped default).

    ``language_model``: ``project`` (the shipped language model mixed with one of ``project_texts``, the
    project's verified lines, built here in a few tens of milliseconds), ``model`` or ``none`` (greedy). A model
    without a language model is read greedily rather than not at all.

    One core is left to the window: on a small CPU, torch on every core makes the interface stutter.

    Raises:
        ModelError: no such model, or a file that is not a model.
    """
    import os

    from htrgui.core.recognition.decode import DEFAULT_BEAM
    from htrgui.core.recognition.engine import Recognizer
    from htrgui.core.recognition.library import resolve_model
    from htrgui.core.recognition.lm import LanguageModelError, decoding_lm

    threads = max(1, (os.cpu_count() or 2) - 1)
    path = resolve_model(model or None)
    lm = None
    if language_model != "none":
        try:
            lm = decoding_lm(language_model, path, project_texts=project_texts)
        except LanguageModelError:
            lm = None
    recognizer = Recognizer(path, device=device, threads=threads, lm=lm,
                            beam_width=DEFAULT_BEAM if lm is not None else 1)
    return recognizer, recognizer.source


def project_texts(texts: list[str], files: list) -> list[str]:
    """The verified line texts given, and those of the PAGE files named (pages the window has not loaded)."""
    from htrgui.core.errors import HtrError
    from htrgui.core.io import read_document
    from htrgui.core.recognition.lm import verified_texts

    out = list(texts)
    for path in files:
        try:
            out += verified_texts([read_document(path)])
        except HtrError:
            continue
    return out


def recognize_lines(recognizer, gray: np.ndarray, lines: list[TextLine],
                    token: CancelToken) -> Iterator[tuple[str, str, float | None, list[float] | None]]:
    """(line id, text, confidence, character confidences) of each unverified line, as they are recognised.

    Lines go to the engine one batch at a time so a cancel request is honoured within a batch.
    """
    from htrgui.core.recognition.linecrop import crop_line

    todo = [line for line in lines if line.status != "verified"]
    step = max(1, int(getattr(recognizer, "batch_size", 8)))
    for start in range(0, len(todo), step):
        token.check()
        crops = []
        for line in todo[start:start + step]:
            try:
                crops.append((line.id, crop_line(gray, line)))
            except ValueError:  # a line with unusable geometry is reported as unread, not as a failure
                crops.append((line.id, None))
        for result in recognizer.recognize_lines(crops):
            if result.error:
                continue
            confs = list(result.char_confidences) if result.text else None
            yield result.line_id, result.text, result.confidence, confs
