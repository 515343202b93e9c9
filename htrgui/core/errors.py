"""Typed errors. Every message names the file (and element) at fault so a user can act on it."""

from __future__ import annotations


class HtrError(Exception):
    """Base class of every error the app reports to a user (the CLI prints it without a traceback)."""


class FormatError(HtrError):
    """A PAGE, ALTO or other input file that cannot be read; names the file and, where known, the element."""

    def __init__(self, message: str, path: object = None, element: str | None = None) -> None:
        where = f"{path}" if path is not None else ""
        if element:
            where = f"{where} ({element})" if where else element
        super().__init__(f"{where}: {message}" if where else message)
        self.path = path
        self.element = element


class ImageError(HtrError):
    """An image that cannot be opened: missing, corrupt, unsupported or too large."""


class ModelError(HtrError):
    """A model file that is not ours, is damaged, or does not fit the task."""


class Cancelled(HtrError):
    """Raised inside long work when the caller asked it to stop."""
