"""PAGE-XML: read 2013-07-15 and 2019-07-15 (and other PAGE versions by local name), write 2019-07-15.

Reading keeps everything the model does not interpret in ``extras`` (see document.py) so that a
read-write cycle loses nothing; what PAGE 2019 has no place for (Transkribus' ``TranskribusMetadata``,
``Tag``, attributes unknown to the schema) is written into ``UserDefined/UserAttribute`` elements and
restored from there on the next read. Writing is in :mod:`htrgui.core.pagewrite`.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

from htrgui.core.document import Extras, Page, TextLine, TextRegion
from htrgui.core.geometry import (baseline_from_polygon, bbox_polygon, parse_points, parse_polygon,
                                  polygon_from_baseline)
from htrgui.core.pagecustom import (KEPT_ATTRIBUTE, KEPT_ELEMENT, REGION_ELEMENTS, CustomTag, decode_confidences,
                                    format_tag, parse_custom)
from htrgui.core.pagefix import finish_page, repair_tree
from htrgui.core.pagetables import cells_of, read_table
from htrgui.core.xmlsafe import (PAGE2013, PAGE2019, FormatError, child, children, detect_format, from_string, local,
                                 ns_of, parse_xml, to_string, warn)

__all__ = ["read_page", "page_from_xml", "write_page"]

_INTERPRETED_LINE = {"Coords", "Baseline", "TextEquiv"}
_INTERPRETED_REGION = {"Coords", "TextLine", "TextEquiv"}
_INTERPRETED_PAGE = {"ReadingOrder", "TextRegion", "TableRegion"}


def read_page(path: Path | str) -> Page:
    """Read a PAGE-XML file (see :func:`htrgui.core.io.read_document` for errors and warnings)."""
    root = parse_xml(Path(path))
    if detect_format(root.tag) != "page":
        raise FormatError("not a PAGE-XML file", path)
    return page_from_xml(root, Path(path))


def write_page(page: Page, path: Path | str, version: str = "2019") -> None:
    """Write ``page`` as PAGE 2019 (or 2013) atomically (see :mod:`htrgui.core.pagewrite`)."""
    from htrgui.core.pagewrite import write_page as _write

    _write(page, path, version)


def _dialect(root: ET.Element) -> str:
    ns = ns_of(root.tag)
    if ns == PAGE2013:
        return "page2013"
    if ns == PAGE2019:
        return "page2019"
    return "page:" + ns.rsplit("/", 1)[-1] if ns else "page"


class _Reader:
    """One PAGE file being read; collects repairs so each kind is reported once per file."""

    def __init__(self, path: Path, dialect: str, source: str) -> None:
        self.path = path
        self.dialect = dialect
        self.source = source
        self.repairs: dict[str, list[str]] = {}
        self.dummies = 0

    def repaired(self, kind: str, elem_id: str) -> None:
        self.repairs.setdefault(kind, []).append(elem_id)

    def report(self) -> None:
        for kind, ids in self.repairs.items():
            more = " ..." if len(ids) > 5 else ""
            warn(self.path, None, f"{kind}: {len(ids)} ({', '.join(ids[:5])}{more})")

    # --- shared bits -------------------------------------------------------------------------------------
    def extras(self, elem: ET.Element, interpreted: set[str], known_attrs: set[str]) -> Extras:
        """Uninterpreted attributes and children of ``elem``, restoring what we stored in UserDefined."""
        ex = Extras(source_format=self.dialect)
        for name, value in elem.attrib.items():
            if name not in known_attrs:
                ex.attrs[name] = value
        for c in elem:
            name = local(c.tag)
            if not name or name in interpreted:
                continue
            if name == "UserDefined":
                self._restore_user_defined(c, ex)
            else:
                ex.elements.append(to_string(c))
        return ex

    def _restore_user_defined(self, ud: ET.Element, ex: Extras) -> None:
        plain = ET.Element(ud.tag, ud.attrib)
        for attr in ud:
            name = attr.get("name", "")
            if local(attr.tag) == "UserAttribute" and name == KEPT_ELEMENT:
                try:
                    ex.elements.append(to_string(from_string(attr.get("value", ""))))
                except Exception:  # noqa: BLE001 - damaged by another tool: keep it as it is
                    plain.append(attr)
            elif local(attr.tag) == "UserAttribute" and name.startswith(KEPT_ATTRIBUTE):
                ex.attrs[name[len(KEPT_ATTRIBUTE):]] = attr.get("value", "")
            else:
                plain.append(attr)
        if len(plain):
            ex.elements.append(to_string(plain))

    @staticmethod
    def split_custom(tags: list[CustomTag], ex: Extras) -> tuple[int | None, dict[str, str], str]:
        """(reading order index, our htrgui values, structure type); the rest goes to ``ex.custom``."""
        index, ours, structure = None, {}, ""
        kraken_type = ""
        for tag in tags:
            if tag.name == "readingOrder" and tag.values.get("index", "").lstrip("-").isdigit():
                index = int(tag.values["index"])
            elif tag.name == "htrgui":
                ours.update(tag.values)
            elif tag.name == "structure" and "type" in tag.values and len(tag.values) == 1:
                structure = tag.values["type"]
            elif tag.name == "type" and list(tag.values) == ["type"] and not kraken_type:
                kraken_type = tag.values["type"]  # kraken writes types as "type {type:X;}"
            else:
                ex.custom.append(tag.raw)
        if kraken_type and structure:
            ex.custom.append(format_tag("type", {"type": kraken_type}))
        return index, ours, structure or kraken_type

    # --- lines -------------------------------------------------------------------------------------------
    def line(self, elem: ET.Element) -> tuple[int | None, TextLine] | None:
        line_id = elem.get("id", "")
        polygon = parse_polygon(_points(elem, "Coords"))
        if polygon is not None and len(set(polygon)) < 2:
            polygon = None  # "0,0 0,0" placeholders
        baseline = parse_points(_points(elem, "Baseline"))
        if baseline is not None and len(set(baseline)) < 2:
            baseline = None
        if not polygon and not baseline:
            self.repaired("lines without usable Coords or Baseline, skipped", line_id or "?")
            return None
        if not polygon:
            polygon = polygon_from_baseline(baseline)
            self.repaired("lines without Coords, polygon derived from the baseline", line_id)
        elif len(polygon) < 3:
            polygon = bbox_polygon(polygon)
        if not baseline:
            baseline = baseline_from_polygon(polygon)
            self.repaired("lines without a usable Baseline, baseline derived from the polygon", line_id)
        ex = self.extras(elem, _INTERPRETED_LINE, {"id", "custom"})
        index, ours, structure = self.split_custom(parse_custom(elem.get("custom")), ex)
        text, conf, other_equivs = _line_text(elem)
        if text is None:
            text = _words_text(elem)
        ex.elements[0:0] = other_equivs
        status = ours.get("status", "")
        if status not in ("empty", "predicted", "verified"):
            status = "empty" if not text else ("predicted" if conf is not None else "verified")
        char_confs = decode_confidences(ours.get("charConf", "")) if "charConf" in ours else None
        if char_confs is not None and len(char_confs) != len(text):
            char_confs = None
        extra_ours = {k: v for k, v in ours.items() if k not in ("status", "source", "charConf")}
        if extra_ours:
            ex.custom.append(format_tag("htrgui", extra_ours))
        line = TextLine(id=line_id, polygon=polygon, baseline=baseline, text=text, confidence=conf,
                        char_confidences=char_confs, status=status, source=ours.get("source", self.source),
                        type=structure, extras=ex)
        return index, line

    # --- regions -----------------------------------------------------------------------------------------
    def region(self, elem: ET.Element) -> tuple[int | None, TextRegion]:
        region_id = elem.get("id", "")
        if region_id.startswith("eSc_dummyblock_"):
            # eScriptorium's "no region": it becomes a real region, so it must not keep that meaning
            self.dummies += 1
            region_id = f"r_block_{self.dummies}"
        ex = self.extras(elem, _INTERPRETED_REGION, {"id", "custom", "type"})
        index, ours, structure = self.split_custom(parse_custom(elem.get("custom")), ex)
        if ours:
            ex.custom.append(format_tag("htrgui", ours))
        rtype = elem.get("type") or structure
        if elem.get("type") and structure and structure != elem.get("type"):
            # both given and different (e.g. SegmOnto label in structure): keep the finer one, remember @type
            rtype = structure
            ex.attrs["type"] = elem.get("type")
        if any(local(c.tag) in REGION_ELEMENTS for c in elem):
            self.repaired("regions with nested regions (kept as they are, their lines are not editable)",
                          region_id)
        lines = [r for r in (self.line(c) for c in children(elem, "TextLine")) if r is not None]
        ordered = _apply_index_order(lines)
        polygon = parse_polygon(_points(elem, "Coords"))
        if polygon and len(polygon) == 2 and len({p[0] for p in polygon}) == 2 == len({p[1] for p in polygon}):
            polygon = bbox_polygon(polygon)  # eScriptorium's two-corner boxes
        if not polygon or len(polygon) < 3:
            pts = [p for ln in ordered for p in ln.polygon + ln.baseline]
            if not pts:
                self.repaired("regions without Coords and without lines, dropped", region_id)
                return index, None
            polygon = bbox_polygon(pts)
            self.repaired("regions without usable Coords, box around their lines used", region_id)
        return index, TextRegion(id=region_id, polygon=polygon, type=rtype, lines=ordered, extras=ex)


def _points(elem: ET.Element, name: str) -> str | None:
    """``points`` of a Coords/Baseline child; PAGE 2009/2010 spell it as <Point x= y=> children."""
    c = child(elem, name)
    if c is None:
        return None
    if c.get("points") is not None:
        return c.get("points")
    pts = children(c, "Point")
    return " ".join(f"{p.get('x')},{p.get('y')}" for p in pts) if pts else None


def _line_text(elem: ET.Element) -> tuple[str | None, float | None, list[str]]:
    """(text, confidence, other TextEquivs serialized) from the line-level TextEquivs.

    The main one is the lowest ``@index`` (first in document order when none has one); None text when the
    line has no TextEquiv with a Unicode, or only an empty one while Words carry text.
    """
    equivs = children(elem, "TextEquiv")
    if not equivs:
        return None, None, []

    def rank(e: ET.Element) -> int:
        # lowest index is the main reading; one without index counts as 0 (ties: document order)
        idx = e.get("index", "")
        return int(idx) if idx.lstrip("-").isdigit() else 0

    main = min(equivs, key=rank)
    others = [to_string(e) for e in equivs if e is not main]
    uni = child(main, "Unicode")
    text = (uni.text or "") if uni is not None else None
    conf = _conf(main.get("conf"))
    if text == "" and children(elem, "Word"):
        text = None
    return text, conf, others


def _conf(value: str | None) -> float | None:
    try:
        c = float(value) if value is not None else None
    except ValueError:
        return None
    return c if c is not None and 0.0 <= c <= 1.0 else None


def _words_text(elem: ET.Element) -> str:
    """Line text folded from Words (their reading order, else document order) joined by single spaces."""
    words = []
    for pos, w in enumerate(children(elem, "Word")):
        uni = child(child(w, "TextEquiv") or ET.Element("x"), "Unicode")
        text = (uni.text or "") if uni is not None else "".join(
            (child(child(g, "TextEquiv") or ET.Element("x"), "Unicode") or ET.Element("x")).text or ""
            for g in children(w, "Glyph"))
        index = next((t.values["index"] for t in parse_custom(w.get("custom"))
                      if t.name == "readingOrder" and t.values.get("index", "").isdigit()), None)
        words.append((int(index) if index is not None else pos, pos, text.strip()))
    return " ".join(t for _, _, t in sorted(words) if t)


def _apply_index_order(items: list[tuple[int | None, object]]) -> list:
    """Objects sorted by their Transkribus ``readingOrder`` index when every one has one, else document order."""
    if items and all(i is not None for i, _ in items):
        return [obj for _, _, obj in sorted((i, pos, obj) for pos, (i, obj) in enumerate(items))]
    return [obj for _, obj in items]


def _reading_order(page_elem: ET.Element) -> list[str]:
    """Region ids in the order of ``ReadingOrder`` (nested groups flattened, indexed groups sorted)."""
    ro = child(page_elem, "ReadingOrder")
    out: list[str] = []

    def walk(group: ET.Element) -> None:
        items = [c for c in group if local(c.tag)]
        if any(c.get("index") is not None for c in items):
            items.sort(key=lambda c: int(c.get("index")) if (c.get("index") or "").isdigit() else 1 << 30)
        for c in items:
            ref = c.get("regionRef")
            if ref and ref not in out:
                out.append(ref)
            walk(c)

    if ro is not None:
        walk(ro)
    return out


def page_from_xml(root: ET.Element, path: Path) -> Page:
    """Build a :class:`Page` from a parsed PAGE document."""
    dialect = _dialect(root)
    page_elem = child(root, "Page")
    if page_elem is None:
        raise FormatError("no <Page> element", path, "PcGts")
    if len(children(root, "Page")) > 1:
        warn(path, "PcGts", "more than one <Page>: only the first is read")
    reader = _Reader(path, dialect, "import:" + _tool(root))
    try:
        width = int(float(page_elem.get("imageWidth") or 0))
        height = int(float(page_elem.get("imageHeight") or 0))
    except ValueError:
        raise FormatError("imageWidth/imageHeight are not numbers", path, "Page") from None
    repair_tree(root, path, width, height)
    page_ex = reader.extras(page_elem, _INTERPRETED_PAGE,
                            {"imageFilename", "imageWidth", "imageHeight", "custom"})
    page_index, ours, _ = reader.split_custom(parse_custom(page_elem.get("custom")), page_ex)
    metadata = _metadata(root, page_ex, reader)
    if root.get("pcGtsId"):
        metadata["pcGtsId"] = root.get("pcGtsId")
    found: list[tuple[int | None, list[TextRegion]]] = []
    table_of: dict[str, str] = {}  # cell region id -> table id
    for c in page_elem:
        if local(c.tag) == "TextRegion":
            index, region = reader.region(c)
            if region is not None:
                found.append((index, [region]))
        elif local(c.tag) == "TableRegion" and cells_of(c):
            index, cells, shell = read_table(reader, c)
            page_ex.elements.append(shell)
            table_of.update({cell.id: c.get("id", "") for cell in cells})
            found.append((index, cells))
        elif local(c.tag) == "TableRegion":
            page_ex.elements.append(to_string(c))
    regions = [r for group in _apply_index_order(found) for r in group]
    explicit = _reading_order(page_elem)
    if explicit:
        rank = {rid: i for i, rid in enumerate(explicit)}
        big = len(rank)
        # stable sort: unlisted regions keep document order; unlisted cells go where their table is listed
        regions.sort(key=lambda r: rank.get(r.id, rank.get(table_of.get(r.id, ""), big)))
    page = Page(image_filename=page_elem.get("imageFilename", ""), width=width, height=height, regions=regions,
                page_index=int(ours.get("pageIndex", "0")) if ours.get("pageIndex", "0").isdigit() else 0,
                xml_path=Path(path).resolve(), metadata=metadata, extras=page_ex)
    reader.report()
    return finish_page(page, Path(path))


def _tool(root: ET.Element) -> str:
    """Which tool wrote the file, for the ``source`` of imported text: transkribus, escriptorium, ... or page."""
    meta = child(root, "Metadata")
    creator = ""
    if meta is not None:
        c = child(meta, "Creator")
        creator = (c.text or "").lower() if c is not None else ""
        if child(meta, "TranskribusMetadata") is not None:
            return "transkribus"
    for tool in ("transkribus", "escriptorium", "kraken", "ocr-d", "htrgui"):
        if tool in creator:
            return tool
    return "page"


def _metadata(root: ET.Element, page_ex: Extras, reader: _Reader) -> dict[str, str]:
    """Creator/Created/LastChange/Comments as strings; other Metadata children kept in a <Metadata> extra."""
    meta = child(root, "Metadata")
    out: dict[str, str] = {}
    if meta is None:
        return out
    kept = ET.Element(meta.tag, meta.attrib)
    for c in meta:
        name = local(c.tag)
        if name in ("Creator", "Created", "LastChange", "Comments") and len(c) == 0:
            out[name] = (c.text or "").strip()
        elif name == "UserDefined":
            ex = Extras()
            reader._restore_user_defined(c, ex)
            kept.extend(from_string(s) for s in ex.elements)
        elif name:
            kept.append(c)
    if len(kept) or kept.attrib:
        page_ex.elements.insert(0, to_string(kept))
    return out
