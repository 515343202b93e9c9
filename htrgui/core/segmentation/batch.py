"""Segmenting many images: a generator for the CLI and the GUI (progress, cancellation, one error per file)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from htrgui.core.document import Page
from htrgui.core.errors import HtrError
from htrgui.core.progress import CancelToken, Progress
from htrgui.core.segmentation.params import SegmentationParams
from htrgui.core.segmentation.pipeline import segment_page


@dataclass
class Segmented:
    """One segmented page image, or the error that stopped it. ``stem`` names its output file."""

    path: Path
    stem: str
    page: Page | None = None
    error: str | None = None


def image_pages(path: Path) -> list[tuple[int, str]]:
    """(page index, output stem) of every page of an image file: ``<stem>`` or ``<stem>_0001`` ... for
    multi-page TIFF and PDF."""
    from htrgui.core.imaging import page_count

    count = page_count(path)
    return [(i, path.stem if count == 1 else f"{path.stem}_{i + 1:04d}") for i in range(count)]


def segment_file(path: Path, page_index: int = 0, params: SegmentationParams | None = None) -> Page:
    """Load one page of an image file and segment it into a new :class:`Page` (not saved)."""
    from htrgui.core.imaging import load_image

    gray = load_image(path, page_index=page_index, mode="L")
    h, w = gray.shape[:2]
    page = Page(image_filename=path.name, width=w, height=h, image_path=path.resolve(), page_index=page_index)
    page.regions = segment_page(gray, params)
    return page


def segment_files(paths: Sequence[Path], params: SegmentationParams | None = None,
                  cancel: CancelToken | None = None) -> Iterator[Progress | Segmented]:
    """Segment every page of every file, yielding a :class:`Progress` before each page and a
    :class:`Segmented` after it. A file that cannot be read gives a ``Segmented`` with ``error`` set and the
    batch goes on. Stops between pages when ``cancel`` is set (raises ``Cancelled``)."""
    done = 0
    total = len(paths)
    for path in paths:
        path = Path(path)
        try:
            pages = image_pages(path)
        except HtrError as exc:
            done += 1
            yield Segmented(path, path.stem, error=str(exc))
            continue
        for index, stem in pages:
            if cancel is not None:
                cancel.check()
            yield Progress(done, total, f"segmenting {path.name}" + (f" page {index + 1}" if len(pages) > 1 else ""))
            try:
                yield Segmented(path, stem, page=segment_file(path, index, params))
            except HtrError as exc:
                yield Segmented(path, stem, error=str(exc))
        done += 1
    yield Progress(done, total, "segmented")
