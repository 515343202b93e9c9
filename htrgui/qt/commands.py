"""Undoable edits: small ``QUndoCommand``s over the core document, all pushed on the session's stack.

Text and status edits touch one line and remember its previous state; everything that changes structure or
geometry (segmentation results, line tools, recognition results) is a :class:`PageEditCommand` that runs a
core function once and then swaps whole snapshots of the page's regions, which makes any core edit undoable
without a hand-written inverse.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

from PySide6.QtGui import QUndoCommand

from htrgui.core.document import PERSON, Page, TextLine

TEXT_COMMAND_ID = 1001


@dataclass
class LineState:
    """Everything a text edit can change on a line."""

    text: str
    status: str
    source: str
    confidence: float | None
    char_confidences: list[float] | None
    text_changed: bool

    @classmethod
    def of(cls, line: TextLine) -> "LineState":
        confs = list(line.char_confidences) if line.char_confidences is not None else None
        return cls(line.text, line.status, line.source, line.confidence, confs, line.text_changed)

    def apply(self, line: TextLine) -> None:
        line.text = self.text
        line.char_confidences = list(self.char_confidences) if self.char_confidences is not None else None
        line.status = self.status
        line.source = self.source
        line.confidence = self.confidence
        line.text_changed = self.text_changed


class _LineCommand(QUndoCommand):
    def __init__(self, session, index: int, line_id: str, title: str) -> None:
        super().__init__(title)
        self.session = session
        self.index = index
        self.line_id = line_id

    def line(self) -> TextLine:
        found = self.session.page(self.index).find_line(self.line_id)
        if found is None:  # only possible if a structural command was undone out of order
            raise LookupError(f"line {self.line_id} is gone")
        return found[1]


class SetTextCommand(_LineCommand):
    """A person typed in a line. Consecutive keystrokes in the same line merge into one undo step.

    Typing marks the line verified (the person read it); ``keep_status`` is for edits that are not a
    reading, such as replace-all.
    """

    def __init__(self, session, index: int, line_id: str, text: str, keep_status: bool = False) -> None:
        super().__init__(session, index, line_id, "Replace text" if keep_status else "Edit text")
        self.before = LineState.of(self.line())
        self.text = text
        self.keep_status = keep_status

    def id(self) -> int:
        return -1 if self.keep_status else TEXT_COMMAND_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetTextCommand) or (other.index, other.line_id) != (self.index, self.line_id):
            return False
        self.text = other.text
        return True

    def redo(self) -> None:
        status = None
        if self.keep_status:
            status = self.before.status if self.text else "empty"
        self.line().set_text(self.text, source=PERSON, status=status)
        self.session.touch(self.index, self.line_id)

    def undo(self) -> None:
        self.before.apply(self.line())
        self.session.touch(self.index, self.line_id)


class SetStatusCommand(QUndoCommand):
    """Mark lines verified (or back to predicted/empty) without changing their text."""

    def __init__(self, session, index: int, line_ids: list[str], status: str) -> None:
        super().__init__("Verify" if status == "verified" else "Unverify")
        self.session = session
        self.index = index
        self.status = status
        page = session.page(index)
        self.before = {lid: page.find_line(lid)[1].status for lid in line_ids if page.find_line(lid)}

    def _set(self, statuses: dict[str, str]) -> None:
        page = self.session.page(self.index)
        for lid, status in statuses.items():
            found = page.find_line(lid)
            if found is not None:
                found[1].status = status
                # per line, so the editor restyles rows instead of rebuilding them
                self.session.touch(self.index, lid)

    def redo(self) -> None:
        page = self.session.page(self.index)
        wanted = {}
        for lid in self.before:
            line = page.find_line(lid)[1]
            # an empty line cannot be "verified as predicted"; a person confirming it is empty is still verified
            wanted[lid] = self.status if self.status == "verified" else ("predicted" if line.text else "empty")
        self._set(wanted)

    def undo(self) -> None:
        self._set(self.before)


class PageEditCommand(QUndoCommand):
    """Run ``mutate(page)`` once, then undo/redo by restoring snapshots of the page's regions.

    ``mutate`` may return a value (a report of what changed); it is kept in ``result``.
    """

    def __init__(self, session, index: int, title: str, mutate: Callable[[Page], object]) -> None:
        super().__init__(title)
        self.session = session
        self.index = index
        self.mutate = mutate
        self.result = None
        self._before = None
        self._after = None

    def redo(self) -> None:
        page = self.session.page(self.index)
        if self._after is None:
            self._before = copy.deepcopy(page.regions)
            self.result = self.mutate(page)
            self._after = copy.deepcopy(page.regions)
        else:
            page.regions = copy.deepcopy(self._after)
        self.session.touch(self.index)

    def undo(self) -> None:
        self.session.page(self.index).regions = copy.deepcopy(self._before)
        self.session.touch(self.index)


@dataclass
class RecognitionReport:
    """What applying recognition results to one page did."""

    changed: list[tuple[str, str, str]]  # (line id, old text, new text)
    kept_verified: int
    unchanged: int


def apply_recognition(page: Page, results: dict[str, tuple[str, float | None, list[float] | None]],
                      model_id: str) -> RecognitionReport:
    """Write model output into the page, never over a line a person verified."""
    changed, kept, same = [], 0, 0
    for line in page.lines():
        if line.status == "verified":  # whether or not the model was asked about it
            kept += 1
            continue
        if line.id not in results:
            continue
        text, conf, char_confs = results[line.id]
        if text == line.text:
            same += 1
        else:
            changed.append((line.id, line.text, text))
        line.set_text(text, source=model_id, status="predicted" if text else "empty",
                      confidence=conf, char_confidences=char_confs)
    return RecognitionReport(changed, kept, same)


class CoreEditCommand(QUndoCommand):
    """One or more edits already made by ``htrgui.core.editing`` (each with its own undo/redo), as one step.

    The edits are made before the command is pushed, so an invalid request (an ``EditError``) never reaches
    the stack; the first ``redo`` that ``QUndoStack.push`` calls is therefore a no-op.
    """

    def __init__(self, session, index: int, title: str, edits: list) -> None:
        super().__init__(title)
        self.session = session
        self.index = index
        self.edits = list(edits)
        self._pushed = False

    def redo(self) -> None:
        if self._pushed:
            for edit in self.edits:
                edit.redo()
        self._pushed = True
        self.session.touch(self.index)

    def undo(self) -> None:
        for edit in reversed(self.edits):
            edit.undo()
        self.session.touch(self.index)


class ApplyRecognitionCommand(QUndoCommand):
    """Model output for one page, applied line by line (never over verified lines); undo restores each line.

    Only the lines it changes are remembered, so a page of hundreds of lines is applied without copying it.
    """

    def __init__(self, session, index: int, results: dict, model_id: str) -> None:
        super().__init__("Recognise")
        self.session = session
        self.index = index
        self.results = results
        self.model_id = model_id
        self.result: RecognitionReport | None = None
        self._before: dict[str, LineState] = {}
        self._after: dict[str, LineState] = {}

    def redo(self) -> None:
        page = self.session.page(self.index)
        if self.result is None:
            states = {line.id: LineState.of(line) for line in page.lines() if line.id in self.results}
            self.result = apply_recognition(page, self.results, self.model_id)
            for line in page.lines():
                if line.id in states and LineState.of(line) != states[line.id]:
                    self._before[line.id] = states[line.id]
                    self._after[line.id] = LineState.of(line)
            for lid in self._after:
                self.session.touch(self.index, lid)
        else:
            self._restore(self._after)

    def undo(self) -> None:
        self._restore(self._before)

    def _restore(self, states: dict[str, LineState]) -> None:
        page = self.session.page(self.index)
        for lid, state in states.items():
            found = page.find_line(lid)
            if found is not None:
                state.apply(found[1])
                self.session.touch(self.index, lid)
