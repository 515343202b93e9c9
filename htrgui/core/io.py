"""Reading and writing any supported document file: the switch between the formats.

``read_document(path)`` detects PAGE (2013, 2019, and other PAGE versions read by local name) or ALTO
(v2, v3, v4) from the root element's namespace. Atomic writes live in :mod:`htrgui.core.fileio`, the
post-parse fix-up every reader does in :mod:`htrgui.core.pagefix` (re-exported here); the format modules
import those, never this switch, so there is no import cycle.
"""

from __future__ import annotations

from pathlib import Path

from htrgui.core.document import Page
from htrgui.core.errors import FormatError, HtrError
from htrgui.core.fileio import atomic_write_bytes, atomic_write_text
from htrgui.core.pagefix import ensure_valid_ids, finish_page, image_reference, resolve_image
from htrgui.core.xmlsafe import FormatWarning, detect_format, local, ns_of, parse_xml

__all__ = ["FormatWarning", "atomic_write_bytes", "atomic_write_text", "detect_format", "read_document",
           "write_document", "resolve_image", "image_reference", "finish_page", "ensure_valid_ids", "export_pages"]


def read_document(path: Path | str) -> Page:
    """Read a PAGE or ALTO file into a :class:`Page` (image path resolved relative to the file).

    Raises:
        FormatError: the file is missing, unsafe, malformed, or neither PAGE nor ALTO.
    Warnings (:class:`FormatWarning`): repaired or skipped parts, an image that was not found.
    """
    path = Path(path)
    root = parse_xml(path)
    kind = detect_format(root.tag)
    if kind == "page":
        from htrgui.core.pagexml import page_from_xml

        return page_from_xml(root, path)
    if kind == "alto":
        from htrgui.core.alto import page_from_alto

        return page_from_alto(root, path)
    raise FormatError(f"neither PAGE-XML nor ALTO (root element is <{local(root.tag)}>, namespace "
                      f"{ns_of(root.tag) or 'none'})", path)


def write_document(page: Page, path: Path | str, fmt: str) -> None:
    """Write ``page`` as ``fmt``: ``page`` (PAGE 2019), ``page2013`` (for Transkribus), ``alto`` (ALTO 4),
    ``txt`` (plain text), ``pdf`` (searchable PDF: needs ``page.image_path``), ``tei`` (TEI P5) or ``docx`` (Word)."""
    if fmt in ("page", "page2013"):
        from htrgui.core.pagexml import write_page

        write_page(page, path, "2013" if fmt == "page2013" else "2019")
    elif fmt == "alto":
        from htrgui.core.alto import write_alto

        write_alto(page, path)
    elif fmt == "txt":
        from htrgui.core.textexport import write_text

        write_text(page, path)
    elif fmt == "pdf":
        from htrgui.core.pdfexport import write_pdf

        write_pdf(page, path)
    elif fmt == "tei":
        from htrgui.core.teiexport import write_tei

        write_tei(page, path)
    elif fmt == "docx":
        from htrgui.core.docxexport import write_docx

        write_docx(page, path)
    else:
        raise HtrError(f"unknown output format {fmt!r}: use {', '.join(EXTENSIONS)}")


EXTENSIONS = {"page": ".xml", "page2013": ".xml", "alto": ".xml", "txt": ".txt", "pdf": ".pdf", "tei": ".tei.xml",
              "docx": ".docx"}


def export_pages(sources: list[tuple[str, Path | Page]], outdir: Path | str, fmt: str, token=None):
    """Write each ``(name, PAGE file or Page)`` to ``outdir/<name><EXTENSIONS[fmt]>`` as ``fmt``; yields Progress.

    A source that cannot be read is reported in ``Progress.info["error"]`` and skipped, so one bad file does
    not stop a batch. ``token`` is an optional :class:`~htrgui.core.progress.CancelToken`.
    """
    from htrgui.core.progress import Progress

    if fmt not in EXTENSIONS:
        raise HtrError(f"unknown output format {fmt!r}: use {', '.join(EXTENSIONS)}")
    outdir = Path(outdir)
    total = len(sources)
    for done, (name, source) in enumerate(sources):
        if token is not None:
            token.check()
        target = outdir / f"{name}{EXTENSIONS[fmt]}"
        info: dict = {}
        try:
            page = source if isinstance(source, Page) else read_document(source)
            if not isinstance(source, Page) and Path(source).resolve() == target.resolve():
                raise HtrError(f"{target}: output would overwrite its input; choose another output folder")
            write_document(page, target, fmt)
        except HtrError as exc:
            info["error"] = str(exc)
        yield Progress(done + 1, total, f"{name}", info)
