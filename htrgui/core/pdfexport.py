"""Searchable PDF export: the page image with an invisible text layer over each line, one PDF per page.

The PDF is written by hand (objects, xref, trailer) so no PDF library is needed:

- the image is a JPEG XObject filling the page; the page box is the image at its dpi (300 when unknown).
  A plain JPEG is embedded as it is (no quality loss, no decoding); anything else is decoded once and
  re-encoded as JPEG.
- each line's text is drawn in render mode 3 (invisible) on its baseline, rotated with it, its font size from
  the polygon's height above the baseline and scaled horizontally (``Tz``) to span the line, so that viewers
  select and find words where they are on the scan.
- the font is a Type0 font with Identity-H encoding whose CIDs are assigned per distinct character, and a
  ToUnicode CMap maps each CID back to its character: any Unicode text (MUFI, combining marks, characters
  outside the BMP) survives copy and search. No glyphs are embedded: the text is never painted.
"""

from __future__ import annotations

import io
import math
import unicodedata
import zlib
from pathlib import Path

from PIL import Image

from htrgui.core.document import Page, TextLine
from htrgui.core.errors import HtrError
from htrgui.core.fileio import atomic_write_bytes

DEFAULT_DPI = 300.0
JPEG_QUALITY = 85
#: Advance of every glyph in 1/1000 em (combining marks advance 0); ``Tz`` stretches lines to their width.
ADVANCE = 500
ASCENT, DESCENT = 800, -200
#: Acrobat refuses pages larger than 200 inches: a wrong dpi (72 on a big scan) must not produce one.
MAX_PAGE_PT = 14400.0


def write_pdf(page: Page, path: Path | str) -> None:
    """Write ``page`` as a one-page searchable PDF to ``path``, atomically.

    Raises:
        HtrError: the page's image is missing or unreadable (a PDF without its scan would be useless).
    """
    atomic_write_bytes(path, pdf_bytes(page))


def pdf_bytes(page: Page) -> bytes:
    """The searchable PDF of ``page`` as bytes."""
    jpeg, px_w, px_h, grey, dpi = page_jpeg(page)
    scale = 72.0 / dpi
    if max(page.width, page.height) * scale > MAX_PAGE_PT:
        scale = MAX_PAGE_PT / max(page.width, page.height)
    width_pt, height_pt = page.width * scale, page.height * scale
    chars: dict[str, int] = {}
    ops = [f"q {_num(width_pt)} 0 0 {_num(height_pt)} 0 0 cm /Im0 Do Q"]
    for line in page.lines():
        op = line_operators(line, scale, height_pt, chars)
        if op:
            ops.append(op)
    content = zlib.compress("\n".join(ops).encode("ascii"))
    image_dict = (f"<< /Type /XObject /Subtype /Image /Width {px_w} /Height {px_h} /ColorSpace "
                  f"/{'DeviceGray' if grey else 'DeviceRGB'} /BitsPerComponent 8 /Filter /DCTDecode "
                  f"/Length {len(jpeg)} >>")
    from htrgui import __version__

    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {_num(width_pt)} {_num(height_pt)}] /Contents 4 0 R "
         f"/Resources << /XObject << /Im0 5 0 R >> /Font << /F1 6 0 R >> >> >>").encode("ascii"),
        _stream(f"<< /Length {len(content)} /Filter /FlateDecode >>", content),
        _stream(image_dict, jpeg),
        b"<< /Type /Font /Subtype /Type0 /BaseFont /GlyphLessFont /Encoding /Identity-H "
        b"/DescendantFonts [7 0 R] /ToUnicode 9 0 R >>",
        cid_font(chars),
        (f"<< /Type /FontDescriptor /FontName /GlyphLessFont /Flags 5 /FontBBox [0 {DESCENT} {ADVANCE} {ASCENT}] "
         f"/ItalicAngle 0 /Ascent {ASCENT} /Descent {DESCENT} /CapHeight {ASCENT} /StemV 80 >>").encode("ascii"),
        _stream_of(to_unicode_cmap(chars).encode("ascii")),
        (f"<< /Producer {_pdf_string('htrgui ' + __version__)} "
         f"/Title {_pdf_string(page.image_filename or 'page')} >>").encode("ascii"),
    ]
    return assemble(objects, info=10)


def page_jpeg(page: Page) -> tuple[bytes, int, int, bool, float]:
    """(JPEG bytes, pixel width, pixel height, greyscale?, dpi) of the page's image."""
    path = page.image_path
    if path is None or not Path(path).is_file():
        raise HtrError(f"page {page.image_filename or '?'}: image not found"
                       + (f" ({path})" if path else "") + "; a searchable PDF needs the scan")
    from htrgui.core.imaging import load_page_image

    try:
        with Image.open(path) as img:
            dpi = _dpi(img.info.get("dpi"))
            orientation = img.getexif().get(0x0112, 1)
            if page.metadata.get("imageOrientation") == "raw":
                orientation = 1
            # a baseline or progressive JPEG in grey or RGB goes in as it is: PDF readers decode it natively
            if (img.format == "JPEG" and img.mode in ("L", "RGB") and orientation == 1 and page.page_index == 0
                    and not Path(path).suffix.lower() == ".pdf"):
                return Path(path).read_bytes(), img.size[0], img.size[1], img.mode == "L", dpi
            grey = img.mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")
    except OSError:
        grey, dpi = False, DEFAULT_DPI  # not something Pillow opens (a PDF page): load_page_image renders it
    pixels = load_page_image(page, "L" if grey else "RGB")  # ImageError (an HtrError) when unreadable
    buf = io.BytesIO()
    out = Image.fromarray(pixels)
    del pixels  # one decoded copy at a time: a 150-megapixel scan is 450 MB in RGB
    out.save(buf, "JPEG", quality=JPEG_QUALITY, optimize=False)
    return buf.getvalue(), out.size[0], out.size[1], grey, dpi


def _dpi(value) -> float:
    """A usable dpi from Pillow's ``info["dpi"]``, or :data:`DEFAULT_DPI` when absent or absurd."""
    try:
        dpi = float(value[0])
    except (TypeError, ValueError, IndexError):
        return DEFAULT_DPI
    return dpi if 10.0 <= dpi <= 10000.0 else DEFAULT_DPI


def line_operators(line: TextLine, scale: float, height_pt: float, chars: dict[str, int]) -> str:
    """The content-stream operators drawing ``line``'s text invisibly over it ('' when nothing to draw).

    ``chars`` maps characters to CIDs and grows with new characters. Coordinates: image pixels times
    ``scale`` give points; PDF's y axis points up, the image's down.
    """
    if not line.text.strip() or not (line.polygon or line.baseline):
        return ""
    (ox, oy), (ux, uy), length, size = line_frame(line)
    if length <= 0 or size <= 0:
        return ""
    cids = [chars.setdefault(ch, len(chars) + 1) for ch in line.text]
    advance = sum(0 if unicodedata.combining(ch) else ADVANCE for ch in line.text) / 1000.0 * size
    stretch = 100.0 * length / advance if advance > 0 else 100.0
    # unit vector along the baseline in PDF space (y flipped) gives the text matrix's rotation
    cos, sin = ux, -uy
    size_pt = size * scale
    tm = f"{_num(cos)} {_num(sin)} {_num(-sin)} {_num(cos)} {_num(ox * scale)} {_num(height_pt - oy * scale)}"
    text = "".join(f"{cid:04X}" for cid in cids)
    return f"BT 3 Tr /F1 {_num(size_pt)} Tf {_num(stretch)} Tz {tm} Tm <{text}> Tj ET"


def line_frame(line: TextLine) -> tuple[tuple[float, float], tuple[float, float], float, float]:
    """(start point, unit direction, length, font size) of a line, in image pixels.

    The direction is the baseline's (first to last point), horizontal without a baseline; start and length
    span the polygon and baseline projected onto it, so the text covers the whole line. The font size puts
    the ascent at the polygon's top; a line without a baseline gets one at 80% of its height.
    """
    pts = [(float(x), float(y)) for x, y in list(line.polygon) + list(line.baseline)]
    if len(line.baseline) >= 2 and line.baseline[0] != line.baseline[-1]:
        (x0, y0), (x1, y1) = line.baseline[0], line.baseline[-1]
        d = math.hypot(x1 - x0, y1 - y0)
        ux, uy = (x1 - x0) / d, (y1 - y0) / d
        bx, by = float(x0), float(y0)
    else:
        ys = [p[1] for p in pts]
        ux, uy = 1.0, 0.0
        bx, by = pts[0][0], min(ys) + 0.8 * (max(ys) - min(ys))
    along = [(x - bx) * ux + (y - by) * uy for x, y in pts]
    # "up" from the baseline is (uy, -ux) in image coordinates (y down)
    above = max([(x - bx) * uy - (y - by) * ux for x, y in pts] + [0.0])
    size = above / (ASCENT / 1000.0) if above > 0 else max(max(along) - min(along), 1.0) / max(len(line.text), 1)
    start = (bx + ux * min(along), by + uy * min(along))
    return start, (ux, uy), max(along) - min(along), size


def cid_font(chars: dict[str, int]) -> bytes:
    """The CIDFontType2 descendant: default advance, zero advance for combining marks."""
    zero = [cid for ch, cid in chars.items() if unicodedata.combining(ch)]
    widths = " ".join(f"{cid} [0]" for cid in zero)
    return (f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /GlyphLessFont /CIDSystemInfo << /Registry (Adobe) "
            f"/Ordering (Identity) /Supplement 0 >> /FontDescriptor 8 0 R /DW {ADVANCE} /W [{widths}] "
            f"/CIDToGIDMap /Identity >>").encode("ascii")


def to_unicode_cmap(chars: dict[str, int]) -> str:
    """The ToUnicode CMap: each CID to its character in UTF-16BE (surrogate pairs beyond the BMP)."""
    entries = [f"<{cid:04X}> <{ch.encode('utf-16-be').hex().upper()}>" for ch, cid in chars.items()]
    blocks = []
    for i in range(0, len(entries), 100):  # a bfchar block holds at most 100 entries
        chunk = entries[i:i + 100]
        blocks.append(f"{len(chunk)} beginbfchar\n" + "\n".join(chunk) + "\nendbfchar")
    return ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n" + "\n".join(blocks) +
            "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n")


def assemble(objects: list[bytes], info: int | None = None) -> bytes:
    """A complete PDF file of ``objects`` (numbered from 1; object 1 is the catalog), with xref and trailer."""
    out = io.BytesIO()
    out.write(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")  # binary comment: tells transfer tools the file is binary
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)  # each entry is exactly 20 bytes
    trailer = f"<< /Size {len(objects) + 1} /Root 1 0 R" + (f" /Info {info} 0 R" if info else "") + " >>"
    out.write(f"trailer\n{trailer}\nstartxref\n{xref}\n%%EOF\n".encode("ascii"))
    return out.getvalue()


def _stream(dictionary: str, data: bytes) -> bytes:
    return dictionary.encode("ascii") + b"\nstream\n" + data + b"\nendstream"


def _stream_of(data: bytes) -> bytes:
    compressed = zlib.compress(data)
    return _stream(f"<< /Length {len(compressed)} /Filter /FlateDecode >>", compressed)


def _pdf_string(text: str) -> str:
    """A PDF text string: UTF-16BE with BOM as hex, so any character is allowed."""
    return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


def _num(value: float) -> str:
    """A PDF number: at most 3 decimals, no exponent, no trailing zeros."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
