"""Safe XML parsing and the small helpers the PAGE and ALTO readers and writers share.

Parsing goes through defusedxml: any DTD (``<!DOCTYPE``), and with it every entity declaration (billion
laughs) and external entity, is refused with a :class:`FormatError`; nothing is ever fetched from the network.
Writing uses the standard library's ElementTree with unqualified tags under a default ``xmlns`` on the root,
which is what eScriptorium requires (no ``pc:`` prefix).
"""

from __future__ import annotations

import copy
import math
import re
import warnings
from pathlib import Path
from xml.etree import ElementTree as ET

import defusedxml
import defusedxml.ElementTree as DET

from htrgui.core.errors import FormatError

XSI = "http://www.w3.org/2001/XMLSchema-instance"
PAGE_NS_PREFIX = "http://schema.primaresearch.org/PAGE/gts/pagecontent/"
PAGE2013 = PAGE_NS_PREFIX + "2013-07-15"
PAGE2019 = PAGE_NS_PREFIX + "2019-07-15"
ALTO_NS = {
    "http://www.loc.gov/standards/alto/ns-v2#": "alto2",
    "http://www.loc.gov/standards/alto/ns-v3#": "alto3",
    "http://www.loc.gov/standards/alto/ns-v4#": "alto4",
}
ALTO4 = "http://www.loc.gov/standards/alto/ns-v4#"

#: Larger XML files are refused: a page of PAGE/ALTO is a few MB even with glyph level.
MAX_XML_BYTES = 200 * 1024 * 1024
#: Deeper nesting is refused: real PAGE/ALTO is about 10 levels deep (20-30 with nested regions), and the
#: recursive parts of ElementTree and of our readers (serialising kept elements, copies) would otherwise end in
#: a RecursionError on a hostile file.
MAX_XML_DEPTH = 200

# XML 1.0 forbids most C0 controls; lxml and libxml2 refuse them, so they are removed from text we write.
_BAD_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9._-]*$")


class FormatWarning(UserWarning):
    """Something in an input file was repaired or skipped; the message names the file and element."""


def warn(path: object, element: str | None, message: str) -> None:
    """Emit a :class:`FormatWarning` naming the file and element."""
    where = f"{path}" + (f" ({element})" if element else "")
    warnings.warn(FormatWarning(f"{where}: {message}"), stacklevel=3)


def parse_xml(path: Path) -> ET.Element:
    """Parse an XML file safely and return its root element.

    Raises:
        FormatError: missing or unreadable file, too large, not well-formed, or hostile (entities, DTD).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_XML_BYTES:
            raise FormatError(f"file is {size / 1e6:.0f} MB, more than the {MAX_XML_BYTES / 1e6:.0f} MB limit", path)
        data = path.read_bytes()
    except FileNotFoundError:
        raise FormatError("file not found", path) from None
    except IsADirectoryError:
        raise FormatError("is a folder, not an XML file", path) from None
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror or exc}", path) from None
    return parse_xml_bytes(data, path)


def parse_xml_bytes(data: bytes, path: object = "<xml>") -> ET.Element:
    """Parse XML bytes safely (see :func:`parse_xml`); ``path`` is only used in messages."""
    if not data.strip():
        raise FormatError("file is empty", path)
    try:
        root = DET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DTDForbidden:
        raise FormatError("refused: the file declares a DTD (<!DOCTYPE ...>); PAGE and ALTO never need one, and "
                          "DTD entities can be used for entity-expansion or external-entity attacks", path) from None
    except defusedxml.EntitiesForbidden:
        raise FormatError("refused: the file declares XML entities (possible entity-expansion attack)", path) from None
    except defusedxml.ExternalReferenceForbidden:
        raise FormatError("refused: the file references an external entity or DTD", path) from None
    except defusedxml.DefusedXmlException as exc:
        raise FormatError(f"refused: unsafe XML ({exc})", path) from None
    except ET.ParseError as exc:
        line, col = exc.position
        raise FormatError(f"not well-formed XML at line {line}, column {col + 1}", path) from None
    _check_depth(root, path)
    return root


def _check_depth(root: ET.Element, path: object) -> None:
    """Refuse a tree nested deeper than :data:`MAX_XML_DEPTH` (checked without recursion)."""
    stack = [(root, 1)]
    while stack:
        elem, depth = stack.pop()
        if depth > MAX_XML_DEPTH:
            raise FormatError(f"refused: elements are nested more than {MAX_XML_DEPTH} levels deep (at "
                              f"<{local(elem.tag)}>); PAGE and ALTO files are never nested that deep", path)
        stack.extend((c, depth + 1) for c in elem)


def ns_of(tag: str) -> str:
    """The namespace URI of a Clark-notation tag (``""`` when unqualified)."""
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def local(tag: object) -> str:
    """The local name of a Clark-notation tag; comments and processing instructions give ``""``."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def children(elem: ET.Element, name: str) -> list[ET.Element]:
    """Direct children with this local name, whatever their namespace."""
    return [c for c in elem if local(c.tag) == name]


def child(elem: ET.Element, name: str) -> ET.Element | None:
    """The first direct child with this local name, or None."""
    return next((c for c in elem if local(c.tag) == name), None)


def to_string(elem: ET.Element) -> str:
    """Serialize one element (without its tail) to a string that :func:`from_string` reads back."""
    elem = copy.deepcopy(elem)
    elem.tail = None
    return ET.tostring(elem, encoding="unicode")


def from_string(text: str) -> ET.Element:
    """Parse an element serialized by :func:`to_string` (our own output, still parsed safely)."""
    return DET.fromstring(text.encode("utf-8"), forbid_dtd=True)


def renamespace(elem: ET.Element, old: set[str], new: str) -> ET.Element:
    """Move every element in one of the ``old`` namespaces into ``new`` (``""`` = the default namespace)."""
    for e in elem.iter():
        if isinstance(e.tag, str) and ns_of(e.tag) in old:
            e.tag = f"{{{new}}}{local(e.tag)}" if new else local(e.tag)
    return elem


def clean_text(text: str) -> str:
    """Text as XML 1.0 can hold it: forbidden control characters removed."""
    return _BAD_XML_CHARS.sub("", text)


def is_ncname(value: str) -> bool:
    """True when ``value`` is a safe xsd:ID (NCName subset without colons or non-ASCII)."""
    return bool(_NCNAME.match(value))


def make_ncname(value: str, prefix: str = "id") -> str:
    """A valid id derived from ``value``: bad characters become ``_``; a bad first character gets a prefix."""
    value = re.sub(r"[^A-Za-z0-9._-]", "_", value.strip())
    if not value or not re.match(r"[A-Za-z_]", value[0]):
        value = f"{prefix}_{value}"
    return value


def parse_points(text: str | None) -> list[tuple[int, int]] | None:
    """Parse a point list in any common spelling (``x,y x,y``, ``x y x y``, floats) to integer points.

    Returns None when the text is missing or unusable (odd number of values, not numbers, NaN).
    Consecutive duplicate points are dropped (they make degenerate edges).
    """
    if text is None:
        return None
    cleaned = text.replace(",", " ").strip()
    if not cleaned:
        return None
    tokens = cleaned.split()
    if len(tokens) % 2:
        return None
    try:
        values = [float(t) for t in tokens]
    except ValueError:
        return None
    if any(not math.isfinite(v) for v in values):
        return None
    pts: list[tuple[int, int]] = []
    for x, y in zip(values[0::2], values[1::2]):
        p = (int(round(x)), int(round(y)))
        if not pts or pts[-1] != p:
            pts.append(p)
    return pts


def parse_polygon(text: str | None) -> list[tuple[int, int]] | None:
    """:func:`parse_points` for a polygon: a closing point that repeats the first one is dropped."""
    pts = parse_points(text)
    if pts and len(pts) > 1 and pts[0] == pts[-1]:
        pts.pop()
    return pts


def clip_points(points: list[tuple[int, int]], width: int, height: int) -> list[tuple[int, int]]:
    """Integer points moved inside the image grid ``[0, width-1] x [0, height-1]``.

    Also turns numpy or float coordinates (from segmentation or editing) into the plain ints PAGE needs.
    """
    return [(min(max(int(round(x)), 0), width - 1), min(max(int(round(y)), 0), height - 1)) for x, y in points]


def polygon_for_export(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """A polygon with at least 4 points (OCR-D refuses fewer), without a repeated closing point.

    Missing points are added as edge midpoints, so the shape is unchanged.
    """
    pts = list(points)
    if len(pts) > 1 and pts[0] == pts[-1]:
        pts.pop()
    if len(pts) == 1:
        x, y = pts[0]
        pts = [(x, y), (x + 1, y), (x + 1, y + 1), (x, y + 1)]
    elif len(pts) == 2:
        (x0, y0), (x1, y1) = pts
        x0, x1 = sorted((x0, x1))
        y0, y1 = sorted((y0, y1))
        pts = [(x0, y0), (max(x1, x0 + 1), y0), (max(x1, x0 + 1), max(y1, y0 + 1)), (x0, max(y1, y0 + 1))]
    while len(pts) < 4:
        # split the longest edge
        i = max(range(len(pts)), key=lambda k: _dist2(pts[k], pts[(k + 1) % len(pts)]))
        a, b = pts[i], pts[(i + 1) % len(pts)]
        pts.insert(i + 1, ((a[0] + b[0]) // 2, (a[1] + b[1]) // 2))
    return pts


def _dist2(a: tuple[int, int], b: tuple[int, int]) -> int:
    return (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2


def bbox_polygon(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The axis-aligned rectangle around the points, as a 4-point polygon."""
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x0, y0, x1, y1 = min(xs), min(ys), max(xs), max(ys)
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def baseline_from_polygon(polygon: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """A horizontal baseline for a line that has none: across the polygon, a fifth of its height above the bottom."""
    x0, y0, x1, y1 = (min(p[0] for p in polygon), min(p[1] for p in polygon),
                      max(p[0] for p in polygon), max(p[1] for p in polygon))
    y = y1 - (y1 - y0) // 5
    return [(x0, y), (max(x1, x0 + 1), y)]


def polygon_from_baseline(baseline: list[tuple[int, int]], height: int = 40) -> list[tuple[int, int]]:
    """A band above (and a little below) the baseline for a line that has no polygon."""
    up = [(x, max(y - height, 0)) for x, y in baseline]
    down = [(x, y + max(height // 4, 1)) for x, y in reversed(baseline)]
    return up + down


def detect_format(root_tag: str) -> str:
    """``"page"``, ``"alto"`` or ``""`` from a root element's Clark tag."""
    ns = ns_of(root_tag)
    if local(root_tag) == "PcGts" and (ns.startswith(PAGE_NS_PREFIX) or "PAGE" in ns or not ns):
        return "page"
    if local(root_tag).lower() == "alto" and (ns in ALTO_NS or "alto" in ns.lower() or not ns):
        return "alto"
    return ""
