"""Searchable PDF export: real pages written, reopened with pdfium, text and its position checked."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from PIL import Image

from htrgui.cli import main
from htrgui.core.document import Page, TextLine, TextRegion
from htrgui.core.errors import HtrError
from htrgui.core.io import export_pages, read_document
from htrgui.core.pdfexport import write_pdf

# one page of each collection: cursive wills, tabular registers, typed and handwritten letters
PAGES = ["poilus", "lectaurep", "stanford"]


def first_page(shared_data: Path, collection: str) -> Path:
    """The first page of a collection (sorted by path) with at least 8 lines of text."""
    for xml in sorted((shared_data / collection).rglob("*.xml")):
        if sum(1 for line in read_document(xml).lines() if line.text.strip()) >= 8:
            return xml
    raise AssertionError(f"no page of {collection} has 8 lines")


def norm(text: str) -> str:
    """Whitespace collapsed, NFC; pdfium joins a line ending in '-' to the next (marking the hyphen
    U+FFFE or not), so whitespace after a hyphen is dropped on both sides."""
    text = unicodedata.normalize("NFC", text.replace("\ufffe", "-"))
    return re.sub(r"-\s+", "-", " ".join(text.split()))


def pdf_text(path: Path) -> tuple[str, list[tuple[str, tuple[float, float, float, float]]], tuple[float, float]]:
    """(all text, [(UTF-16 unit, box)] of the characters actually in the file, page size) of a one-page PDF."""
    pdf = pdfium.PdfDocument(str(path))
    try:
        assert len(pdf) == 1
        page = pdf[0]
        size = page.get_size()
        tp = page.get_textpage()
        # pdfium counts UTF-16 units: a character beyond the BMP is two, each with the same box
        chars = [(chr(pdfium_c.FPDFText_GetUnicode(tp.raw, i)), tp.get_charbox(i)) for i in range(tp.count_chars())
                 if not pdfium_c.FPDFText_IsGenerated(tp.raw, i)]  # skip the spaces/newlines pdfium inferred
        return tp.get_text_range(), chars, size
    finally:
        pdf.close()


@pytest.mark.parametrize("collection", PAGES)
def test_real_page_text_is_found_where_its_lines_are(shared_data, tmp_path, collection):
    xml = first_page(shared_data, collection)
    page = read_document(xml)
    assert page.image_path is not None
    out = tmp_path / f"{xml.stem}.pdf"
    write_pdf(page, out)
    text, chars, (w_pt, h_pt) = pdf_text(out)

    with Image.open(page.image_path) as img:
        dpi = img.info.get("dpi", (300, 300))[0] or 300
    scale = 72.0 / dpi
    assert w_pt == pytest.approx(page.width * scale, abs=0.01)
    assert h_pt == pytest.approx(page.height * scale, abs=0.01)

    lines = [line for line in page.lines() if line.text.strip()]
    assert len(lines) > 5
    # reading order: the page's text, line after line, is the extracted text (pdfium decides itself where
    # to add spaces between lines side by side in a table, so compare without whitespace)
    assert re.sub(r"\s", "", norm(text)) == re.sub(r"\s", "", norm("\n".join(line.text for line in lines)))

    # every character pdfium reports lies on its own line: box centre inside the polygon's box (a margin of
    # half a line height for ascenders, descenders and the glyph shapes of pdfium's substitute font)
    expected = [(ch, line) for line in lines for ch in line.text]
    assert [c for c, _ in chars] == [c for c, _ in expected]
    misplaced = []
    for (ch, (left, bottom, right, top)), (_, line) in zip(chars, expected):
        if ch.isspace():
            continue
        x0, y0, x1, y1 = line.bbox()
        margin = 0.5 * (y1 - y0)
        cx, cy = (left + right) / 2 / scale, page.height - (bottom + top) / 2 / scale  # back to image pixels
        if not (x0 - margin <= cx <= x1 + margin and y0 - margin <= cy <= y1 + margin):
            misplaced.append((ch, line.id, round(cx), round(cy), line.bbox()))
    assert not misplaced, misplaced[:5]

    # the text layer spans the line: the first and last characters sit at its ends
    first = lines[0]
    boxes = [box for c, box in chars[:len(first.text)]]
    x0, _, x1, _ = first.bbox()
    assert boxes[0][0] / scale == pytest.approx(x0, abs=0.05 * (x1 - x0))
    assert boxes[-1][2] / scale == pytest.approx(x1, abs=0.05 * (x1 - x0))


def generated_page(tmp_path: Path, texts: list[str], dpi: int | None = 200) -> Page:
    """A white 1000x500 PNG with one horizontal line per text, and a rotated last line."""
    image = tmp_path / "scan.png"
    Image.new("RGB", (1000, 500), "white").save(image, **({"dpi": (dpi, dpi)} if dpi else {}))
    lines = []
    for i, text in enumerate(texts):
        top = 40 + 80 * i
        lines.append(TextLine(f"l{i}", [(50, top), (900, top), (900, top + 60), (50, top + 60)],
                              [(50, top + 50), (900, top + 50)], text))
    region = TextRegion("r1", [(0, 0), (1000, 0), (1000, 500), (0, 500)], lines=lines)
    return Page(image.name, 1000, 500, [region], image_path=image)


def test_unicode_round_trips(tmp_path):
    texts = ["ſꝛ é œ", "Geſchriebẽ ꝑ ꝓ ꝯ \u0101\u0304 e\u0301", "𝔄𝔟 ꜰ ñ ß Æ € « »", "ordinary line"]
    page = generated_page(tmp_path, texts)
    write_pdf(page, tmp_path / "u.pdf")
    text, chars, size = pdf_text(tmp_path / "u.pdf")
    assert size == pytest.approx((1000 * 72 / 200, 500 * 72 / 200), abs=0.01)
    assert norm(text) == norm("\n".join(texts))
    assert "ſꝛ é œ" in text
    units = "".join(c for c, _ in chars)
    assert units.encode("utf-16-le", "surrogatepass").decode("utf-16-le") == "".join(texts)


def test_rotated_line_is_placed_along_its_baseline(tmp_path):
    page = generated_page(tmp_path, ["slanted words here"], dpi=None)
    line = page.regions[0].lines[0]
    line.polygon = [(100, 440), (110, 380), (700, 80), (700, 160)]
    line.baseline = [(105, 430), (700, 130)]  # rising about 27 degrees
    write_pdf(page, tmp_path / "r.pdf")
    text, chars, size = pdf_text(tmp_path / "r.pdf")
    assert size == pytest.approx((1000 * 72 / 300, 500 * 72 / 300), abs=0.01)  # no dpi: 300
    assert norm(text) == "slanted words here"
    scale = 72 / 300
    centres = [((l + r) / 2 / scale, 500 - (b + t) / 2 / scale) for c, (l, b, r, t) in chars if not c.isspace()]
    # left to right the characters climb, following the baseline
    assert centres[0][0] < 200 and centres[-1][0] > 600
    assert centres[0][1] > 350 and centres[-1][1] < 200


def test_missing_image_is_a_clear_error(tmp_path):
    page = generated_page(tmp_path, ["text"])
    page.image_path.unlink()
    with pytest.raises(HtrError, match="image not found"):
        write_pdf(page, tmp_path / "m.pdf")
    assert not (tmp_path / "m.pdf").exists()
    page.image_path = None
    with pytest.raises(HtrError, match="needs the scan"):
        write_pdf(page, tmp_path / "m.pdf")


def test_page_without_lines_is_the_image_alone(tmp_path):
    page = generated_page(tmp_path, [])
    write_pdf(page, tmp_path / "e.pdf")
    text, chars, size = pdf_text(tmp_path / "e.pdf")
    assert text == "" and chars == []
    pdf = pdfium.PdfDocument(str(tmp_path / "e.pdf"))
    images = list(pdf[0].get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]))
    assert len(images) == 1 and images[0].get_px_size() == (1000, 500)
    pdf.close()


def test_non_jpeg_and_rotated_jpeg_are_reencoded(tmp_path):
    """A PNG, and a JPEG with an EXIF rotation (coordinates refer to the rotated image), both give the
    image as the page shows it."""
    page = generated_page(tmp_path, ["one line"])
    rotated = tmp_path / "rot.jpg"
    img = Image.new("L", (500, 1000), 255)
    img.paste(0, (0, 0, 500, 100))  # black band at the top of the stored pixels
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90 degrees clockwise: 1000x500, band on the right
    img.save(rotated, exif=exif)
    page.image_path, page.image_filename = rotated, rotated.name
    write_pdf(page, tmp_path / "j.pdf")
    pdf = pdfium.PdfDocument(str(tmp_path / "j.pdf"))
    bitmap = pdf[0].render(scale=1).to_pil().convert("L")
    pdf.close()
    w, h = bitmap.size
    assert w > h  # landscape, as shown
    assert bitmap.getpixel((w - 5, h // 2)) < 60 and bitmap.getpixel((5, h // 2)) > 200


def test_export_pages_and_cli_write_pdf(shared_data, tmp_path, capsys):
    xml = first_page(shared_data, "stanford")
    progress = list(export_pages([(xml.stem, xml)], tmp_path / "a", "pdf"))
    assert "error" not in progress[-1].info
    assert (tmp_path / "a" / f"{xml.stem}.pdf").read_bytes().startswith(b"%PDF-")
    assert main(["convert", str(xml), "-o", str(tmp_path / "b"), "--to", "pdf"]) == 0
    text, _, _ = pdf_text(tmp_path / "b" / f"{xml.stem}.pdf")
    assert norm(text) == norm(read_document(xml).text())
    # without its image the page is reported, not crashed on
    alone = tmp_path / "alone" / xml.name
    alone.parent.mkdir()
    alone.write_bytes(xml.read_bytes())
    assert main(["convert", str(alone), "-o", str(tmp_path / "c"), "--to", "pdf"]) == 2
    assert "image not found" in capsys.readouterr().err
    assert not (tmp_path / "c" / f"{xml.stem}.pdf").exists()
