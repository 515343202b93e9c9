"""The document model: pages, text regions and text lines.

Glossary (one word per concept, used everywhere in the code and the interface):

- **page**: one image (a scan, or one page of a multi-page TIFF or PDF) and what was found on it.
- **region**: an area of a page with a type (paragraph, marginalia, heading, ...) holding lines.
- **line**: one text line: a polygon around its ink, a baseline under it (left to right), its text,
  confidences, who produced the text and a status.
- **status**: ``empty`` (no text yet), ``predicted`` (text from a model), ``verified`` (a person checked it).
- **source**: who produced the text: a model id (``model:<name>``), a person (``person``) or an import
  (``import:<tool>``).
- **reading order**: the order of ``Page.regions``, and within a region the order of ``Region.lines``.

Coordinates are integer pixels of the page image as displayed (EXIF orientation applied), (x, y).

What the app does not interpret but must not lose on a read-write cycle (words, glyphs, tags, unknown
attributes and elements) travels in the ``extras`` of each object; the io layer owns their format.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Literal, get_args

Point = tuple[int, int]
LineStatus = Literal["empty", "predicted", "verified"]
LINE_STATUSES: tuple[str, ...] = get_args(LineStatus)

#: Region types we know by name (PAGE ``@type`` values where PAGE has one). Other strings are kept as they are.
REGION_TYPES: tuple[str, ...] = (
    "paragraph",
    "heading",
    "marginalia",
    "page-number",
    "header",
    "footer",
    "caption",
    "signature-mark",
    "catch-word",
    "drop-capital",
    "table-cell",
    "stamp",
    "other",
)

PERSON = "person"


def new_id(prefix: str) -> str:
    """A fresh id that is a valid XML NCName, e.g. ``l_3f2a9c1b``."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@dataclass
class Extras:
    """What the io layer keeps verbatim so that a read-write cycle loses nothing.

    ``attrs``: attributes we do not interpret (name -> value, names in Clark notation when namespaced).
    ``elements``: serialized XML of child elements we do not interpret, in document order.
    ``custom``: the Transkribus-style ``custom`` tags we do not interpret, e.g. ``{"textStyle": "offset:0; ..."}``
    kept as raw strings so they are written back unchanged.
    ``source_format``: ``"page2013"``, ``"page2019"``, ``"alto"`` ... the dialect ``elements`` are written in.
    """

    attrs: dict[str, str] = field(default_factory=dict)
    elements: list[str] = field(default_factory=list)
    custom: list[str] = field(default_factory=list)
    source_format: str = ""


@dataclass
class TextLine:
    """One line of text on a page."""

    id: str
    polygon: list[Point]
    baseline: list[Point]
    text: str = ""
    #: Confidence of the whole line in [0, 1], or None when unknown.
    confidence: float | None = None
    #: One confidence per character of ``text`` (same length), or None.
    char_confidences: list[float] | None = None
    status: LineStatus = "empty"
    source: str = ""
    #: Line type (e.g. SegmOnto ``DefaultLine``, ``HeadingLine``), empty when unknown.
    type: str = ""
    extras: Extras = field(default_factory=Extras)
    #: True once the text was changed here after import: word/glyph extras no longer match and are dropped.
    text_changed: bool = False

    def __post_init__(self) -> None:
        if self.status not in LINE_STATUSES:
            raise ValueError(f"line {self.id}: unknown status {self.status!r}, expected one of {LINE_STATUSES}")
        if self.char_confidences is not None and len(self.char_confidences) != len(self.text):
            raise ValueError(f"line {self.id}: {len(self.char_confidences)} confidences for {len(self.text)} characters")

    def set_text(self, text: str, *, source: str = PERSON, status: LineStatus | None = None,
                 confidence: float | None = None, char_confidences: list[float] | None = None) -> None:
        """Replace the text; a person's edit drops the model's confidences. Marks the text as changed."""
        if text != self.text:
            self.text_changed = True
        self.text = text
        self.source = source
        self.confidence = confidence
        self.char_confidences = char_confidences
        if status is not None:
            self.status = status
        elif not text:
            self.status = "empty"
        elif source == PERSON:
            self.status = "verified"
        else:
            self.status = "predicted"
        # re-run the checks of __post_init__
        self.__post_init__()

    def bbox(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of polygon and baseline together."""
        pts = list(self.polygon) + list(self.baseline)
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        return min(xs), min(ys), max(xs), max(ys)


@dataclass
class TextRegion:
    """An area of the page with a type and its lines in reading order."""

    id: str
    polygon: list[Point]
    type: str = "paragraph"
    lines: list[TextLine] = field(default_factory=list)
    extras: Extras = field(default_factory=Extras)


@dataclass
class PageCounts:
    """How far a page is: used by the page list and by the CLI summaries."""

    lines: int
    empty: int
    predicted: int
    verified: int

    @property
    def state(self) -> str:
        """``not segmented``, ``segmented``, ``recognised`` or ``verified``."""
        if self.lines == 0:
            return "not segmented"
        if self.verified == self.lines:
            return "verified"
        if self.empty == self.lines:
            return "segmented"
        return "recognised"


@dataclass
class Page:
    """One page image and its content.

    ``image_path`` is the image on disk (absolute once loaded); ``image_filename`` is the name written into
    PAGE/ALTO (bare file name, relative to the XML's folder's parent for a ``page/`` layout). ``page_index``
    is the page inside a multi-page TIFF or PDF (0 for single images).
    """

    image_filename: str
    width: int
    height: int
    regions: list[TextRegion] = field(default_factory=list)
    image_path: Path | None = None
    page_index: int = 0
    #: Where this page is stored (the PAGE-XML file), None until saved or when imported from elsewhere.
    xml_path: Path | None = None
    #: Creator/created/last-change and other metadata the io layer keeps.
    metadata: dict[str, str] = field(default_factory=dict)
    extras: Extras = field(default_factory=Extras)

    def lines(self) -> Iterator[TextLine]:
        """All lines in reading order."""
        for region in self.regions:
            yield from region.lines

    def find_line(self, line_id: str) -> tuple[TextRegion, TextLine] | None:
        """The region and line with this id, or None."""
        for region in self.regions:
            for line in region.lines:
                if line.id == line_id:
                    return region, line
        return None

    def find_region(self, region_id: str) -> TextRegion | None:
        """The region with this id, or None."""
        return next((r for r in self.regions if r.id == region_id), None)

    def ids(self) -> set[str]:
        """Every id used on the page (regions and lines)."""
        out = {r.id for r in self.regions}
        out.update(line.id for line in self.lines())
        return out

    def counts(self) -> PageCounts:
        """Line totals per status."""
        lines = list(self.lines())
        return PageCounts(
            lines=len(lines),
            empty=sum(line.status == "empty" for line in lines),
            predicted=sum(line.status == "predicted" for line in lines),
            verified=sum(line.status == "verified" for line in lines),
        )

    def text(self) -> str:
        """Plain text: one line per text line, regions separated by a blank line, in reading order."""
        blocks = ["\n".join(line.text for line in region.lines) for region in self.regions if region.lines]
        return "\n\n".join(blocks) + ("\n" if blocks else "")
