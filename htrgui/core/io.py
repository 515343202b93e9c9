"""Reading any supported document file, atomic writes, and what every reader does after parsing.

``read_document(path)`` detects PAGE (2013, 2019, and other PAGE versions read by local name) or ALTO
(v2, v3, v4) from the root element's namespace. Writes go through :func:`atomic_write_bytes`: a temporary
file in the same folder, flushed and fsynced, then ``os.replace``: a crash or a kill mid-save leaves the old
file intact, never a half-written one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from htrgui.core.document import Page
from htrgui.core.errors import FormatError, HtrError
from htrgui.core.xmlsafe import ALTO_NS, PAGE_NS_PREFIX, FormatWarning, local, make_ncname, ns_of, parse_xml, warn

__all__ = ["FormatWarning", "atomic_write_bytes", "atomic_write_text", "detect_format", "read_document",
           "write_document", "resolve_image", "finish_page", "ensure_valid_ids", "export_pages"]


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the complete new one."""
    path = Path(path)
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise HtrError(f"{path}: cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            # keep the permissions the user gave the old file
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise HtrError(f"{path}: cannot write: {exc.strerror or exc}") from None
        raise
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); Windows has no directory fsync."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_text(path: Path | str, text: str) -> None:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


def detect_format(root_tag: str) -> str:
    """``"page"``, ``"alto"`` or ``""`` from a root element's Clark tag."""
    ns = ns_of(root_tag)
    if local(root_tag) == "PcGts" and (ns.startswith(PAGE_NS_PREFIX) or "PAGE" in ns or not ns):
        return "page"
    if local(root_tag).lower() == "alto" and (ns in ALTO_NS or "alto" in ns.lower() or not ns):
        return "alto"
    return ""


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


def resolve_image(xml_path: Path, filename: str) -> Path | None:
    """The image an XML file names, or None when not found.

    Looked up relative to the XML's folder first (kraken, eScriptorium), then to its parent (the
    ``page/`` layout of Transkribus and of our projects), then by bare name in both folders.
    """
    if not filename:
        return None
    name = filename.replace("\\", "/")
    if name.startswith("file://"):
        name = name[len("file://"):]
    candidates = [Path(name)] if Path(name).is_absolute() else []
    folder = xml_path.resolve().parent
    base = Path(name).name
    for d in (folder, folder.parent):
        candidates += [d / name, d / base]
    found = next((c for c in candidates if c.is_file()), None)
    return Path(os.path.normpath(found)) if found else None  # "page/../a.jpg" -> "a.jpg"


def image_reference(image: Path, folder: Path) -> str:
    """How a PAGE file in ``folder`` names its image (the inverse of :func:`resolve_image`): relative when
    near (same folder, or the parent as in a ``page/`` layout), else absolute, so that moving the output
    folder does not break a long ``../../..`` chain."""
    rel = os.path.relpath(Path(image).resolve(), Path(folder).resolve())
    if rel.split(os.sep).count("..") <= 1:
        return rel.replace(os.sep, "/")
    return str(Path(image).resolve())


def finish_page(page: Page, xml_path: Path) -> Page:
    """What every reader does last: find the image, check the size, make ids valid and unique."""
    if not page.image_filename:
        page.image_filename = _same_stem_image(xml_path)
        warn(xml_path, None, "the file does not name its image (imageFilename / fileName)"
             + (f"; using {page.image_filename}, which has the same name" if page.image_filename else ""))
    page.image_path = resolve_image(xml_path, page.image_filename)
    size = None
    if page.image_path is not None:
        from htrgui.core.imaging import image_size

        try:
            size = image_size(page.image_path, page.page_index)
        except HtrError as exc:
            warn(xml_path, None, f"image cannot be read ({exc})")
    if page.width <= 0 or page.height <= 0:
        if size is None:
            raise FormatError(f"page size unknown: the file gives {page.width}x{page.height} and the image "
                              f"{page.image_filename!r} was not found or cannot be read", xml_path, "Page")
        page.width, page.height = size
    elif size is not None and size != (page.width, page.height) and _raw_size(page) == (page.width, page.height):
        # the XML was made on the stored pixels, ignoring the photo's EXIF rotation (seen in eScriptorium data)
        page.metadata["imageOrientation"] = "raw"
    elif size is not None and size != (page.width, page.height):
        warn(xml_path, "Page", f"the file says {page.width}x{page.height} but the image {page.image_path.name} "
             f"is {size[0]}x{size[1]}; coordinates follow the file")
    if page.image_path is None:
        warn(xml_path, "Page", f"image {page.image_filename!r} not found beside the file; working without it")
    _unique_ids(page, xml_path)
    return page


def _same_stem_image(xml_path: Path) -> str:
    """The name of a scan beside the XML file (or one folder up) with the same stem, or ``""``."""
    from htrgui.core.imaging import SUFFIXES

    folder = xml_path.resolve().parent
    for d in (folder, folder.parent):
        for suffix in SUFFIXES:
            for name in (xml_path.stem + suffix, xml_path.stem + suffix.upper()):
                if (d / name).is_file():
                    return name
    return ""


def _raw_size(page: Page) -> tuple[int, int] | None:
    from htrgui.core.imaging import raw_size

    try:
        return raw_size(page.image_path, page.page_index)
    except HtrError:
        return None


def ensure_valid_ids(page: Page, where: object) -> None:
    """Make region and line ids valid and unique in place (a warning lists renamed ones); writers call it."""
    _unique_ids(page, where)


def _unique_ids(page: Page, xml_path: object) -> None:
    """Make region and line ids valid xsd:IDs and unique; changes are reported once per file."""
    seen: set[str] = set()
    changed = []

    def fix(old: str, prefix: str) -> str:
        new = make_ncname(old, prefix) if old else prefix
        base, n = new, 1
        while new in seen:
            n += 1
            new = f"{base}_{n}"
        seen.add(new)
        if new != old:
            changed.append(f"{old!r}->{new!r}")
        return new

    for region in page.regions:
        region.id = fix(region.id, "r")
        for line in region.lines:
            line.id = fix(line.id, "l")
    if changed:
        warn(xml_path, None, f"{len(changed)} ids were not valid or not unique and were renamed: "
             + ", ".join(changed[:5]) + (" ..." if len(changed) > 5 else ""))


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
