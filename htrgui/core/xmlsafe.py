"""Safe XML parsing and the small XML helpers the PAGE and ALTO readers and writers share (their point lists
and polygons are :mod:`htrgui.core.geometry`'s).

Parsing goes through defusedxml: any DTD (``<!DOCTYPE``), and with it every entity declaration (billion
laughs) and external entity, is refused with a :class:`FormatError`; nothing is ever fetched from the network.
Writing uses the standard library's ElementTree with unqualified tags under a default ``xmlns`` on the root,
which is what eScriptorium requires (no ``pc:`` prefix).
"""

from __future__ import annotations

import copy
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


def detect_format(root_tag: str) -> str:
    """``"page"``, ``"alto"`` or ``""`` from a root element's Clark tag."""
    ns = ns_of(root_tag)
    if local(root_tag) == "PcGts" and (ns.startswith(PAGE_NS_PREFIX) or "PAGE" in ns or not ns):
        return "page"
    if local(root_tag).lower() == "alto" and (ns in ALTO_NS or "alto" in ns.lower() or not ns):
        return "alto"
    return ""
