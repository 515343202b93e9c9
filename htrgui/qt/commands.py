"""Undo: every change to a page is a core :class:`~htrgui.core.editing.Edit`, and one :class:`EditCommand`
puts one or more of them on the session's stack as one step.

The edits are made before the command is pushed, so a refused request (an ``EditError``) never reaches the
stack, and undo/redo restore the page's own objects (a view holding a ``TextLine`` keeps a valid reference).
Text, status and recognition edits refresh only the lines they changed; structural ones the whole page.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtGui import QUndoCommand

from htrgui.core import editing
from htrgui.core.document import Page
from htrgui.core.editing import Edit, RecognitionReport

__all__ = ["EditCommand", "RecognitionReport", "change_command", "recognition_command", "status_command",
           "text_command"]

TEXT_COMMAND_ID = 1001


class EditCommand(QUndoCommand):
    """Edits already made to page ``index``, as one undo step. ``merge_key``: consecutive commands with the
    same key merge into one step (keystrokes in one line)."""

    def __init__(self, session, index: int, title: str, edits: list[Edit], merge_key: object = None) -> None:
        super().__init__(title)
        self.session = session
        self.index = index
        self.edits = list(edits)
        self.merge_key = merge_key
        self._pushed = False

    @property
    def result(self) -> object:
        """The last edit's report (``apply_recognition``: a :class:`RecognitionReport`)."""
        return self.edits[-1].result if self.edits else None

    def id(self) -> int:
        return TEXT_COMMAND_ID if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, EditCommand) or other.merge_key != self.merge_key or other.index != self.index:
            return False
        self.edits += other.edits
        return True

    def redo(self) -> None:
        if self._pushed:  # the first redo is QUndoStack.push's: the edits are already made
            for edit in self.edits:
                edit.redo()
        self._pushed = True
        self._touch()

    def undo(self) -> None:
        for edit in reversed(self.edits):
            edit.undo()
        self._touch()

    def _touch(self) -> None:
        if all(edit.lines_only for edit in self.edits):
            # per line, so the editor restyles rows instead of rebuilding them
            for line_id in dict.fromkeys(lid for edit in self.edits for lid in edit.changed):
                self.session.touch(self.index, line_id)
        else:
            self.session.touch(self.index)


def text_command(session, index: int, line_id: str, text: str, keep_status: bool = False) -> EditCommand:
    """A person typed in a line (consecutive keystrokes in one line merge), or replace-all (``keep_status``:
    not a reading, so it does not verify the line, and does not merge)."""
    edit = editing.set_text(session.page(index), line_id, text, keep_status=keep_status)
    return EditCommand(session, index, "Replace text" if keep_status else "Edit text", [edit],
                       merge_key=None if keep_status else ("text", index, line_id))


def status_command(session, index: int, line_ids: list[str], status: str) -> EditCommand:
    """Mark lines verified (or back to predicted/empty) without changing their text."""
    edit = editing.set_status(session.page(index), line_ids, status)
    return EditCommand(session, index, "Verify" if status == "verified" else "Unverify", [edit])


def recognition_command(session, index: int, results: dict, model_id: str) -> EditCommand:
    """Model output for one page, never over verified lines; only the lines it changes are remembered."""
    return EditCommand(session, index, "Recognise", [editing.apply_recognition(session.page(index), results,
                                                                               model_id)])


def change_command(session, index: int, title: str, mutate: Callable[[Page], object]) -> EditCommand:
    """Whatever ``mutate(page)`` changes (a new segmentation), as one step; ``result`` is what it returned."""
    return EditCommand(session, index, title, [editing.change(session.page(index), title.lower(), mutate)])
