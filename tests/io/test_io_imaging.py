"""Scans: EXIF orientation, multi-page TIFF, PDF, odd pixel formats, corrupt and huge images."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from htrgui.core.errors import ImageError
from htrgui.core.imaging import image_size, load_image, page_count


def _marked(w=120, h=80) -> Image.Image:
    """A white image with a black block in the top-left corner, to see where a rotation puts it."""
    img = Image.new("L", (w, h), 255)
    img.paste(0, (0, 0, 30, 20))
    return img


def test_exif_orientation_is_applied(tmp_path):
    path = tmp_path / "photo.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored pixels must be rotated 90 degrees clockwise for display
    _marked().save(path, exif=exif, quality=95)
    arr = load_image(path)
    assert image_size(path) == (80, 120) and arr.shape == (120, 80)
    # the stored top-left corner is shown top-right
    assert arr[:20, -15:].mean() < 60 and arr[:20, :15].mean() > 200
    raw = load_image(path, apply_exif=False)
    assert raw.shape == (80, 120)


def test_previews_are_small_and_oriented_like_the_page(tmp_path, shared_data):
    """``max_side``: what the page list shows, from the same decoder as the page (EXIF, TIFF pages, PDF)."""
    photo = tmp_path / "photo.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    marked = Image.new("L", (1200, 800), 255)
    marked.paste(0, (0, 0, 300, 200))
    marked.save(photo, exif=exif, quality=95)
    small = load_image(photo, mode="RGB", max_side=96)
    assert small.shape == (96, 64, 3)
    assert small[:16, -12:].mean() < 80 and small[:16, :12].mean() > 200  # turned as the full page is
    scan = next(shared_data.rglob("*.jpg"))
    full, preview = load_image(scan, mode="RGB"), load_image(scan, mode="RGB", max_side=96)
    assert max(preview.shape[:2]) == 96
    assert abs(preview.shape[1] / preview.shape[0] - full.shape[1] / full.shape[0]) < 0.03
    assert abs(float(preview.mean()) - float(full.mean())) < 4  # the same picture, only smaller
    book = tmp_path / "book.tif"
    _marked(300, 200).save(book, save_all=True, append_images=[_marked(100, 400)])
    assert load_image(book, 1, max_side=50).shape == (50, 12)
    pdf = tmp_path / "scan.pdf"
    _marked(850, 1100).save(pdf, resolution=100.0)
    assert load_image(pdf, max_side=110).shape == (110, 85)
    assert load_image(photo, max_side=5000).shape == (1200, 800)  # never enlarged
    with pytest.raises(ValueError, match="max_side"):
        load_image(photo, max_side=0)


def test_multipage_tiff(tmp_path):
    path = tmp_path / "book.tif"
    pages = [_marked(100, 60), _marked(50, 70).convert("RGB"), Image.new("1", (40, 30), 1)]
    pages[0].save(path, save_all=True, append_images=pages[1:])
    assert page_count(path) == 3
    shapes = [load_image(path, i).shape for i in range(3)]
    assert shapes == [(60, 100), (70, 50), (30, 40)]
    assert [image_size(path, i) for i in range(3)] == [(100, 60), (50, 70), (40, 30)]
    assert load_image(path, 1, mode="RGB").shape == (70, 50, 3)
    with pytest.raises(ImageError, match="page 4"):
        load_image(path, 3)


def test_pdf_scan_at_native_resolution(tmp_path):
    path = tmp_path / "scan.pdf"
    scan = _marked(850, 1100)
    scan.save(path, resolution=100.0)  # an 8.5 x 11 inch page holding one 100 dpi scan
    second = _marked(400, 300).convert("RGB")
    scan.save(path, save_all=True, append_images=[second], resolution=100.0)
    assert page_count(path) == 2
    arr = load_image(path, 0)
    assert arr.shape == (1100, 850) == (image_size(path, 0)[1], image_size(path, 0)[0])
    assert arr[:20, :30].mean() < 60 and arr[40:, 40:].mean() > 200
    assert load_image(path, 1, mode="RGB").shape == (300, 400, 3)


def test_pdf_vector_page_at_300_dpi(tmp_path):
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    pdf.new_page(72 * 2, 72 * 3)  # 2 x 3 inches, no image on it
    path = tmp_path / "vector.pdf"
    pdf.save(str(path))
    pdf.close()
    assert image_size(path) == (600, 900)
    assert load_image(path).shape == (900, 600)


def test_sixteen_bit_and_alpha(tmp_path):
    deep = tmp_path / "deep.png"
    Image.fromarray(np.full((10, 20), 65535, dtype=np.uint16)).save(deep)
    assert load_image(deep).min() == 255  # 16-bit white stays white
    clear = tmp_path / "alpha.png"
    Image.new("RGBA", (8, 8), (0, 0, 0, 0)).save(clear)
    assert load_image(clear).min() == 255  # transparent is composited onto white paper


def test_corrupt_and_missing(tmp_path):
    good = tmp_path / "good.jpg"
    _marked().save(good)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(ImageError, match="cut.jpg"):
        load_image(cut)
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image at all")
    with pytest.raises(ImageError, match="junk.png"):
        load_image(junk)
    with pytest.raises(ImageError, match="not found"):
        load_image(tmp_path / "none.png")
    bad_pdf = tmp_path / "bad.pdf"
    bad_pdf.write_bytes(b"%PDF-1.4 broken")
    with pytest.raises(ImageError, match="bad.pdf"):
        page_count(bad_pdf)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a size but holds almost no data: refused from the header, never decompressed."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def test_huge_image_is_refused_from_its_header(tmp_path):
    path = tmp_path / "huge.png"
    path.write_bytes(_png_header_only(60_000, 60_000))  # 3.6 gigapixels
    assert image_size(path) == (60_000, 60_000)
    with pytest.raises(ImageError, match="megapixels"):
        load_image(path)


def test_pixel_limit_can_be_changed(tmp_path, monkeypatch):
    path = tmp_path / "small.png"
    _marked(100, 100).save(path)
    monkeypatch.setenv("HTRGUI_MAX_PIXELS", "5000")
    with pytest.raises(ImageError, match="HTRGUI_MAX_PIXELS"):
        load_image(path)


def test_pdf_pages_from_several_threads(tmp_path):
    """pdfium is not thread-safe; the interface loads pages in worker threads."""
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "threads.pdf"
    first = _marked(300, 400)
    first.save(path, save_all=True, append_images=[_marked(200, 100)] * 3, resolution=72.0)
    with ThreadPoolExecutor(4) as pool:
        shapes = list(pool.map(lambda i: load_image(path, i % 4).shape, range(16)))
    assert shapes == [(400, 300), (100, 200), (100, 200), (100, 200)] * 4
