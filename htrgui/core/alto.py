"""ALTO: read v2, v3 and v4 as eScriptorium and kraken write them; write ALTO 4 the eScriptorium way.

Reading: blocks are every ``TextBlock`` under the page (eScriptorium reads ``PrintSpace//TextBlock``), types
come from the first ``TAGREFS`` label, text is the line's ``String/@CONTENT`` joined by single spaces
(``HYP`` appended as is), confidence is the mean ``WC``. eScriptorium's region-less lines sit in a
``TextBlock`` without geometry (``eSc_dummyblock_``): they become a region of their own around the lines.

Writing: ALTO 4.2 schema location (what eScriptorium accepts without a warning), pixel units, the bare image
file name, space-separated point lists, one ``String`` per line (or the imported word Strings while the
line text is unchanged), document order = reading order. ALTO has no line status: a ``WC`` is written only
for model predictions (a verified line has none, so other tools read it as checked text), and each line
points (``PROCESSINGREFS``) to a ``Processing`` entry saying who produced its text and its status, which
reading restores (``htrgui:status=...;source=...`` in ``processingStepSettings``).
"""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

from htrgui.core.document import Extras, Page, TextLine, TextRegion
from htrgui.core.errors import FormatError, HtrError
from htrgui.core.fileio import atomic_write_bytes
from htrgui.core.geometry import (baseline_from_polygon, bbox_polygon, clip_points, parse_points, parse_polygon,
                                  polygon_for_export, polygon_from_baseline)
from htrgui.core.pagefix import ensure_valid_ids, find_image, finish_page
from htrgui.core.xmlsafe import (ALTO4, ALTO_NS, XSI, child, children, clean_text, detect_format, from_string, local,
                                 ns_of, parse_xml, renamespace, to_string, warn)

__all__ = ["read_alto", "page_from_alto", "write_alto"]

SCHEMA_LOCATION = f"{ALTO4} http://www.loc.gov/standards/alto/v4/alto-4-2.xsd"
DUMMY_BLOCK = "eSc_dummyblock_"
PROV = "htrgui:"  # processingStepSettings of our Processing entries: "htrgui:status=verified;source=person"
STATUSES = ("empty", "predicted", "verified")


def read_alto(path: Path | str) -> Page:
    """Read an ALTO file (see :func:`htrgui.core.io.read_document` for errors and warnings)."""
    root = parse_xml(Path(path))
    if detect_format(root.tag) != "alto":
        raise FormatError("not an ALTO file", path)
    return page_from_alto(root, Path(path))


def _int(elem: ET.Element, name: str, path: Path) -> int:
    value = elem.get(name)
    try:
        return int(round(float(value))) if value not in (None, "") else 0
    except ValueError:
        raise FormatError(f"{name}={value!r} is not a number", path, local(elem.tag)) from None


def _rect(elem: ET.Element) -> list[tuple[int, int]] | None:
    """The HPOS/VPOS/WIDTH/HEIGHT box as a polygon, or None when incomplete."""
    try:
        x, y, w, h = (float(elem.get(k, "")) for k in ("HPOS", "VPOS", "WIDTH", "HEIGHT"))
    except ValueError:
        return None
    if w <= 0 or h <= 0:
        return None
    x0, y0, x1, y1 = round(x), round(y), round(x + w), round(y + h)
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def _shape(elem: ET.Element) -> list[tuple[int, int]] | None:
    shape = child(elem, "Shape")
    poly = child(shape, "Polygon") if shape is not None else None
    pts = parse_polygon(poly.get("POINTS")) if poly is not None else None
    return pts if pts and len(pts) >= 3 else _rect(elem)


def _label(elem: ET.Element, tags: dict[str, str]) -> str:
    refs = (elem.get("TAGREFS") or "").split()
    return next((tags[r] for r in refs if r in tags), "")


def _line_text(elem: ET.Element) -> tuple[str, float | None]:
    """Text of Strings joined by one space (HYP appended), and the length-weighted mean WC."""
    parts: list[str] = []
    weights = confs = 0.0
    for c in elem:
        name = local(c.tag)
        if name == "String":
            content = c.get("CONTENT", "")
            if parts and not parts[-1].endswith(" "):
                parts.append(" ")
            parts.append(content)
            if c.get("WC") not in (None, ""):
                try:
                    wc = float(c.get("WC"))
                except ValueError:
                    continue
                weights += max(len(content), 1)
                confs += wc * max(len(content), 1)
        elif name == "HYP":
            parts.append(c.get("CONTENT", "-"))
    text = "".join(parts).strip()
    return text, (confs / weights if weights else None)


def page_from_alto(root: ET.Element, path: Path) -> Page:
    """Build a :class:`Page` from a parsed ALTO document."""
    dialect = ALTO_NS.get(ns_of(root.tag), "alto")
    desc = child(root, "Description")
    unit = child(desc, "MeasurementUnit") if desc is not None else None
    info = child(desc, "sourceImageInformation") if desc is not None else None
    fname = child(info, "fileName") if info is not None else None
    filename = (fname.text or "").strip() if fname is not None else ""
    unit_name = (unit.text or "").strip() if unit is not None else ""
    if unit_name not in ("pixel", ""):
        _to_pixels(root, unit_name, path, filename)
    tags = {t.get("ID"): t.get("LABEL", "") for t in root.iter() if local(t.tag).endswith("Tag") and t.get("ID")}
    provenance = _provenance(desc) if desc is not None else {}
    layout = child(root, "Layout")
    page_elem = child(layout, "Page") if layout is not None else None
    if page_elem is None:
        raise FormatError("no Layout/Page element", path, "Layout")
    width, height = _int(page_elem, "WIDTH", path), _int(page_elem, "HEIGHT", path)
    repairs: dict[str, list[str]] = {}
    regions = []
    for n, block in enumerate(b for b in page_elem.iter() if local(b.tag) == "TextBlock"):
        region = _region(block, tags, repairs, n)
        if region is not None:
            regions.append(region)
            for line in region.lines:
                _restore_provenance(line, provenance)
    _apply_reading_order(root, regions)
    for kind, ids in repairs.items():
        warn(path, None, f"{kind}: {len(ids)} ({', '.join(ids[:5])}{' ...' if len(ids) > 5 else ''})")
    page = Page(image_filename=filename, width=width, height=height, regions=regions,
                page_index=0, xml_path=None, extras=Extras(source_format=dialect))
    return finish_page(page, Path(path))


def _provenance(desc: ET.Element) -> dict[str, tuple[str, str]]:
    """Processing ID -> (status, source) for the entries htrgui wrote; others are not ours to read."""
    out = {}
    for proc in children(desc, "Processing"):
        settings = child(proc, "processingStepSettings")
        text = (settings.text or "").strip() if settings is not None else ""
        if not text.startswith(PROV) or not proc.get("ID"):
            continue
        fields = dict(kv.split("=", 1) for kv in text[len(PROV):].split(";") if "=" in kv)
        if fields.get("status") in STATUSES:
            out[proc.get("ID")] = (fields["status"], fields.get("source", ""))
    return out


def _restore_provenance(line: TextLine, provenance: dict[str, tuple[str, str]]) -> None:
    for ref in line.extras.attrs.get("PROCESSINGREFS", "").split():
        if ref in provenance:
            status, source = provenance[ref]
            if line.text or status == "empty":
                line.status, line.source = status, source or line.source
            del line.extras.attrs["PROCESSINGREFS"]  # written anew from the line's state
            return


#: ALTO MeasurementUnit -> units per inch
UNITS_PER_INCH = {"mm10": 254.0, "inch1200": 1200.0}
_LENGTH_ATTRS = ("HPOS", "VPOS", "WIDTH", "HEIGHT")


def _to_pixels(root: ET.Element, unit: str, path: Path, filename: str) -> None:
    """Convert every coordinate of an ALTO in ``mm10`` or ``inch1200`` to pixels, in place, with the
    resolution (DPI) that the scan beside it states.

    Raises:
        FormatError: an unknown unit, no scan found, or a scan that states no resolution.
    """
    from htrgui.core.imaging import image_resolution

    if unit not in UNITS_PER_INCH:
        raise FormatError(f"MeasurementUnit {unit!r} is not an ALTO unit (pixel, mm10 or inch1200)", path,
                          "MeasurementUnit")
    image = find_image(path, filename)
    if image is None:
        raise FormatError(f"coordinates are in {unit}; converting them to pixels needs the scan's resolution, "
                          f"but the image {filename!r} was not found beside the file", path, "MeasurementUnit")
    try:
        dpi = image_resolution(image)
    except HtrError as exc:
        raise FormatError(f"coordinates are in {unit}; the scan cannot be read for its resolution ({exc})", path,
                          "MeasurementUnit") from None
    if dpi is None:
        raise FormatError(f"coordinates are in {unit}, but the scan {image.name} states no resolution (DPI), so "
                          "they cannot be converted to pixels; save the scan with its DPI or the ALTO in pixels",
                          path, "MeasurementUnit")
    sx, sy = (d / UNITS_PER_INCH[unit] for d in dpi)
    layout = child(root, "Layout")
    for e in (layout.iter() if layout is not None else ()):
        for name in _LENGTH_ATTRS:
            value = e.get(name)
            if value:
                try:
                    e.set(name, f"{float(value) * (sx if name in ('HPOS', 'WIDTH') else sy):.2f}")
                except ValueError:
                    pass  # reported where it is read
        for name in ("BASELINE", "POINTS"):
            pts = e.get(name)
            if not pts:
                continue
            try:
                values = [float(t) for t in pts.replace(",", " ").split()]
            except ValueError:
                continue
            if len(values) == 1:  # ALTO < 4.2: the baseline is one vertical position
                e.set(name, f"{values[0] * sy:.2f}")
            else:
                e.set(name, " ".join(f"{v * (sx if i % 2 == 0 else sy):.2f}" for i, v in enumerate(values)))
    warn(path, "MeasurementUnit", f"coordinates in {unit} converted to pixels at {dpi[0]:g}x{dpi[1]:g} dpi "
         f"(the resolution {image.name} states)")


def _region(block: ET.Element, tags: dict[str, str], repairs: dict, n: int) -> TextRegion | None:
    block_id = block.get("ID", "")
    lines = []
    for le in children(block, "TextLine"):
        line = _line(le, tags, repairs)
        if line is not None:
            lines.append(line)
    polygon = _shape(block)
    if block_id.startswith(DUMMY_BLOCK) or not block_id:
        # eScriptorium's "no region": a real region around the lines, with an id that is not "no region"
        block_id = f"r_block_{n}"
        polygon = None
    if not polygon:
        if not lines:
            return None
        polygon = bbox_polygon([p for ln in lines for p in ln.polygon + ln.baseline])
    attrs = {k: v for k, v in block.attrib.items() if k not in ("ID", "HPOS", "VPOS", "WIDTH", "HEIGHT", "TAGREFS")}
    return TextRegion(id=block_id, polygon=polygon, type=_label(block, tags), lines=lines,
                      extras=Extras(attrs=attrs, source_format="alto"))


def _line(le: ET.Element, tags: dict[str, str], repairs: dict) -> TextLine | None:
    line_id = le.get("ID", "")
    polygon = _shape(le)
    raw = (le.get("BASELINE") or "").replace(",", " ").split()
    baseline = parse_points(" ".join(raw)) if len(raw) != 1 else None
    if len(raw) == 1 and polygon:
        # ALTO < 4.2: BASELINE is a single vertical position
        try:
            y = int(round(float(raw[0])))
            xs = [p[0] for p in polygon]
            baseline = [(min(xs), y), (max(xs), y)]
        except ValueError:
            baseline = None
    if baseline is not None and len(set(baseline)) < 2:
        baseline = None
    if not polygon and not baseline:
        repairs.setdefault("lines without geometry, skipped", []).append(line_id or "?")
        return None
    if not polygon:
        polygon = polygon_from_baseline(baseline)
        repairs.setdefault("lines without a polygon, derived from the baseline", []).append(line_id)
    if not baseline:
        baseline = baseline_from_polygon(polygon)
        repairs.setdefault("lines without BASELINE, derived from the polygon", []).append(line_id)
    text, conf = _line_text(le)
    strings = [c for c in le if local(c.tag) in ("String", "SP", "HYP")]
    ex = Extras(source_format="alto")
    if len([s for s in strings if local(s.tag) == "String"]) > 1:
        ex.elements = [to_string(s) for s in strings]  # word level, written back while the text is unchanged
    ex.attrs = {k: v for k, v in le.attrib.items()
                if k not in ("ID", "BASELINE", "HPOS", "VPOS", "WIDTH", "HEIGHT", "TAGREFS")}
    status = "empty" if not text else ("predicted" if conf is not None else "verified")
    return TextLine(id=line_id, polygon=polygon, baseline=baseline, text=text, confidence=conf, status=status,
                    source="import:alto", type=_label(le, tags), extras=ex)


def _apply_reading_order(root: ET.Element, regions: list[TextRegion]) -> None:
    """Apply ALTO 4.3 ``ReadingOrder`` (refs to blocks or lines) when present; else keep document order."""
    ro = child(root, "ReadingOrder")
    if ro is None:
        return
    refs = [e.get("REF") for e in ro.iter() if local(e.tag) == "ElementRef" and e.get("REF")]
    rank = {ref: i for i, ref in enumerate(dict.fromkeys(refs))}
    if not rank:
        return
    big = len(rank)
    for region in regions:
        region.lines.sort(key=lambda ln: rank.get(ln.id, big))

    def region_rank(r: TextRegion) -> int:
        return min([rank.get(r.id, big)] + [rank.get(ln.id, big) for ln in r.lines])

    regions.sort(key=region_rank)


# --- writing -----------------------------------------------------------------------------------------------

def _space(points: list[tuple[int, int]]) -> str:
    return " ".join(f"{x} {y}" for x, y in points)


def _box(points: list[tuple[int, int]]) -> dict[str, str]:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return {"HPOS": str(min(xs)), "VPOS": str(min(ys)), "WIDTH": str(max(xs) - min(xs)),
            "HEIGHT": str(max(ys) - min(ys))}


def alto_to_bytes(page: Page) -> bytes:
    """The ALTO 4 document for ``page`` as UTF-8 bytes."""
    if page.width <= 0 or page.height <= 0:
        raise HtrError(f"page {page.image_filename!r}: cannot write ALTO with image size {page.width}x{page.height}")
    ensure_valid_ids(page, page.xml_path or page.image_filename)
    w, h = page.width, page.height
    root = ET.Element("alto", {"xmlns": ALTO4, "xmlns:xsi": XSI, "xsi:schemaLocation": SCHEMA_LOCATION})
    desc = ET.SubElement(root, "Description")
    ET.SubElement(desc, "MeasurementUnit").text = "pixel"
    info = ET.SubElement(desc, "sourceImageInformation")
    ET.SubElement(info, "fileName").text = page.image_filename or "unknown"
    regions = [r for r in page.regions if r.polygon or r.lines]
    procs = _write_provenance(desc, [ln for r in regions for ln in r.lines])
    block_types = list(dict.fromkeys(r.type for r in regions if r.type))
    line_types = list(dict.fromkeys(ln.type for r in regions for ln in r.lines if ln.type))
    bt = {t: f"BT{i + 1}" for i, t in enumerate(block_types)}
    lt = {t: f"LT{i + 1}" for i, t in enumerate(line_types)}
    if bt or lt:
        tags = ET.SubElement(root, "Tags")
        for kind, table in (("block", bt), ("line", lt)):
            for label, tid in table.items():
                ET.SubElement(tags, "OtherTag", {"ID": tid, "LABEL": label, "DESCRIPTION": f"{kind} type {label}"})
    layout = ET.SubElement(root, "Layout")
    pg = ET.SubElement(layout, "Page", {"ID": f"page_{page.page_index + 1}",
                                        "PHYSICAL_IMG_NR": str(page.page_index + 1),
                                        "WIDTH": str(w), "HEIGHT": str(h)})
    ps = ET.SubElement(pg, "PrintSpace", {"HPOS": "0", "VPOS": "0", "WIDTH": str(w), "HEIGHT": str(h)})
    for region in regions:
        polygon = region.polygon or bbox_polygon([p for ln in region.lines for p in ln.polygon])
        polygon = polygon_for_export(clip_points(polygon, w, h))
        block = ET.SubElement(ps, "TextBlock", {"ID": region.id, **_box(polygon)})
        if region.type:
            block.set("TAGREFS", bt[region.type])
        ET.SubElement(ET.SubElement(block, "Shape"), "Polygon", {"POINTS": _space(polygon)})
        for line in region.lines:
            _write_line(block, line, lt, w, h, procs)
    ET.indent(root, space="  ")
    # written by hand: ElementTree's own declaration uses single quotes, which some tools do not expect
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode").encode("utf-8") + b"\n"


def _write_provenance(desc: ET.Element, lines: list[TextLine]) -> dict[tuple[str, str], str]:
    """One Processing entry per (status, source) of the lines with text; returns (status, source) -> ID."""
    from htrgui import __version__

    procs: dict[tuple[str, str], str] = {}
    for line in lines:
        if line.text and line.status in STATUSES:
            procs.setdefault((line.status, line.source), f"htrgui_proc_{len(procs) + 1}")
    for (status, source), pid in procs.items():
        proc = ET.SubElement(desc, "Processing", {"ID": pid})
        who = source.split(":", 1)[1] if source.startswith("model:") else (source or "unknown")
        ET.SubElement(proc, "processingStepDescription").text = (
            f"text {status} ({'recognised by model ' + who if source.startswith('model:') else 'from ' + who})")
        ET.SubElement(proc, "processingStepSettings").text = f"{PROV}status={status};source={source}"
        sw = ET.SubElement(proc, "processingSoftware")
        ET.SubElement(sw, "softwareName").text = "htrgui"
        ET.SubElement(sw, "softwareVersion").text = __version__
    return procs


def _write_line(block: ET.Element, line: TextLine, lt: dict[str, str], w: int, h: int,
                procs: dict[tuple[str, str], str]) -> None:
    polygon = polygon_for_export(clip_points(line.polygon, w, h))
    baseline = clip_points(line.baseline, w, h)
    if len(set(baseline)) < 2:
        baseline = baseline_from_polygon(polygon)
    box = _box(polygon)
    le = ET.SubElement(block, "TextLine", {"ID": line.id, "BASELINE": _space(baseline), **box})
    if line.type:
        le.set("TAGREFS", lt[line.type])
    if (line.status, line.source) in procs:
        le.set("PROCESSINGREFS", procs[line.status, line.source])
    ET.SubElement(ET.SubElement(le, "Shape"), "Polygon", {"POINTS": _space(polygon)})
    words = [from_string(s) for s in line.extras.elements] if line.extras.source_format == "alto" else []
    if words and not line.text_changed:
        for word in words:
            renamespace(word, {n for n in ALTO_NS}, "")
            le.append(word)
        return
    if not line.text_changed and _page_words(le, line, w, h):
        return
    string = ET.SubElement(le, "String", {"CONTENT": clean_text(line.text), **box})
    if line.confidence is not None and line.status == "predicted":  # checked text has no OCR confidence
        string.set("WC", f"{min(max(line.confidence, 0.0), 1.0):.4f}")


def _page_words(le: ET.Element, line: TextLine, w: int, h: int) -> bool:
    """Write a PAGE line's Words as ALTO Strings with SP between them; False when they do not fit the text."""
    if not line.extras.source_format.startswith("page"):
        return False
    words = []
    for s in line.extras.elements:
        e = from_string(s)
        if local(e.tag) != "Word":
            continue
        coords = parse_polygon((child(e, "Coords") if child(e, "Coords") is not None else e).get("points"))
        equiv = child(e, "TextEquiv")
        uni = child(equiv, "Unicode") if equiv is not None else None
        if not coords or uni is None or not (uni.text or "").strip() or not e.get("id"):
            return False
        words.append((e.get("id"), uni.text.strip(), clip_points(coords, w, h), equiv.get("conf")))
    if not words or " ".join(t for _, t, _, _ in words) != line.text:
        return False  # words in another order than the text (RTL, Transkribus readingOrder): keep the line whole
    for n, (wid, text, pts, conf) in enumerate(words):
        if n:
            ET.SubElement(le, "SP")
        string = ET.SubElement(le, "String", {"ID": wid, "CONTENT": clean_text(text), **_box(pts)})
        try:
            if conf is not None and 0.0 <= float(conf) <= 1.0:
                string.set("WC", f"{float(conf):.4f}")
        except ValueError:
            pass
    return True


def write_alto(page: Page, path: Path | str) -> None:
    """Write ``page`` to ``path`` as ALTO 4, atomically."""
    atomic_write_bytes(path, alto_to_bytes(page))
