"""Loading scans: JPEG, PNG, TIFF (multi-page too), JPEG 2000, BMP, WebP and PDF pages, as numpy arrays.

- EXIF orientation is applied, so coordinates always refer to the image as a person sees it.
- A pixel limit (:data:`MAX_PIXELS`, 150 megapixels, e.g. 10,000 x 15,000; ``HTRGUI_MAX_PIXELS`` changes it)
  refuses huge images from their header alone, before anything is decompressed.
- PDF pages are rendered with pdfium: a page that is one scanned image is rendered at that image's native
  resolution (capped at 600 dpi), any other page at 300 dpi.
- Page ``page_index`` of a multi-page TIFF or PDF counts from 0.
"""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from htrgui.core.errors import ImageError

#: The one list of scan formats (project folders, the open dialog, finding a PAGE file's image, training
#: caches). JPEG 2000 is in: the Pillow wheels on all three platforms decode it (OpenJPEG).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".jp2", ".bmp", ".webp")
PDF_SUFFIXES = (".pdf",)
SUFFIXES = IMAGE_SUFFIXES + PDF_SUFFIXES

#: Largest image (width x height) we decompress. Overridable with the ``HTRGUI_MAX_PIXELS`` variable.
MAX_PIXELS = 150_000_000
PDF_DPI = 300
PDF_MAX_DPI = 600

# Our own limit is checked from the header before any decoding (see _check_size); PIL's check would refuse
# even to read the size of a huge image, which the interface needs to say what is wrong.
Image.MAX_IMAGE_PIXELS = None


def max_pixels() -> int:
    """The pixel limit in force (``HTRGUI_MAX_PIXELS`` or :data:`MAX_PIXELS`)."""
    try:
        return int(os.environ.get("HTRGUI_MAX_PIXELS", MAX_PIXELS))
    except ValueError:
        return MAX_PIXELS


def _is_pdf(path: Path) -> bool:
    return path.suffix.lower() in PDF_SUFFIXES


def _check_size(path: Path, width: int, height: int, page_index: int) -> None:
    limit = max_pixels()
    if width <= 0 or height <= 0:
        raise ImageError(f"{path}: page {page_index + 1} has no pixels ({width}x{height})")
    if width * height > limit:
        raise ImageError(f"{path}: image is {width}x{height} = {width * height / 1e6:.0f} megapixels, more than "
                         f"the limit of {limit / 1e6:.0f} megapixels (set HTRGUI_MAX_PIXELS to allow it)")


def _open(path: Path) -> Image.Image:
    """Open (header only) with errors turned into :class:`ImageError`."""
    if not path.is_file():
        raise ImageError(f"{path}: image not found")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(path)
    except Image.DecompressionBombError:
        raise ImageError(f"{path}: image is larger than the limit of {max_pixels() / 1e6:.0f} megapixels") from None
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image this program can read (corrupt or unsupported format)") from None
    except OSError as exc:
        raise ImageError(f"{path}: cannot open image: {exc}") from None


def _seek(img: Image.Image, path: Path, page_index: int) -> None:
    frames = getattr(img, "n_frames", 1)
    if not 0 <= page_index < frames:
        raise ImageError(f"{path}: has {frames} page(s), page {page_index + 1} asked for")
    if page_index:
        try:
            img.seek(page_index)
        except (EOFError, OSError) as exc:
            raise ImageError(f"{path}: cannot read page {page_index + 1}: {exc}") from None


def _oriented_size(img: Image.Image) -> tuple[int, int]:
    """Size after applying the EXIF orientation, from the header only."""
    w, h = img.size
    try:
        orientation = img.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - a broken EXIF block must not make the image unreadable
        orientation = 1
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def page_count(path: Path | str) -> int:
    """Number of pages: PDF pages, TIFF frames, 1 for other images."""
    path = Path(path)
    if _is_pdf(path):
        with _PDF_LOCK, _open_pdf(path) as pdf:
            return len(pdf)
    with _open(path) as img:
        return getattr(img, "n_frames", 1) if img.format == "TIFF" else 1


def image_size(path: Path | str, page_index: int = 0) -> tuple[int, int]:
    """(width, height) as :func:`load_image` will return it, without decoding pixels."""
    path = Path(path)
    if _is_pdf(path):
        with _PDF_LOCK, _open_pdf(path) as pdf:
            return _pdf_size(pdf, path, page_index)[:2]
    with _open(path) as img:
        _seek(img, path, page_index)
        return _oriented_size(img)


#: Below this a stored resolution is a placeholder (TIFF without one reads as 1 dpi, JFIF "aspect ratio only").
MIN_DPI = 20.0


def image_resolution(path: Path | str, page_index: int = 0) -> tuple[float, float] | None:
    """(x, y) resolution in dots per inch that the image file states, or None when it states none.

    Read from the header (JFIF/EXIF, PNG pHYs, TIFF XResolution); a PDF gives the resolution it is rendered
    at (see :func:`load_image`). Placeholder values (under :data:`MIN_DPI`) count as none.
    """
    path = Path(path)
    if _is_pdf(path):
        with _PDF_LOCK, _open_pdf(path) as pdf:
            dpi = _pdf_size(pdf, path, page_index)[2] * 72.0
        return dpi, dpi
    with _open(path) as img:
        _seek(img, path, page_index)
        dpi = img.info.get("dpi")
        if img.format == "JPEG" and img.info.get("jfif_unit") == 0:
            dpi = None  # JFIF density without a unit is an aspect ratio, not a resolution
    try:
        x, y = (float(v) for v in dpi)
    except (TypeError, ValueError):
        return None
    if not (x >= MIN_DPI and y >= MIN_DPI):  # also catches NaN
        return None
    return x, y


def raw_size(path: Path | str, page_index: int = 0) -> tuple[int, int]:
    """(width, height) of the stored pixels, ignoring EXIF orientation (PDF: as :func:`image_size`)."""
    path = Path(path)
    if _is_pdf(path):
        return image_size(path, page_index)
    with _open(path) as img:
        _seek(img, path, page_index)
        return img.size


def load_page_image(page, mode: str = "L") -> np.ndarray:
    """The image of a :class:`~htrgui.core.document.Page` in the pixel grid its coordinates refer to.

    Normally that is :func:`load_image`; when the page's XML was made on the stored pixels of a photo with an
    EXIF rotation (the reader then sets ``page.metadata["imageOrientation"] = "raw"``), the rotation is not
    applied, so that lines fall on their ink.
    """
    if page.image_path is None:
        raise ImageError(f"page {page.image_filename!r}: image not found")
    raw = page.metadata.get("imageOrientation") == "raw"
    return load_image(page.image_path, page.page_index, mode, apply_exif=not raw)


def load_image(path: Path | str, page_index: int = 0, mode: str = "L", *, apply_exif: bool = True,
               max_side: int | None = None) -> np.ndarray:
    """Decode one page as uint8: ``mode="L"`` gives (H, W), ``"RGB"`` gives (H, W, 3); white stays 255.

    ``apply_exif=False`` keeps the stored pixel grid (see :func:`load_page_image`). ``max_side``: a preview at
    most that many pixels wide and high, aspect kept (a JPEG is decoded at a reduced scale, which is fast; a
    PDF page is rendered small).

    Raises:
        ImageError: missing, corrupt, unsupported, too large, or no such page.
    """
    if mode not in ("L", "RGB"):
        raise ValueError(f"mode must be 'L' or 'RGB', not {mode!r}")
    if max_side is not None and max_side < 1:
        raise ValueError(f"max_side must be at least 1, not {max_side}")
    path = Path(path)
    if _is_pdf(path):
        img = _render_pdf(path, page_index, max_side)
    else:
        img = _decode(path, page_index, mode, apply_exif, max_side)
    img = _to_mode(img, mode)
    if max_side is not None:
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)  # only ever shrinks
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8))


def _decode(path: Path, page_index: int, mode: str, apply_exif: bool = True,
            max_side: int | None = None) -> Image.Image:
    with _open(path) as img:
        _seek(img, path, page_index)
        w, h = img.size
        _check_size(path, w, h, page_index)
        if img.format == "JPEG" and (mode == "L" or max_side is not None):
            # decode straight to grey and/or at 1/2, 1/4 or 1/8 scale (never below max_side): faster, less memory
            img.draft(mode if mode == "L" else img.mode, (max_side, max_side) if max_side else img.size)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                img.load()
                out = ImageOps.exif_transpose(img) if apply_exif else img
        except (OSError, ValueError, SyntaxError) as exc:
            raise ImageError(f"{path}: image data is damaged or truncated ({exc})") from None
        return out if out is not img else img.copy()


def _to_mode(img: Image.Image, mode: str) -> Image.Image:
    """Convert any PIL mode to L or RGB: 16-bit scaled down, transparency composited onto white."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        img = Image.fromarray(np.clip(arr * (255.0 / top), 0, 255).astype(np.uint8), "L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img if img.mode == mode else img.convert(mode)


# --- PDF ---------------------------------------------------------------------------------------------------

# pdfium is not thread-safe, and the interface loads pages in worker threads: one PDF call at a time.
_PDF_LOCK = threading.Lock()


def _open_pdf(path: Path):
    import pypdfium2 as pdfium

    if not path.is_file():
        raise ImageError(f"{path}: PDF not found")
    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise ImageError(f"{path}: not a readable PDF ({exc})") from None


def _pdf_size(pdf, path: Path, page_index: int) -> tuple[int, int, float]:
    """(width, height, scale) of a page rendered at its scan's native resolution or :data:`PDF_DPI`."""
    import pypdfium2 as pdfium

    if not 0 <= page_index < len(pdf):
        raise ImageError(f"{path}: has {len(pdf)} page(s), page {page_index + 1} asked for")
    page = pdf[page_index]
    try:
        w_pt, h_pt = page.get_size()
        dpi = PDF_DPI
        images = list(page.get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_IMAGE], max_depth=2))
        if len(images) == 1:
            px_w, px_h = images[0].get_px_size()
            left, bottom, right, top = images[0].get_bounds()
            # a scan fills (most of) the page: use its own resolution so no pixel is invented or lost
            if (right - left) * (top - bottom) > 0.5 * w_pt * h_pt and right > left:
                dpi = min(max(px_w / ((right - left) / 72.0), 10.0), PDF_MAX_DPI)
        scale = dpi / 72.0
        if page.get_rotation() in (90, 270):
            w_pt, h_pt = h_pt, w_pt
        width, height = int(round(w_pt * scale)), int(round(h_pt * scale))
    finally:
        page.close()
    _check_size(path, width, height, page_index)
    return width, height, scale


def _render_pdf(path: Path, page_index: int, max_side: int | None = None) -> Image.Image:
    with _PDF_LOCK, _open_pdf(path) as pdf:
        width, height, scale = _pdf_size(pdf, path, page_index)
        if max_side is not None and max(width, height) > max_side:
            shrink = max_side / max(width, height)  # a preview: render it small
            scale, width, height = scale * shrink, max(1, round(width * shrink)), max(1, round(height * shrink))
        page = pdf[page_index]
        try:
            img = page.render(scale=scale).to_pil()
        finally:
            page.close()
    if img.size != (width, height):
        # pdfium rounds the bitmap size its own way: pad or crop by a pixel so it matches image_size()
        canvas = Image.new(img.mode, (width, height), "white")
        canvas.paste(img, (0, 0))
        img = canvas
    return img
