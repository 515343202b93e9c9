"""Plain-text export: one line per text line, regions separated by a blank line, in reading order."""

from __future__ import annotations

from pathlib import Path

from htrgui.core.document import Page
from htrgui.core.fileio import atomic_write_text


def page_text(page: Page) -> str:
    """The page's text as written by :func:`write_text` (empty string for a page without text lines)."""
    return page.text()


def write_text(page: Page, path: Path | str) -> None:
    """Write the page's text to ``path`` (UTF-8, ``\\n`` line ends), atomically."""
    atomic_write_text(path, page_text(page))
