"""Exporting pages in one or more formats: the export dialog and ``htrgui export``/``convert``.

The writing is ``io.export_pages``; a page that cannot be exported is reported in ``Progress.info["error"]``
and does not stop the others. With several formats each gets its own sub-folder, since PAGE and ALTO files are
both ``<page>.xml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

from htrgui.core.document import Page
from htrgui.core.errors import HtrError
from htrgui.core.progress import CancelToken, Progress

#: format key of the core -> (label, sub-folder used when several formats are exported)
FORMATS = {"page": ("PAGE-XML 2019", "PAGE"), "alto": ("ALTO 4", "ALTO"), "txt": ("Plain text", "text"),
           "pdf": ("Searchable PDF", "PDF"), "tei": ("TEI P5", "TEI"), "docx": ("Word document", "Word")}


def project_sources(project, entries: Sequence, token: CancelToken | None = None) -> list[tuple[str, Path | Page]]:
    """(name, source) of project pages: a saved page's PAGE file, else the empty page of its image (never
    saved pages are exported empty, at their image size)."""
    sources: list[tuple[str, Path | Page]] = []
    for entry in entries:
        if token is not None:
            token.check()
        sources.append((entry.name, entry.xml_path if entry.xml_path.is_file() else project.load_page(entry)))
    return sources


def export_sources(sources: Sequence[tuple[str, Path | Page]], outdir: Path, formats: Sequence[str],
                   token: CancelToken | None = None) -> Iterator[Progress]:
    """Write every source in every format; yields Progress over all of them (errors in ``info["error"]``).
    One format writes into ``outdir``; several into a sub-folder each."""
    from htrgui.core.io import export_pages

    if not formats:
        raise HtrError("choose at least one format")
    outdir = Path(outdir)
    total = len(sources) * len(formats)
    done = 0
    for fmt in formats:
        label, folder = FORMATS.get(fmt, (fmt, fmt))
        target = outdir / folder if len(formats) > 1 else outdir
        target.mkdir(parents=True, exist_ok=True)
        for p in export_pages(list(sources), target, fmt, token):
            done += 1
            yield Progress(done, total, f"{label}: {p.message}" if len(formats) > 1 else p.message,
                           dict(p.info, format=fmt))


def export_project(project, entries: Sequence, outdir: Path, formats: Sequence[str],
                   token: CancelToken | None = None) -> Iterator[Progress]:
    """The export dialog's job: these project pages in these formats (pages are read in the job)."""
    if not formats:
        raise HtrError("choose at least one format")
    yield from export_sources(project_sources(project, entries, token), outdir, formats, token)
