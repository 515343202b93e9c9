"""Repairs on read for PAGE from older or looser writers, so that what we carry through validates as PAGE 2019.

The reader interprets TextRegion/TextLine and rewrites them itself; everything else (Word, Glyph, Border,
PrintSpace, GraphicRegion, SeparatorRegion, ...) is carried through as it was read. These repairs are done on
the parsed tree before interpretation, so both paths see clean input:

- PAGE 2009/2010 point lists (``<Coords><Point x= y=/></Coords>``) become ``points=""``;
- PAGE 2010/2013 script names (``primaryScript="Latin"``) become the 2019 ISO 15924 values
  (``"Latn - Latin"``); a value that cannot be mapped is dropped;
- regions, words and glyphs without ``id`` (TranskribusDU's separators) get one;
- attributes PAGE has no place for on a carried element (TranskribusDU's ``orient``) are dropped;
- negative or fractional coordinates (TranskribusDU tables) are rounded and clamped to the image.

Every kind of repair is reported once per file as a :class:`~htrgui.core.xmlsafe.FormatWarning`.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

from htrgui.core.geometry import parse_points
from htrgui.core.xmlsafe import local, make_ncname, warn

#: PAGE 2010/2013 ScriptSimpleType -> PAGE 2019 (ISO 15924 "Code - Name"), from the two XSDs.
SCRIPTS_2010 = {
    "Arabic": "Arab - Arabic", "Bengali": "Beng - Bengali", "Chinese-simplified": "Hans - Han (Simplified variant)",
    "Chinese-traditional": "Hant - Han (Traditional variant)", "Cyrillic": "Cyrl - Cyrillic",
    "Devangari": "Deva - Devanagari (Nagari)", "Devanagari": "Deva - Devanagari (Nagari)",
    "Ethiopic": "Ethi - Ethiopic", "Greek": "Grek - Greek", "Gujarati": "Gujr - Gujarati",
    "Gurmukhi": "Guru - Gurmukhi", "Hebrew": "Hebr - Hebrew", "Latin": "Latn - Latin", "Thai": "Thai - Thai",
    "other": "other",
}
_SCRIPT_2019 = re.compile(r"^[A-Z][a-z]{3} - \S")
_SCRIPT_ATTRS = ("primaryScript", "secondaryScript", "script")

#: Attributes PAGE 2019 allows on the elements we carry through without interpreting them (from the XSD).
_REGION = ("id", "custom", "comments", "continuation")
CARRIED_ATTRS: dict[str, tuple[str, ...]] = {
    "ImageRegion": _REGION + ("orientation", "colourDepth", "bgColour", "embText"),
    "LineDrawingRegion": _REGION + ("orientation", "penColour", "bgColour", "embText"),
    "GraphicRegion": _REGION + ("orientation", "type", "numColours", "embText"),
    "TableRegion": _REGION + ("orientation", "rows", "columns", "lineColour", "bgColour", "lineSeparators",
                              "embText"),
    "ChartRegion": _REGION + ("orientation", "type", "numColours", "bgColour", "embText"),
    "MapRegion": _REGION + ("orientation",),
    "SeparatorRegion": _REGION + ("orientation", "colour"),
    "MathsRegion": _REGION + ("orientation", "bgColour"),
    "ChemRegion": _REGION + ("orientation", "bgColour"),
    "MusicRegion": _REGION + ("orientation", "bgColour"),
    "AdvertRegion": _REGION + ("orientation", "bgColour"),
    "NoiseRegion": _REGION,
    "UnknownRegion": _REGION,
    "CustomRegion": _REGION + ("type",),
    "Word": ("id", "language", "primaryScript", "secondaryScript", "readingDirection", "production", "custom",
             "comments"),
    "Glyph": ("id", "ligature", "symbol", "script", "production", "custom", "comments"),
    "Border": (),
    "PrintSpace": (),
    "Coords": ("points", "conf"),
    "Baseline": ("points", "conf"),
}
#: Elements whose ``id`` is required by PAGE 2019 (TextRegion and TextLine get theirs from the reader).
_NEEDS_ID = {name: prefix for name, prefix in (
    [(n, "region") for n in CARRIED_ATTRS if n.endswith("Region")] + [("Word", "word"), ("Glyph", "glyph")])}


class _Repairs:
    """Collects repairs by kind so each kind is reported once per file."""

    def __init__(self) -> None:
        self.kinds: dict[str, list[str]] = {}

    def add(self, kind: str, what: str) -> None:
        self.kinds.setdefault(kind, []).append(what)

    def report(self, path: object) -> None:
        for kind, items in self.kinds.items():
            more = " ..." if len(items) > 5 else ""
            warn(path, None, f"{kind}: {len(items)} ({', '.join(items[:5])}{more})")


def repair_tree(root: ET.Element, path: object, width: int = 0, height: int = 0) -> None:
    """Repair a parsed PAGE tree in place (see the module docstring); ``width``/``height`` (0 = unknown) bound
    the coordinates."""
    repairs = _Repairs()
    ids = {e.get("id") for e in root.iter() if e.get("id")}
    counters: dict[str, int] = {}
    for elem in root.iter():
        name = local(elem.tag)
        if not name:
            continue
        if name in ("Coords", "Baseline"):
            _fix_points(elem, name, width, height, repairs)
        for attr in _SCRIPT_ATTRS:
            if elem.get(attr) is not None:
                _fix_script(elem, name, attr, repairs)
        if name in _NEEDS_ID and not elem.get("id"):
            prefix = _NEEDS_ID[name]
            new = ""
            while not new or new in ids:
                counters[prefix] = counters.get(prefix, 0) + 1
                new = make_ncname(f"{prefix}_{counters[prefix]}")
            ids.add(new)
            elem.set("id", new)
            repairs.add(f"{name} without id, id given", new)
        allowed = CARRIED_ATTRS.get(name)
        if allowed is not None:
            for attr in [a for a in elem.attrib if a not in allowed and not a.startswith("{")]:
                repairs.add(f"attributes PAGE does not define on {name}, dropped",
                            f"{attr}={elem.attrib[attr]!r}")
                del elem.attrib[attr]
    repairs.report(path)


def _fix_points(elem: ET.Element, name: str, width: int, height: int, repairs: _Repairs) -> None:
    points = [c for c in elem if local(c.tag) == "Point"]
    if points and elem.get("points") is None:
        elem.set("points", " ".join(f"{p.get('x')},{p.get('y')}" for p in points))
        repairs.add("PAGE 2010 <Point> lists turned into points=", name)
    for p in points:
        elem.remove(p)
    text = elem.get("points")
    pts = parse_points(text)
    if pts is None:
        return
    clean = [(max(x, 0), max(y, 0)) for x, y in pts]
    if width > 0 and height > 0:
        clean = [(min(x, width - 1), min(y, height - 1)) for x, y in clean]
    if any(x < 0 or y < 0 for x, y in pts):
        repairs.add("negative coordinates clamped to 0", name)
    new = " ".join(f"{x},{y}" for x, y in clean)
    if len(clean) == 1:
        new = f"{new} {new}"  # PAGE wants at least two points
    if new != text:
        elem.set("points", new)


def _fix_script(elem: ET.Element, name: str, attr: str, repairs: _Repairs) -> None:
    value = elem.get(attr, "")
    if _SCRIPT_2019.match(value) or value == "other":
        return
    mapped = SCRIPTS_2010.get(value)
    if mapped:
        elem.set(attr, mapped)
        repairs.add(f"PAGE 2010 script names mapped to PAGE 2019 ({value} -> {mapped})", f"{name}/@{attr}")
    else:
        del elem.attrib[attr]
        repairs.add("script values PAGE 2019 does not know, dropped", f"{name}/@{attr}={value!r}")
