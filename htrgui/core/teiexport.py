"""TEI P5 export, one file per page, in the shape transcription projects exchange:

- ``teiHeader``: the image name as title, a ``sourceDesc`` naming the image, ``appInfo/application`` htrgui.
- ``facsimile/surface`` (the image's pixel box, ``graphic url=`` the image name) holding one ``zone`` per
  region (``type`` = region type) with one nested ``zone type="line"`` per line (``subtype`` = line type);
  ``points`` is the polygon, ``ulx uly lrx lry`` its box. Zone ``xml:id`` are the region and line ids.
- ``text/body/div``: one ``ab`` per region (``facs="#region-id"``) with ``<lb facs="#line-id" n="N"/>``
  before each line's text, N counting the page's lines from 1, in reading order. ``cert`` on ``lb`` says how
  sure the text is: ``high`` for verified lines, the model's confidence (0-1) for predicted ones.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from htrgui.core.document import Page, Point
from htrgui.core.fileio import atomic_write_bytes
from htrgui.core.geometry import bbox_polygon
from htrgui.core.pagefix import ensure_valid_ids
from htrgui.core.xmlsafe import clean_text

TEI_NS = "http://www.tei-c.org/ns/1.0"
XML_ID = "{http://www.w3.org/XML/1998/namespace}id"


def write_tei(page: Page, path: Path | str) -> None:
    """Write ``page`` as TEI P5 XML (UTF-8) to ``path``, atomically."""
    atomic_write_bytes(path, tei_bytes(page))


def tei_bytes(page: Page) -> bytes:
    """The TEI document of ``page`` as UTF-8 bytes with an XML declaration."""
    ET.register_namespace("", TEI_NS)
    root = tei_tree(page)
    # indent header and facsimile only: in the text, whitespace is content (a line's text after its <lb/>)
    root.text = "\n "
    for child in root:
        if child.tag != f"{{{TEI_NS}}}text":
            ET.indent(child, space=" ", level=1)
        child.tail = "\n "
    root[-1].tail = "\n"
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode").encode("utf-8") + b"\n"


def tei_tree(page: Page) -> ET.Element:
    """The ``TEI`` root element of ``page`` (makes its ids valid and unique first, as every writer does)."""
    from htrgui import __version__

    ensure_valid_ids(page, page.xml_path or page.image_filename)
    name = page.image_filename or "page"
    root = _el(None, "TEI")
    header = _el(root, "teiHeader")
    file_desc = _el(header, "fileDesc")
    _el(_el(file_desc, "titleStmt"), "title").text = clean_text(name)
    _el(_el(file_desc, "publicationStmt"), "p").text = "Exported by htrgui."
    _el(_el(file_desc, "sourceDesc"), "p").text = (f"Transcription of the image {name} "
                                                   f"({page.width}x{page.height} pixels).")
    app = _el(_el(_el(header, "encodingDesc"), "appInfo"), "application", ident="htrgui", version=__version__)
    _el(app, "label").text = "htrgui"

    # ids of zones are the page's own ids; the surface gets one none of them uses
    surface_id = _free_id("surface", page.ids())
    surface = _el(_el(root, "facsimile"), "surface", ulx="0", uly="0", lrx=str(page.width), lry=str(page.height))
    surface.set(XML_ID, surface_id)
    _el(surface, "graphic", url=name, width=f"{page.width}px", height=f"{page.height}px")
    body = _el(_el(root, "text"), "body")
    div = _el(body, "div")
    root[-1].text = body.text = div.text = body.tail = div.tail = "\n"
    n = 0
    for region in page.regions:
        outline = region.polygon or [p for line in region.lines for p in line.polygon + line.baseline]
        zone = _zone(surface, region.id, region.polygon or (bbox_polygon(outline) if outline else []),
                     type=region.type or "paragraph")
        ab = _el(div, "ab", facs=f"#{region.id}", type=region.type or "paragraph")
        ab.text = ab.tail = "\n"
        for line in region.lines:
            n += 1
            _zone(zone, line.id, line.polygon or line.baseline, type="line", subtype=line.type)
            lb = _el(ab, "lb", facs=f"#{line.id}", n=str(n))
            if line.status == "verified":
                lb.set("cert", "high")
            elif line.status == "predicted" and line.confidence is not None:
                lb.set("cert", f"{line.confidence:.2f}")
            # one line of the file per text line: <lb/> then its text, as TEI transcriptions are written
            lb.tail = clean_text(line.text) + "\n"
    return root


def _zone(parent: ET.Element, zone_id: str, polygon: list[Point], **attrs: str) -> ET.Element:
    zone = _el(parent, "zone", **{k: v for k, v in attrs.items() if v})
    zone.set(XML_ID, zone_id)
    if polygon:
        xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
        for key, value in (("ulx", min(xs)), ("uly", min(ys)), ("lrx", max(xs)), ("lry", max(ys))):
            zone.set(key, str(value))
        zone.set("points", " ".join(f"{x},{y}" for x, y in polygon))
    return zone


def _free_id(base: str, used: set[str]) -> str:
    out, k = base, 1
    while out in used:
        k += 1
        out = f"{base}_{k}"
    return out


def _el(parent: ET.Element | None, tag: str, **attrs: str) -> ET.Element:
    qname = f"{{{TEI_NS}}}{tag}"
    return ET.Element(qname, attrs) if parent is None else ET.SubElement(parent, qname, attrs)
