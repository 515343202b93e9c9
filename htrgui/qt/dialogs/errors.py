"""Errors shown to the user as dialogs, with the technical details one click away.

An archivist does not watch a console: an exception that only reaches stderr is an error nobody saw. So
failures of jobs and uncaught exceptions of slots both end in :func:`show_error`, and are logged as well.
"""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from shiboken6 import isValid

from htrgui.core.errors import HtrError

log = logging.getLogger(__name__)

#: Dialogs currently shown (tests and the excepthook look here; a flood of errors is capped).
_OPEN: list[QMessageBox] = []
MAX_OPEN = 5


def show_error(parent: QWidget | None, title: str, message: str, details: str = "") -> QMessageBox | None:
    """Show ``message`` in a window-modal box with ``details`` (a traceback) behind "Show Details".

    Non-blocking (``open()``, not ``exec()``): it can be called from any slot, including while a job runs.
    Returns the box, or None when too many are already open (the error is still logged).
    """
    log.error("%s: %s\n%s", title, message, details)
    if QApplication.instance() is None:
        print(f"{title}: {message}\n{details}", file=sys.stderr)
        return None
    _OPEN[:] = _shown()
    if len(_OPEN) >= MAX_OPEN:
        return None
    parent = parent or QApplication.activeWindow()
    box = QMessageBox(QMessageBox.Icon.Critical, title, message, QMessageBox.StandardButton.Ok, parent)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    if details:
        box.setDetailedText(details)
    box.finished.connect(lambda _result, b=box: _OPEN.remove(b) if b in _OPEN else None)
    _OPEN.append(box)
    box.open()
    return box


def _shown() -> list[QMessageBox]:
    # a box dies with its parent window without emitting finished(): skip the deleted ones
    return [b for b in _OPEN if isValid(b) and b.isVisible()]


def open_error_boxes() -> list[QMessageBox]:
    """The error dialogs currently shown."""
    return _shown()


def _excepthook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    details = "".join(traceback.format_exception(exc_type, exc, tb))
    if isinstance(exc, HtrError):
        message = str(exc)
    else:
        message = f"Something went wrong: {exc_type.__name__}: {exc}\n\nYour work is saved; please report this."
    show_error(None, "Error", message, details)


def install_excepthook() -> None:
    """Route uncaught exceptions (e.g. raised in a slot) to an error dialog instead of the console."""
    sys.excepthook = _excepthook
