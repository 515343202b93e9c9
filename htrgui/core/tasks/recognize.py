"""Recognising pages: the one path from page lines to model text, for the GUI and ``htrgui recognize``.

Lines a person verified are never read nor overwritten: the rule is ``editing.open_to_model`` (applied here
when picking the lines to read, and again by ``editing.apply_recognition`` when the results are written).
Each page's results come back as a :class:`RecognitionResult`; the caller applies them with
``editing.apply_recognition`` (the GUI as one undoable step per page).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from htrgui.core.document import Page, TextLine
from htrgui.core.editing import lines_to_read
from htrgui.core.errors import Cancelled, HtrError
from htrgui.core.progress import CancelToken, Progress
from htrgui.core.tasks.pages import PageTask

#: line id -> (text, line confidence, character confidences)
LineTexts = dict[str, tuple[str, float | None, list[float] | None]]


@dataclass
class RecognitionResult:
    """What the model read on one page (only lines open to the model). ``stored``: the page as the job read
    it from its file (tasks without lines), for the caller to keep; ``error``: why the page was not read."""

    index: int
    lines: LineTexts
    model_id: str
    stored: Page | None = None
    error: str = ""
    name: str = ""


@dataclass
class RecognizerSpec:
    """Which recogniser a GUI job wants: model name or path ("" = shipped default), device, and the language
    model (``project``, ``model`` or ``none``). For ``project``, ``texts`` are verified lines already at hand
    and ``files`` PAGE files whose verified lines are read in the job (or a function listing them, called in the
    job: finding a project's files looks at each)."""

    model: str = ""
    device: str = "auto"
    language_model: str = "none"
    texts: list[str] = field(default_factory=list)
    files: list[Path] | Callable[[], list[Path]] = field(default_factory=list)
    #: what was read of the files before (the caller keeps it between jobs), or None to read them all
    known: VerifiedTexts | None = None
    #: a word list or text in the documents' language, mixed into the language model ("" for none)
    extra_text: str = ""
    #: why ``extra_text`` was left out (set by the job: the file could not be used), for the report
    problem: str = ""


def verified_texts_of(files: Sequence[Path], texts: Sequence[str] = (), cache: "VerifiedTexts | None" = None
                      ) -> list[str]:
    """The verified line texts given, and those of the PAGE/ALTO files named (unreadable files are skipped;
    with a ``cache``, a file not changed since it was last read is not read again)."""
    from htrgui.core.io import read_document
    from htrgui.core.recognition.lm import verified_texts

    if cache is not None:
        return list(texts) + cache.of(files)
    out = list(texts)
    for path in files:
        try:
            out += verified_texts([read_document(path)])
        except HtrError:
            continue
    return out


class VerifiedTexts:
    """The verified line texts of PAGE/ALTO files, kept between recognitions so that recognising one page of a
    300-page project does not read the 299 others again each time (about 34 ms a file). Keyed by path,
    modification time and size: a page saved since is read anew. Used by one model job at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[str, tuple[tuple[int, int], list[str]]] = {}
        self.reads = 0

    def of(self, files: Sequence[Path]) -> list[str]:
        from htrgui.core.io import read_document
        from htrgui.core.recognition.lm import verified_texts

        out: list[str] = []
        with self._lock:
            for path in files:
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                stamp = (st.st_mtime_ns, st.st_size)
                known = self._known.get(str(path))
                if known is None or known[0] != stamp:
                    self.reads += 1
                    try:
                        known = (stamp, verified_texts([read_document(path)]))
                    except HtrError:
                        known = (stamp, [])
                    self._known[str(path)] = known
                out += known[1]
        return out


class ModelCache:
    """The last recogniser built, kept between jobs so each job does not load the model again. Keyed by the
    model file, its modification time (a fine-tune that rewrites the file is loaded anew) and the device."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._recognizer = None
        self.loads = 0

    def get(self, path: Path, device: str = "auto", threads: int | None = None):
        """A :class:`Recognizer` for ``path`` on ``device`` (built now or reused)."""
        from htrgui.core.recognition.engine import Recognizer

        path = Path(path)
        key = (str(path.resolve()), path.stat().st_mtime_ns, device, threads)
        with self._lock:
            if key != self._key:
                self._recognizer = self._key = None  # free the old model before loading the new one
                self._recognizer = Recognizer(path, device=device, threads=threads)
                self._key = key
                self.loads += 1
            elif self._recognizer.device.type == "cpu":
                import torch

                torch.set_num_threads(threads or torch.get_num_threads())  # another job may have changed it
            return self._recognizer

    def clear(self) -> None:
        with self._lock:
            self._recognizer = self._key = None


def load_recognizer(spec: RecognizerSpec, cache: ModelCache | None = None):
    """A recogniser for ``spec`` (the model from ``cache`` when given), its decoding set for this job.

    ``project`` mixes the shipped language model with the project's verified lines (built here, in tens of
    milliseconds), ``extra_text`` a user's word list (built once per file: seconds); a text that cannot be
    used is left out (``spec.problem`` says why), and a model without a language model is read greedily
    rather than not at all. One core is left
    to the window: on a small CPU, torch on every core makes the interface stutter.

    Raises:
        ModelError: no such model, or a file that is not a model.
    """
    from htrgui.core.recognition.decode import DEFAULT_BEAM
    from htrgui.core.recognition.engine import Recognizer
    from htrgui.core.recognition.library import resolve_model
    from htrgui.core.recognition.lm import LanguageModelError, decoding_lm

    threads = max(1, (os.cpu_count() or 2) - 1)
    path = resolve_model(spec.model or None)
    texts = None
    if spec.language_model == "project":
        texts = verified_texts_of(spec.files() if callable(spec.files) else spec.files, spec.texts, spec.known)
    lm = None
    if spec.language_model != "none":
        if spec.extra_text:
            try:
                lm = decoding_lm(spec.language_model, path, project_texts=texts, extra_text=spec.extra_text)
            except LanguageModelError as exc:  # read without the user's text rather than not at all
                spec.problem = f"The word list was left out: {exc}"
        if lm is None:
            try:
                lm = decoding_lm(spec.language_model, path, project_texts=texts)
            except LanguageModelError:
                lm = None
    recognizer = (cache.get(path, spec.device, threads) if cache is not None
                  else Recognizer(path, device=spec.device, threads=threads))
    # a cached recogniser serves one job at a time (the model lane), so its decoding is set per job
    recognizer.lm = lm
    recognizer.beam_width = DEFAULT_BEAM if lm is not None else 1
    return recognizer


def recognize_lines(recognizer, gray: np.ndarray, lines: Sequence[TextLine],
                    token: CancelToken | None = None) -> Iterator[tuple[str, str, float | None, list[float] | None]]:
    """(line id, text, confidence, character confidences) of each line open to the model, as recognised.

    With a ``token`` lines go to the engine one batch at a time so a cancel request is honoured within a batch;
    without one (nobody can cancel) in the engine's own chunks of four batches, which it sorts by width (less
    padding). A line whose geometry cannot be cut is left as it is (reported as unread, not as a failure).
    """
    from htrgui.core.recognition.linecrop import crop_line

    todo = lines_to_read(lines)
    step = max(1, int(getattr(recognizer, "batch_size", 8))) * (1 if token is not None else 4)
    for start in range(0, len(todo), step):
        if token is not None:
            token.check()
        crops = []
        for line in todo[start:start + step]:
            try:
                crops.append((line.id, crop_line(gray, line)))
            except ValueError:
                crops.append((line.id, None))
        for result in recognizer.recognize_lines(crops):
            if result.error:
                continue
            confs = list(result.char_confidences) if result.text else None
            yield result.line_id, result.text, result.confidence, confs


def recognize_pages(tasks: Sequence[PageTask], load: Callable[[], object],
                    token: CancelToken | None = None) -> Iterator[Progress | RecognitionResult]:
    """Recognise each page's lines (those open to the model), yielding progress and one
    :class:`RecognitionResult` per page in task order. ``load()`` gives the recogniser (called here, in the
    job: loading a model takes seconds). A page that cannot be read gives a result with ``error``; the job
    goes on. Progress counts lines when every task carries its lines, else pages."""
    yield Progress(0, len(tasks), "Loading the model")
    recognizer = load()
    model_id = recognizer.source
    known = all(t.lines is not None for t in tasks)
    total = sum(len(lines_to_read(t.lines)) for t in tasks) if known else len(tasks)
    done = 0
    for n, task in enumerate(tasks):
        if token is not None:
            token.check()
        stored = None
        results: LineTexts = {}
        try:
            lines, stored = task.read()
            todo = lines_to_read(lines)
            if not known:
                yield Progress(n, total, f"Recognising {task.label}")
            if todo:
                gray = task.image()
                for k, (line_id, text, conf, confs) in enumerate(recognize_lines(recognizer, gray, todo, token)):
                    results[line_id] = (text, conf, confs)
                    if known:
                        done += 1
                        yield Progress(done, total, f"Recognising {task.label}")
                    else:
                        yield Progress(n, total, f"Recognising {task.label} (line {k + 1} of {len(todo)})")
        except Cancelled:
            raise  # an HtrError too, but it ends the job rather than the page
        except HtrError as exc:
            yield RecognitionResult(task.index, {}, model_id, stored, str(exc), task.label)
            continue
        yield RecognitionResult(task.index, results, model_id, stored, name=task.label)
    yield Progress(total, total, "Recognition done")
