"""Writing PAGE-XML 2019-07-15 that validates against the PRImA schema and follows docs/formats.md.

Rules kept here: default namespace, integer coordinates inside the image, polygons of at least 4 points, a
Baseline on every line, one line-level TextEquiv (after any Words), reading order written three ways at once
(document order, ``ReadingOrder``, ``custom readingOrder``), ``structure`` last in ``custom``. What was read
but is not interpreted is written back in schema order; what PAGE 2019 has no place for goes into
``UserDefined`` so the file still validates and the next read restores it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from xml.etree import ElementTree as ET

from htrgui import __version__
from htrgui.core.document import Extras, Page, TextLine, TextRegion
from htrgui.core.errors import HtrError
from htrgui.core.fileio import atomic_write_bytes
from htrgui.core.geometry import baseline_from_polygon, bbox_polygon, clip_points, polygon_for_export
from htrgui.core.pagecustom import (KEPT_ATTRIBUTE, KEPT_ELEMENT, LINE_ATTRS, PAGE_ATTRS, PAGE_TEXT_TYPES,
                                    REGION_ATTRS, allowed_child, build_custom, child_rank, encode_confidences)
from htrgui.core.pagefix import ensure_valid_ids
from htrgui.core.xmlsafe import PAGE2019, XSI, clean_text, from_string, local, ns_of, renamespace

SCHEMA_LOCATION = f"{PAGE2019} {PAGE2019}/pagecontent.xsd"


def write_page(page: Page, path: Path | str, version: str = "2019") -> None:
    """Write ``page`` to ``path`` as PAGE 2019 (or ``version="2013"``, see :mod:`htrgui.core.page2013`), atomically.

    ``page.xml_path`` is left alone: writing a copy elsewhere (export, convert) must not move where the page is
    stored; :meth:`htrgui.core.project.Project.save_page` sets it.
    """
    atomic_write_bytes(path, page_to_bytes(page, version))


def page_to_bytes(page: Page, version: str = "2019") -> bytes:
    """The PAGE 2019 (or 2013) document for ``page`` as UTF-8 bytes."""
    if version not in ("2019", "2013"):
        raise ValueError(f"PAGE version must be 2019 or 2013, not {version!r}")
    if page.width <= 0 or page.height <= 0:
        raise HtrError(f"page {page.image_filename!r}: cannot write PAGE with image size {page.width}x{page.height}")
    ensure_valid_ids(page, page.xml_path or page.image_filename)
    root = ET.Element("PcGts", {"xmlns": PAGE2019, "xmlns:xsi": XSI, "xsi:schemaLocation": SCHEMA_LOCATION})
    if page.metadata.get("pcGtsId"):
        root.set("pcGtsId", page.metadata["pcGtsId"])  # OCR-D: the METS file id
    root.append(_metadata(page))
    root.append(_page(page))
    if version == "2013":
        from htrgui.core.page2013 import to_2013

        to_2013(root)
    ET.indent(root, space="  ")
    # written by hand: ElementTree's own declaration uses single quotes, which some tools do not expect
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode").encode("utf-8") + b"\n"


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _metadata(page: Page) -> ET.Element:
    meta = ET.Element("Metadata")
    ET.SubElement(meta, "Creator").text = f"htrgui {__version__}"
    ET.SubElement(meta, "Created").text = _datetime(page.metadata.get("Created")) or _now()
    ET.SubElement(meta, "LastChange").text = _now()
    if page.metadata.get("Comments"):
        ET.SubElement(meta, "Comments").text = clean_text(page.metadata["Comments"])
    kept = [from_string(s) for s in page.extras.elements]
    for m in [e for e in kept if local(e.tag) == "Metadata"]:
        if m.get("externalRef"):
            meta.set("externalRef", m.get("externalRef"))
        _place(meta, "Metadata", list(m), {})
    return meta


def _datetime(value: str | None) -> str | None:
    """``value`` when it is a valid xsd:dateTime we can parse, else None (then we write now)."""
    if not value:
        return None
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if "T" in value else None


def _page(page: Page) -> ET.Element:
    attrs = {"imageFilename": page.image_filename or (page.image_path.name if page.image_path else "unknown"),
             "imageWidth": str(page.width), "imageHeight": str(page.height)}
    elem = ET.Element("Page", attrs)
    ours = {"pageIndex": str(page.page_index)} if page.page_index else {}
    custom = build_custom(None, ours, page.extras.custom, "")
    if custom:
        elem.set("custom", custom)
    regions = [r for r in page.regions if r.polygon or r.lines]
    kept = [e for e in (from_string(s) for s in page.extras.elements) if local(e.tag) != "Metadata"]
    own: list[ET.Element] = []
    if regions:
        own.append(_reading_order(page, regions))
    own += [_region(page, r, i) for i, r in enumerate(regions)]
    _place(elem, "Page", kept, _unknown_attrs(page.extras, PAGE_ATTRS, elem), own)
    return elem


def _reading_order(page: Page, regions: list[TextRegion]) -> ET.Element:
    ro = ET.Element("ReadingOrder")
    used = page.ids()
    gid = "ro_regions"
    while gid in used:
        gid += "_"
    group = ET.SubElement(ro, "OrderedGroup", {"id": gid, "caption": "Regions reading order"})
    for i, r in enumerate(regions):
        ET.SubElement(group, "RegionRefIndexed", {"index": str(i), "regionRef": r.id})
    return ro


def _points(points: list[tuple[int, int]]) -> str:
    return " ".join(f"{x},{y}" for x, y in points)


def _region(page: Page, region: TextRegion, index: int) -> ET.Element:
    elem = ET.Element("TextRegion", {"id": region.id})
    if region.type in PAGE_TEXT_TYPES:
        elem.set("type", region.type)
    elif region.extras.attrs.get("type") in PAGE_TEXT_TYPES:
        elem.set("type", region.extras.attrs["type"])
    elem.set("custom", build_custom(index, {}, region.extras.custom, region.type))
    polygon = region.polygon or bbox_polygon([p for ln in region.lines for p in ln.polygon])
    coords = ET.Element("Coords", {"points": _points(polygon_for_export(clip_points(polygon, page.width,
                                                                                     page.height)))})
    own = [coords] + [_line(page, ln, i) for i, ln in enumerate(region.lines)]
    texts = [ln.text for ln in region.lines]
    if any(texts):
        own.append(_text_equiv("\n".join(texts), None))
    kept = _kept(region.extras)
    attrs = {k: v for k, v in region.extras.attrs.items() if k != "type"}
    rest = _unknown_attrs(Extras(attrs=attrs, source_format=region.extras.source_format), REGION_ATTRS, elem)
    _place(elem, "TextRegion", kept, rest, own)
    return elem


def _line(page: Page, line: TextLine, index: int) -> ET.Element:
    elem = ET.Element("TextLine", {"id": line.id})
    ours = {"status": line.status}
    if line.source:
        ours["source"] = line.source
    if line.char_confidences:
        ours["charConf"] = encode_confidences(line.char_confidences)
    # text-anchored tags (textStyle, abbrev, ...) carry offsets into the old text: drop them once it changed
    kept_custom = [c for c in line.extras.custom if not (line.text_changed and "offset:" in c)]
    elem.set("custom", build_custom(index, ours, kept_custom, line.type))
    polygon = polygon_for_export(clip_points(line.polygon or bbox_polygon(line.baseline), page.width, page.height))
    baseline = clip_points(line.baseline, page.width, page.height)
    if len(set(baseline)) < 2:
        baseline = baseline_from_polygon(polygon)
    own = [ET.Element("Coords", {"points": _points(polygon)}),
           ET.Element("Baseline", {"points": _points(baseline)}),
           _text_equiv(line.text, line.confidence)]
    kept = _kept(line.extras)
    if line.text_changed:
        # words, glyphs and alternative readings described the old text
        kept = [e for e in kept if local(e.tag) not in ("Word", "TextEquiv")]
    if any(local(e.tag) == "TextEquiv" for e in kept):
        own[2].set("index", "1")  # with alternatives, the main reading is index 1 and comes first (OCR-D)
    _place(elem, "TextLine", kept, _unknown_attrs(line.extras, LINE_ATTRS, elem), own)
    return elem


def _text_equiv(text: str, conf: float | None) -> ET.Element:
    te = ET.Element("TextEquiv")
    if conf is not None:
        # Transkribus' schema wants the open interval (0, 1)
        te.set("conf", f"{min(max(conf, 0.0001), 0.9999):.4f}")
    ET.SubElement(te, "Unicode").text = clean_text(text)
    return te


def _kept(extras: Extras) -> list[ET.Element]:
    """Kept child elements that came from PAGE (ALTO word Strings have no place in PAGE)."""
    if extras.source_format.startswith("alto"):
        return []
    return [from_string(s) for s in extras.elements]


def _unknown_attrs(extras: Extras, allowed: set[str], elem: ET.Element) -> dict[str, str]:
    """Set the kept attributes PAGE 2019 allows on ``elem``; return the others (they go to UserDefined)."""
    rest = {}
    if extras.source_format.startswith("alto"):
        return rest
    for name, value in extras.attrs.items():
        if name in allowed and name not in elem.attrib:
            elem.set(name, value)
        elif name not in elem.attrib:
            rest[name] = value
    return rest


def _old_relations(e: ET.Element) -> bool:
    """Relations in the 2013/Transkribus form (``RegionRef`` children, no id), which PAGE 2019 does not allow."""
    return local(e.tag) == "Relations" and any(
        local(r.tag) == "Relation" and (r.get("id") is None or any(local(c.tag) == "RegionRef" for c in r))
        for r in e)


def _place(elem: ET.Element, parent: str, kept: list[ET.Element], attrs: dict[str, str],
           own: list[ET.Element] | None = None) -> None:
    """Append our children and the kept ones in schema order; foreign ones and ``attrs`` go to UserDefined."""
    page_ns = {n for e in kept for n in (ns_of(x.tag) for x in e.iter() if isinstance(x.tag, str))
               if "primaresearch.org/PAGE" in n}
    items: list[ET.Element] = list(own or [])
    foreign: list[ET.Element] = []
    user_defined: ET.Element | None = None
    for e in kept:
        renamespace(e, page_ns, "")
        name = local(e.tag)
        if name == "Relations" and len(e) == 0:
            continue  # an empty <Relations/> is invalid (Transkribus writes it)
        if ns_of(e.tag) == "" and allowed_child(parent, name) and not _old_relations(e):
            if name == "UserDefined":
                user_defined = e
            else:
                items.append(e)
        else:
            foreign.append(e)
    if foreign or attrs:
        if user_defined is None:
            user_defined = ET.Element("UserDefined")
        for name, value in attrs.items():
            ET.SubElement(user_defined, "UserAttribute", {"name": KEPT_ATTRIBUTE + name, "type": "xsd:string",
                                                         "value": value})
        for e in foreign:
            e.tail = None
            value = ET.tostring(e, encoding="unicode")
            ET.SubElement(user_defined, "UserAttribute", {"name": KEPT_ELEMENT, "type": "xsd:string",
                                                         "value": value})
    if user_defined is not None:
        items.append(user_defined)
    # stable sort: our own children come first within a rank (our TextEquiv before kept alternatives)
    items.sort(key=lambda e: child_rank(parent, local(e.tag)))
    elem.extend(items)
