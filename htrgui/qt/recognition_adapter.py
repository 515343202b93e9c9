"""The recognition engine as the job wiring uses it: load a model once, recognise a page's lines.

Runs in the worker thread only (no Qt here beyond the module's place in the package).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from htrgui.core.document import TextLine
from htrgui.core.errors import ModelError
from htrgui.core.progress import CancelToken


def load_recognizer(model: str, device: str = "auto"):
    """(recognizer, model id) for a model name or path ("" = the shipped default).

    Raises:
        ModelError: no such model, or the engine is not available.
    """
    try:
        from htrgui.core.recognition import engine, library
    except ImportError as exc:
        raise ModelError(f"the recognition engine is not available ({exc})") from None
    path = library.resolve_model(model) if model else library.default_model_path()
    if path is None:
        raise ModelError("no recognition model found: import one (Model ▸ Models…) or train one")
    recognizer = engine.Recognizer.load(path, device=None if device == "auto" else device)
    return recognizer, f"model:{getattr(recognizer, 'name', None) or path.stem}"


def recognize_lines(recognizer, gray: np.ndarray, lines: list[TextLine],
                    token: CancelToken) -> Iterator[tuple[str, str, float | None, list[float] | None]]:
    """(line id, text, confidence, character confidences) for each line, as they are recognised."""
    for result in recognizer.recognize(gray, lines, cancel=token):
        if not hasattr(result, "line_id"):
            continue  # progress objects of the engine: our caller reports its own
        token.check()
        confs = list(result.char_confidences) if result.char_confidences is not None else None
        yield result.line_id, result.text, result.confidence, confs
