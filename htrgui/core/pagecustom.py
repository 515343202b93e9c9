"""PAGE ``@custom`` attributes (Transkribus "CSS" tags) and the PAGE 2019 content rules the writer keeps.

``custom`` looks like ``readingOrder {index:0;} htrgui {status:verified;} structure {type:paragraph;}``.
Transkribus escapes ``\\ " ' { } : ;``, space and tab in values as ``\\uXXXX``; kraken and eScriptorium do not
unescape, so we do it on import and escape on export.

Our own tag is ``htrgui {status:...; source:...; charConf:...;}`` on lines and ``htrgui {pageIndex:N;}`` on
pages (see docs/formats.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TAG = re.compile(r"([A-Za-z0-9_-]+)\s*\{([^{}]*)\}")
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_NEEDS_ESCAPE = set("\\\"'{}:; \t")

# What PAGE 2019 allows, taken from pagecontent-2019-07-15.xsd: the writer puts any other kept attribute or
# element into UserDefined so that the file validates and nothing is lost.
PAGE_ATTRS = {
    "imageFilename", "imageWidth", "imageHeight", "imageXResolution", "imageYResolution", "imageResolutionUnit",
    "custom", "orientation", "type", "primaryLanguage", "secondaryLanguage", "primaryScript", "secondaryScript",
    "readingDirection", "textLineOrder", "conf",
}
REGION_ATTRS = {
    "id", "custom", "comments", "continuation", "orientation", "type", "leading", "readingDirection",
    "textLineOrder", "readingOrientation", "indented", "align", "primaryLanguage", "secondaryLanguage",
    "primaryScript", "secondaryScript", "production",
}
LINE_ATTRS = {"id", "primaryLanguage", "primaryScript", "secondaryScript", "readingDirection", "production",
              "custom", "comments", "index"}
REGION_ELEMENTS = (
    "TextRegion", "ImageRegion", "LineDrawingRegion", "GraphicRegion", "TableRegion", "ChartRegion", "MapRegion",
    "SeparatorRegion", "MathsRegion", "ChemRegion", "MusicRegion", "AdvertRegion", "NoiseRegion", "UnknownRegion",
    "CustomRegion",
)
#: Child order per parent (the XSD's sequence); regions share one rank because they form a choice.
CHILD_ORDER = {
    "Metadata": ("Creator", "Created", "LastChange", "Comments", "UserDefined", "MetadataItem"),
    "Page": ("AlternativeImage", "Border", "PrintSpace", "ReadingOrder", "Layers", "Relations", "TextStyle",
             "UserDefined", "Labels", "#regions"),
    "TextRegion": ("AlternativeImage", "Coords", "UserDefined", "Labels", "Roles", "#regions", "TextLine",
                   "TextEquiv", "TextStyle"),
    "TextLine": ("AlternativeImage", "Coords", "Baseline", "Word", "TextEquiv", "TextStyle", "UserDefined",
                 "Labels"),
}
#: PAGE ``TextRegion/@type`` values; other region types are written only in ``custom structure``.
PAGE_TEXT_TYPES = (
    "paragraph", "heading", "caption", "header", "footer", "page-number", "drop-capital", "credit", "floating",
    "signature-mark", "catch-word", "marginalia", "footnote", "footnote-continued", "endnote", "TOC-entry",
    "list-label", "other",
)
#: Names of the UserAttributes that hold what PAGE 2019 has no place for.
KEPT_ELEMENT = "htrgui-element"
KEPT_ATTRIBUTE = "htrgui-attribute:"


def child_rank(parent: str, name: str) -> int:
    """Position of a child element in its parent's content model (unknown names sort last)."""
    order = CHILD_ORDER[parent]
    if name in REGION_ELEMENTS and "#regions" in order:
        return order.index("#regions")
    return order.index(name) if name in order else len(order)


def allowed_child(parent: str, name: str) -> bool:
    """True when PAGE 2019 allows an element of this name under ``parent``."""
    order = CHILD_ORDER[parent]
    return name in order or (name in REGION_ELEMENTS and "#regions" in order)


def unescape(value: str) -> str:
    """Undo Transkribus ``\\uXXXX`` escapes."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)


def escape(value: str, keep: str = "") -> str:
    """Escape a value for ``custom`` the way Transkribus does; characters in ``keep`` stay as they are."""
    return "".join(f"\\u{ord(c):04x}" if c in _NEEDS_ESCAPE and c not in keep else c for c in value)


@dataclass
class CustomTag:
    """One ``name {key:value; ...}`` tag; ``raw`` is the original text, written back unchanged when kept."""

    name: str
    values: dict[str, str] = field(default_factory=dict)
    raw: str = ""


def parse_custom(text: str | None) -> list[CustomTag]:
    """Parse a ``custom`` attribute into tags (values unescaped); malformed parts are ignored."""
    tags = []
    for m in _TAG.finditer(text or ""):
        values = {}
        for part in m.group(2).split(";"):
            if ":" in part:
                key, _, value = part.partition(":")
                values[key.strip()] = unescape(value.strip())
        tags.append(CustomTag(m.group(1), values, m.group(0)))
    return tags


#: Tags whose ``type`` value keeps its ``:`` (SegmOnto subtypes such as ``DefaultLine:Typewritten``): kraken and
#: eScriptorium write the colon as it is and, not unescaping, would read ``\\u003a`` literally; a value split at
#: the first ``:`` (ours, kraken's) gets it back whole.
TYPE_TAGS = ("structure", "type")


def format_tag(name: str, values: dict[str, str]) -> str:
    """``name {key:value;...}`` with escaped values (``:`` kept in the type of ``structure``/``type`` tags)."""
    keep = ":" if name in TYPE_TAGS else ""
    body = " ".join(f"{k}:{escape(str(v), keep)};" for k, v in values.items())
    return f"{name} {{{body}}}"


def build_custom(index: int | None, ours: dict[str, str], kept: list[str], structure: str) -> str:
    """A ``custom`` value: readingOrder first, structure last (eScriptorium's greedy regex needs that)."""
    parts = []
    if index is not None:
        parts.append(format_tag("readingOrder", {"index": str(index)}))
    if ours:
        parts.append(format_tag("htrgui", ours))
    parts.extend(kept)
    if structure:
        parts.append(format_tag("structure", {"type": structure}))
    return " ".join(parts)


def encode_confidences(confs: list[float]) -> str:
    """Per-character confidences as two hex digits each (resolution 1/255): short enough for an attribute."""
    return "".join(f"{round(min(max(c, 0.0), 1.0) * 255):02x}" for c in confs)


def decode_confidences(text: str) -> list[float] | None:
    """Inverse of :func:`encode_confidences`; None when the text is not valid."""
    if len(text) % 2 or not re.fullmatch(r"[0-9a-fA-F]*", text):
        return None
    return [int(text[i:i + 2], 16) / 255 for i in range(0, len(text), 2)]
