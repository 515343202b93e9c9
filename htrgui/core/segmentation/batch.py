"""Segmenting an image file: its pages and one page as a new :class:`Page` (the batch job is ``tasks.segment``)."""

from __future__ import annotations

from pathlib import Path

from htrgui.core.document import Page
from htrgui.core.segmentation.params import SegmentationParams
from htrgui.core.segmentation.pipeline import segment_page


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
