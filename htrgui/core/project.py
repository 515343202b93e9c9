"""A project: a folder of scans with one PAGE-XML 2019 file per page in ``page/`` beside them.

This is the layout Transkribus and OCR-D use, so a project folder can be given to those tools as it is.

Naming (see docs/formats.md):
- a single-page image ``scan.jpg`` is stored in ``page/scan.xml``;
- page N (from 1) of a multi-page TIFF or PDF ``book.pdf`` is stored in ``page/book_p0001.xml`` ...;
  its ``imageFilename`` is ``book.pdf`` and ``Page/@custom`` holds ``htrgui {pageIndex:N-1;}``;
- two scans with the same stem (``a.jpg``, ``a.png``) are named ``a_jpg``, ``a_png``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from htrgui.core.document import Page
from htrgui.core.errors import HtrError, ImageError
from htrgui.core.imaging import SUFFIXES, image_size, page_count

PAGE_FOLDER = "page"


@dataclass(frozen=True)
class PageEntry:
    """One page of the project: an image (and page inside it) and where its PAGE-XML lives."""

    image_path: Path
    page_index: int
    name: str
    xml_path: Path


def _natural_key(name: str) -> list:
    """Sort ``scan2`` before ``scan10``."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


class Project:
    """The scans of a folder, in natural name order, with their pages."""

    def __init__(self, folder: Path, entries: list[PageEntry], skipped: list[str],
                 unreadable: list[tuple[Path, str]] | None = None) -> None:
        self.folder = folder
        self.entries = entries
        #: Files that looked like scans but could not be read (with the reason), for the user to see.
        self.skipped = skipped
        #: The same as (file, reason), for the page list to show them as unreadable.
        self.unreadable = unreadable or []

    @property
    def page_folder(self) -> Path:
        return self.folder / PAGE_FOLDER

    @classmethod
    def open(cls, folder: Path | str) -> Project:
        """Scan ``folder`` (not recursively) for images and PDFs.

        ``folder`` may also be one scan (an image, a multi-page TIFF or a PDF): the project is then its folder,
        limited to that file's pages, stored in the same ``page/`` folder.

        Raises:
            HtrError: the folder does not exist, or the file is not a scan.
        """
        folder = Path(folder).resolve()
        only: Path | None = None
        if folder.is_file():
            if folder.suffix.lower() not in SUFFIXES:
                raise HtrError(f"{folder}: not a scan (expected one of {', '.join(SUFFIXES)})")
            folder, only = folder.parent, folder
        if not folder.is_dir():
            raise HtrError(f"{folder}: project folder not found")
        files = sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES
                        and not p.name.startswith(".")), key=lambda p: _natural_key(p.name))
        stems: dict[str, int] = {}
        for p in files:
            stems[p.stem] = stems.get(p.stem, 0) + 1
        entries, skipped, unreadable = [], [], []
        taken: set[str] = set()
        for p in files:
            if only is not None and p != only:
                continue
            base = p.stem if stems[p.stem] == 1 else f"{p.stem}_{p.suffix.lower().lstrip('.')}"
            try:
                if p.stat().st_size == 0:
                    raise ImageError(f"{p}: empty file (0 bytes)")
                n = page_count(p)
            except (ImageError, OSError) as exc:
                skipped.append(str(exc))
                reason = str(exc)
                unreadable.append((p, reason[len(str(p)) + 2:] if reason.startswith(f"{p}: ") else reason))
                continue
            for i in range(n):
                name = base if n == 1 else f"{base}_p{i + 1:04d}"
                if name in taken:  # e.g. "a_p0001.png" beside a multi-page "a.tif"
                    name = f"{name}_{p.suffix.lower().lstrip('.')}"
                taken.add(name)
                entries.append(PageEntry(p, i, name, folder / PAGE_FOLDER / f"{name}.xml"))
        return cls(folder, entries, skipped, unreadable)

    def entry(self, name: str) -> PageEntry:
        """The entry with this name (KeyError when none)."""
        for e in self.entries:
            if e.name == name:
                return e
        raise KeyError(name)

    def source_xml(self, entry: PageEntry) -> Path | None:
        """The file a page's content comes from: its ``page/<name>.xml``, else a PAGE or ALTO file beside a
        single-page scan (``scan.jpg`` + ``scan.xml``, as eScriptorium and Transkribus exports come), else None.
        """
        if entry.xml_path.is_file():
            return entry.xml_path
        sibling = entry.image_path.with_suffix(".xml")
        if entry.page_index == 0 and sibling.is_file() and page_count(entry.image_path) == 1:
            return sibling
        return None

    def load_page(self, entry: PageEntry) -> Page:
        """The stored page (see :meth:`source_xml`), or an empty page of the image's size when there is none.

        A page read from a sibling PAGE/ALTO file is still saved to the project's own ``page/<name>.xml``:
        the other tool's file is never written.

        Raises:
            FormatError: the stored PAGE-XML cannot be read.
            ImageError: no XML yet and the image cannot be read.
        """
        source = self.source_xml(entry)
        if source is not None:
            from htrgui.core.io import read_document

            page = read_document(source)
            page.image_path = entry.image_path
            page.page_index = entry.page_index
            page.xml_path = entry.xml_path
            return page
        width, height = image_size(entry.image_path, entry.page_index)
        return Page(image_filename=entry.image_path.name, width=width, height=height, image_path=entry.image_path,
                    page_index=entry.page_index, xml_path=entry.xml_path)

    def save_page(self, page: Page) -> Path:
        """Write ``page`` atomically to its ``page/<name>.xml`` and return that path."""
        from htrgui.core.pagexml import write_page

        target = page.xml_path
        if target is None:
            target = self._entry_for(page).xml_path
        write_page(page, target)
        page.xml_path = target
        return target

    def _entry_for(self, page: Page) -> PageEntry:
        for e in self.entries:
            if page.image_path is not None and e.image_path == Path(page.image_path).resolve() \
                    and e.page_index == page.page_index:
                return e
        for e in self.entries:
            if e.image_path.name == page.image_filename and e.page_index == page.page_index:
                return e
        raise HtrError(f"{self.folder}: page of {page.image_filename!r} is not part of this project")
