"""Segmenting pages: one generator for the GUI (a project's pages) and the CLI (image files).

A page that cannot be read gives a :class:`Segmented` with ``error`` set and the job goes on; cancelling
stops between pages (``Cancelled``), the page under way finishes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from htrgui.core.document import Page
from htrgui.core.errors import HtrError
from htrgui.core.progress import CancelToken, Progress
from htrgui.core.segmentation.batch import image_pages, segment_file
from htrgui.core.segmentation.params import SegmentationParams
from htrgui.core.tasks.pages import PageTask


@dataclass
class Segmented:
    """One segmented page (``page``: a new page holding the lines found), or why not. ``stem`` names its output
    file, ``index`` is the task's. ``skipped``: the page had lines already (``only_empty``); ``stored``: the page
    as the job read it from its file, for the caller to keep."""

    path: Path
    stem: str
    page: Page | None = None
    error: str | None = None
    index: int = -1
    skipped: bool = False
    stored: Page | None = None


def segment_pages(tasks: Sequence[PageTask], params: SegmentationParams | None = None,
                  token: CancelToken | None = None, only_empty: bool = False) -> Iterator[Progress | Segmented]:
    """Segment each page, yielding a :class:`Progress` before and a :class:`Segmented` after it. With
    ``only_empty`` a page that has lines (read in the job when the task has none given) is skipped."""
    total = len(tasks)
    for n, task in enumerate(tasks):
        if token is not None:
            token.check()
        yield Progress(n, total, f"Segmenting {task.label}")
        stem = task.name or Path(task.image_path).stem
        stored = None
        try:
            if only_empty:
                lines, stored = task.read()
                if lines:
                    yield Segmented(Path(task.image_path), stem, index=task.index, skipped=True, stored=stored)
                    continue
            page = segment_file(Path(task.image_path), task.page_index, params)
        except HtrError as exc:
            yield Segmented(Path(task.image_path), stem, error=str(exc), index=task.index, stored=stored)
            continue
        yield Segmented(Path(task.image_path), stem, page=page, index=task.index, stored=stored)
    yield Progress(total, total, "Segmentation done")


def segment_files(paths: Sequence[Path], params: SegmentationParams | None = None,
                  cancel: CancelToken | None = None) -> Iterator[Progress | Segmented]:
    """Every page of every image file (``htrgui segment``), in order: multi-page TIFF and PDF give
    ``<stem>_0001`` ... A file that cannot be opened gives one ``Segmented`` with ``error``; the others go on.
    Progress counts files."""
    total = len(paths)
    for n, path in enumerate(map(Path, paths)):
        try:
            pages = image_pages(path)
        except HtrError as exc:
            yield Segmented(path, path.stem, error=str(exc))
            continue
        tasks = [PageTask(k, path, index, name=stem) for k, (index, stem) in enumerate(pages)]
        for item in segment_pages(tasks, params, cancel):
            if isinstance(item, Progress):
                if item.done < len(tasks):
                    yield Progress(n, total, item.message)
                continue
            yield item
    yield Progress(total, total, "Segmentation done")
