"""Helpers of the io tests (imported by name: pytest puts this folder on sys.path).

Expectations are computed with lxml, independently of htrgui's own readers and writers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from htrgui.core.paths import shared_dir

lxml_etree = pytest.importorskip("lxml.etree")

REPO = Path(__file__).resolve().parents[2]
SHARED = shared_dir()
DATA = SHARED / "data"


class Validator:
    """Validates files against one XSD; ``errors(path)`` gives the schema messages (empty when valid)."""

    def __init__(self, xsd_path) -> None:
        parser = lxml_etree.XMLParser(no_network=True, resolve_entities=False)
        self.schema = lxml_etree.XMLSchema(lxml_etree.parse(str(xsd_path), parser))
        self.parser = parser

    def errors(self, source) -> list[str]:
        """Schema errors of a file path or of the document's bytes."""
        if isinstance(source, bytes):
            doc = lxml_etree.ElementTree(lxml_etree.fromstring(source, self.parser))
        else:
            doc = lxml_etree.parse(str(source), self.parser)
        if self.schema.validate(doc):
            return []
        return [f"{e.line}: {e.message}" for e in self.schema.error_log][:5]


def points(text: str) -> list[tuple[int, int]]:
    """Points of an ALTO (``x y x y``) or PAGE (``x,y x,y``) list, as the files spell them (test-side parser)."""
    v = [int(float(t)) for t in text.replace(",", " ").split()]
    return list(zip(v[0::2], v[1::2]))


def lxml_root(source):
    """The root element of a file path or of bytes, parsed with lxml (offline, no entities)."""
    parser = lxml_etree.XMLParser(no_network=True, resolve_entities=False)
    if isinstance(source, bytes):
        return lxml_etree.fromstring(source, parser)
    return lxml_etree.parse(str(source), parser).getroot()


def lxml_lines(source) -> list[dict]:
    """Lines of a PAGE or ALTO file (path or bytes) in document order, parsed with lxml independently of htrgui."""
    doc = lxml_root(source)
    ns = doc.nsmap[None]
    out = []
    if "alto" in ns:
        for block in doc.iter(f"{{{ns}}}TextBlock"):
            for ln in block.iter(f"{{{ns}}}TextLine"):
                poly = ln.find(f"{{{ns}}}Shape/{{{ns}}}Polygon")
                text = " ".join(s.get("CONTENT") for s in ln.iter(f"{{{ns}}}String"))
                out.append({"id": ln.get("ID"), "block": block.get("ID"), "text": text,
                            "baseline": points(ln.get("BASELINE")),
                            "polygon": points(poly.get("POINTS")) if poly is not None else None})
    else:
        for region in doc.iter(f"{{{ns}}}TextRegion"):
            for ln in region.findall(f"{{{ns}}}TextLine"):
                uni = ln.find(f"{{{ns}}}TextEquiv/{{{ns}}}Unicode")
                out.append({"id": ln.get("id"), "block": region.get("id"), "text": uni.text or "",
                            "baseline": points(ln.find(f"{{{ns}}}Baseline").get("points")),
                            "polygon": points(ln.find(f"{{{ns}}}Coords").get("points"))})
    return out


def read_with_warnings(path):
    """The page read from ``path`` and the messages of the format warnings reading it gave."""
    import warnings

    from htrgui.core.io import FormatWarning, read_document

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        page = read_document(path)
    return page, [str(w.message) for w in caught if issubclass(w.category, FormatWarning)]
