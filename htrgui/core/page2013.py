"""PAGE 2013-07-15 output, for importing into Transkribus (which writes and prefers 2013).

The document is built as PAGE 2019 and then reduced to what the 2013 schema allows (the element and attribute
lists below are taken from pagecontent-2013-07-15.xsd). What 2013 has no place for is dropped: ``UserDefined``
(and with it the kept Transkribus extensions), ``Labels``, ``Roles``, ``MetadataItem``, alternative
``TextEquiv``s, 2019-only attributes. Values 2013 does not know are translated: ISO 15924 script codes
(``Latn - Latin``) become the 2013 script names (``Latin``, else ``other``), the 2019 region type
``list-label`` becomes ``other`` (the ``custom`` structure tag keeps it). Use PAGE 2019 as the working format;
2013 is an export.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from htrgui.core.xmlsafe import PAGE2013, local

REGIONS = ("TextRegion", "ImageRegion", "LineDrawingRegion", "GraphicRegion", "TableRegion", "ChartRegion",
           "SeparatorRegion", "MathsRegion", "ChemRegion", "MusicRegion", "AdvertRegion", "NoiseRegion",
           "UnknownRegion")
#: element -> (allowed children, allowed attributes); None = not restricted here
_ALLOWED: dict[str, tuple[tuple[str, ...], tuple[str, ...] | None]] = {
    "PcGts": (("Metadata", "Page"), ("pcGtsId", "xmlns", "xmlns:xsi", "xsi:schemaLocation")),
    "Metadata": (("Creator", "Created", "LastChange", "Comments"), ()),
    "Page": (("AlternativeImage", "Border", "PrintSpace", "ReadingOrder", "Layers") + REGIONS,
             ("imageFilename", "imageWidth", "imageHeight", "custom", "type")),
    "TextRegion": (("Coords",) + REGIONS + ("TextLine", "TextEquiv", "TextStyle"),
                   ("id", "custom", "comments", "orientation", "type", "leading", "readingDirection",
                    "readingOrientation", "indented", "align", "primaryLanguage", "secondaryLanguage",
                    "primaryScript", "secondaryScript", "production")),
    "TextLine": (("Coords", "Baseline", "Word", "TextEquiv", "TextStyle"),
                 ("id", "primaryLanguage", "production", "custom", "comments")),
    "Word": (("Coords", "Glyph", "TextEquiv", "TextStyle"), ("id", "language", "production", "custom", "comments")),
    "Glyph": (("Coords", "TextEquiv", "TextStyle"), ("id", "ligature", "symbol", "production", "custom", "comments")),
    "TextEquiv": (("PlainText", "Unicode"), ("conf",)),
    "Coords": ((), ("points",)),
    "Baseline": ((), ("points",)),
    "OrderedGroup": (("RegionRefIndexed", "OrderedGroupIndexed", "UnorderedGroupIndexed"), ("id", "caption")),
    "UnorderedGroup": (("RegionRef", "OrderedGroup", "UnorderedGroup"), ("id", "caption")),
    "OrderedGroupIndexed": (("RegionRefIndexed", "OrderedGroupIndexed", "UnorderedGroupIndexed"),
                            ("id", "index", "caption")),
    "UnorderedGroupIndexed": (("RegionRef", "OrderedGroup", "UnorderedGroup"), ("id", "index", "caption")),
}
#: non-text regions: only the shared region content model is restricted (their own attributes are alike)
_OTHER_REGION = (("Coords",) + REGIONS, None)

#: 2013's ScriptSimpleType by the ISO 15924 code that opens 2019's values (its spelling "Devangari" included)
_SCRIPTS_2013 = {"Arab": "Arabic", "Aran": "Arabic", "Beng": "Bengali", "Hans": "Chinese-simplified",
                 "Hant": "Chinese-traditional", "Cyrl": "Cyrillic", "Cyrs": "Cyrillic", "Deva": "Devangari",
                 "Ethi": "Ethiopic", "Grek": "Greek", "Gujr": "Gujarati", "Guru": "Gurmukhi", "Hebr": "Hebrew",
                 "Latn": "Latin", "Latf": "Latin", "Latg": "Latin", "Thai": "Thai"}
#: 2013's TextTypeSimpleType (2019 added list-label)
_TEXT_TYPES_2013 = frozenset({"paragraph", "heading", "caption", "header", "footer", "page-number", "drop-capital",
                              "credit", "floating", "signature-mark", "catch-word", "marginalia", "footnote",
                              "footnote-continued", "endnote", "TOC-entry", "other"})


def _script_2013(value: str) -> str:
    if value in _SCRIPTS_2013.values() or value == "other":
        return value
    return _SCRIPTS_2013.get(value.split(" ", 1)[0], "other")


def to_2013(root: ET.Element) -> ET.Element:
    """Reduce a PAGE 2019 tree built by pagewrite (unqualified tags) to the 2013 schema, in place."""
    root.set("xmlns", PAGE2013)
    root.set("xsi:schemaLocation", f"{PAGE2013} {PAGE2013}/pagecontent.xsd")
    _reduce(root)
    return root


def _reduce(elem: ET.Element) -> None:
    name = local(elem.tag)
    rule = _ALLOWED.get(name) or (_OTHER_REGION if name in REGIONS else None)
    if rule is not None:
        children, attrs = rule
        seen_equiv = False
        for c in list(elem):
            cname = local(c.tag)
            # 2013 allows at most one TextEquiv per element: the first is the main reading
            if cname not in children or (cname == "TextEquiv" and seen_equiv):
                elem.remove(c)
            seen_equiv = seen_equiv or cname == "TextEquiv"
        if attrs is not None:
            for a in [a for a in elem.attrib if a not in attrs]:
                del elem.attrib[a]
        if name == "RegionType" or name in REGIONS:
            elem.attrib.pop("continuation", None)
        for attr in ("primaryScript", "secondaryScript"):
            if attr in elem.attrib:
                elem.set(attr, _script_2013(elem.get(attr, "")))
        if name == "TextRegion" and elem.get("type") not in (None, *_TEXT_TYPES_2013):
            elem.set("type", "other")
    for c in elem:
        _reduce(c)
