"""What a job gets for one page: copies, never the live document, and the page read in the job when the caller
has not loaded it (a project's hundreds of PAGE files are read in the worker, not on the GUI thread)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from htrgui.core.document import Page, TextLine


@dataclass
class PageTask:
    """One page for a job. ``index`` is the caller's key (the GUI's page index), ``name`` its label (the
    CLI's output stem). ``lines`` are copies of the page's lines; when None, ``load()`` reads the page in the
    job (and the job hands that page back so the caller can keep it). ``gray``: the image when the caller
    has it already."""

    index: int
    image_path: Path
    page_index: int = 0
    lines: list[TextLine] | None = None
    load: Callable[[], Page] | None = None
    gray: np.ndarray | None = None
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or Path(self.image_path).name

    def read(self) -> tuple[list[TextLine], Page | None]:
        """(lines, the page read here or None when the caller gave the lines)."""
        if self.lines is not None:
            return self.lines, None
        if self.load is None:
            return [], None
        page = self.load()
        return list(page.lines()), page

    def image(self) -> np.ndarray:
        """The page image as gray levels (loaded here unless the caller gave it)."""
        if self.gray is not None:
            return self.gray
        from htrgui.core.imaging import load_image

        return load_image(self.image_path, self.page_index, mode="L")


@dataclass
class PageRead:
    """A page read by :func:`read_pages`, or why it could not be."""

    index: int
    page: Page | None = None
    error: str = ""


def read_pages(loads, token=None):
    """Read pages off the GUI thread: ``loads`` is ``[(index, load), ...]``; yields progress and a
    :class:`PageRead` per page (a page that cannot be read gives its error and the others go on)."""
    from htrgui.core.errors import HtrError
    from htrgui.core.progress import Progress

    loads = list(loads)
    for n, (index, load) in enumerate(loads):
        if token is not None:
            token.check()
        yield Progress(n, len(loads), "Reading pages")
        try:
            yield PageRead(index, load())
        except HtrError as exc:
            yield PageRead(index, None, str(exc))
    yield Progress(len(loads), len(loads), "Pages read")


@dataclass
class Unverified:
    """How many lines of a page hold model text nobody verified; ``stored``: the page as read in the job."""

    index: int
    lines: int
    stored: Page | None = None


def count_unverified(tasks, token=None):
    """For each :class:`PageTask`, an :class:`Unverified` (pages that cannot be read are left out): the lines
    a better model may read again (``editing.open_to_model``) that already hold text."""
    from htrgui.core.editing import open_to_model
    from htrgui.core.errors import HtrError

    for task in tasks:
        if token is not None:
            token.check()
        try:
            lines, stored = task.read()
        except HtrError:
            continue
        yield Unverified(task.index, sum(1 for ln in lines if open_to_model(ln) and ln.text), stored)
