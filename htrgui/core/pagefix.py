"""What every reader does after parsing: repair the tree (PAGE 2010, TranskribusDU: :mod:`htrgui.core.pagelegacy`),
find the image, check the page size, make ids valid and unique."""

from __future__ import annotations

import os
from pathlib import Path

from htrgui.core.document import Page
from htrgui.core.errors import FormatError, HtrError
from htrgui.core.pagelegacy import repair_tree
from htrgui.core.xmlsafe import make_ncname, warn

__all__ = ["resolve_image", "find_image", "image_reference", "finish_page", "repair_tree", "ensure_valid_ids"]


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


def find_image(xml_path: Path, filename: str) -> Path | None:
    """The image an XML file names (:func:`resolve_image`), else a scan beside it with the same stem."""
    return resolve_image(xml_path, filename) or resolve_image(xml_path, _same_stem_image(xml_path))


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
            size = _extent(page)
            if size is None:
                raise FormatError(f"page size unknown: the file gives {page.width}x{page.height}, has no "
                                  f"coordinates, and the image {page.image_filename!r} was not found or cannot be "
                                  "read", xml_path, "Page")
            warn(xml_path, "Page", f"the file gives the page size {page.width}x{page.height} and the image "
                 f"{page.image_filename!r} was not found: using the extent of the coordinates, "
                 f"{size[0]}x{size[1]}")
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


def _extent(page: Page) -> tuple[int, int] | None:
    """(width, height) that holds every region and line point, or None when there are none."""
    pts = [p for r in page.regions for p in r.polygon + [q for ln in r.lines for q in ln.polygon + ln.baseline]]
    if not pts:
        return None
    return max(x for x, _ in pts) + 1, max(y for _, y in pts) + 1


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
