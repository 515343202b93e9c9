"""Synthetic text lines rendered with handwriting fonts (HTR-JAND's idea), for pre-training and for
warming up letters a model has never seen.

Text comes from a word list (random words with the punctuation, digits and capitals of real lines) or from
the user's own text (one line per line). A font is only used for a line when it has a real glyph for every
character: a missing glyph would draw the font's "notdef" box and teach the model a wrong letter.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from htrgui.core.errors import HtrError
from htrgui.core.recognition.linecrop import resize_to_height

FONT_SUFFIXES = (".ttf", ".otf", ".woff", ".ttc")


@dataclass
class Font:
    path: Path
    font: ImageFont.FreeTypeFont
    _notdef: bytes
    _known: dict
    #: Draws lower case as (small) capitals: the label would lie about the case, so lower case is refused.
    caps_only: bool = False

    def covers(self, text: str) -> bool:
        """True when every non-space character has its own glyph (not the notdef box)."""
        for ch in set(text):
            if ch.isspace():
                continue
            ok = self._known.get(ch)
            if ok is None:
                mask = bytes(self.font.getmask(ch))
                ok = len(mask) > 0 and mask != self._notdef and not (self.caps_only and ch.islower())
                self._known[ch] = ok
            if not ok:
                return False
        return True


def _caps_only(font: ImageFont.FreeTypeFont) -> bool:
    """A lower-case x nearly as tall as X and an l nearly as wide as L: a capitals font."""
    def size(ch: str, axis: int) -> int:
        box = font.getbbox(ch)
        return max(1, box[axis + 2] - box[axis])
    return size("x", 1) / size("X", 1) > 0.8 and size("l", 0) / size("L", 0) > 0.8


def load_fonts(source: Path | str | list, size: int = 48) -> list[Font]:
    """Every font PIL can open in a folder (sub-folders such as licences are skipped), or in a list of
    folders and font files."""
    if isinstance(source, (list, tuple)):
        paths = [p for item in map(Path, source)
                 for p in (sorted(item.iterdir()) if item.is_dir() else [item])]
        folder = Path(source[0]).parent if source else Path(".")
    else:
        folder = Path(source)
        if not folder.is_dir():
            raise HtrError(f"{folder}: no such font folder")
        paths = sorted(folder.iterdir())
    fonts = []
    for path in paths:
        if path.suffix.lower() not in FONT_SUFFIXES:
            continue
        try:
            font = ImageFont.truetype(str(path), size)
        except OSError:
            continue
        fonts.append(Font(path, font, bytes(font.getmask("\ue000")), {}, _caps_only(font)))
    if not fonts:
        raise HtrError(f"{folder}: no usable font (.ttf, .otf, .woff)")
    return fonts


def load_words(path: Path | str, limit: int | None = None) -> list[str]:
    """Words of a word list (one per line), without possessives and blank lines."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise HtrError(f"{path}: cannot read word list: {exc.strerror or exc}") from None
    words = [w.strip() for w in lines if w.strip() and "'s" not in w]
    return words[:limit] if limit else words


_PUNCT = [",", ".", ";", ":", "-", "'", "?", "!", "(", ")"]


def random_text(words: list[str], rng: random.Random, min_words: int = 1, max_words: int = 8) -> str:
    """A pseudo-sentence: random words, some capitalised, some numbers and punctuation, like real lines."""
    out = []
    for i in range(rng.randint(min_words, max_words)):
        r = rng.random()
        if r < 0.08:
            word = str(rng.randint(1, 2000) if rng.random() < 0.7 else rng.randint(1, 31))
        else:
            word = rng.choice(words)
            if i == 0 and rng.random() < 0.5 or rng.random() < 0.08:
                word = word[:1].upper() + word[1:]
        if rng.random() < 0.12:
            word += rng.choice(_PUNCT)
        out.append(word)
    return " ".join(out)


def render_line(text: str, font: Font, rng: random.Random) -> np.ndarray:
    """Render ``text`` dark on light and return a uint8 (64, W) crop with a margin like a segmented line."""
    f = font.font
    left, top, right, bottom = f.getbbox(text)
    pad = 8
    w, h = right - left + 2 * pad, bottom - top + 2 * pad
    ink = rng.randint(0, 90)
    paper = rng.randint(200, 255)
    img = Image.new("L", (max(w, 1), max(h, 1)), paper)
    ImageDraw.Draw(img).text((pad - left, pad - top), text, font=f, fill=ink)
    if rng.random() < 0.5:
        img = img.rotate(rng.uniform(-2.0, 2.0), resample=Image.BILINEAR, expand=True, fillcolor=paper)
    arr = np.asarray(img)
    dark = np.nonzero(arr < (ink + paper) / 2)
    if len(dark[0]):
        y0, y1 = dark[0].min(), dark[0].max() + 1
        x0, x1 = dark[1].min(), dark[1].max() + 1
        # Segmenters leave some paper above and below the ink, and a little left and right.
        my = int((y1 - y0) * rng.uniform(0.05, 0.25))
        mx = rng.randint(2, 12)
        arr = arr[max(0, y0 - my): y1 + my, max(0, x0 - mx): x1 + mx]
    return resize_to_height(np.ascontiguousarray(arr), min_width=8)


def synthetic_lines(fonts: list[Font], texts: list[str] | None = None, words: list[str] | None = None,
                    count: int = 100, seed: int = 0):
    """Yield ``count`` (image, text) pairs. Texts are taken in turn from ``texts``, else made from ``words``."""
    if not texts and not words:
        raise HtrError("synthetic lines need a word list or some text")
    rng = random.Random(seed)
    made = tries = 0
    while made < count:
        tries += 1
        if tries > 20 * count + 100:
            raise HtrError("no font can render the requested text (missing glyphs)")
        text = texts[(tries - 1) % len(texts)] if texts else random_text(words, rng)
        text = " ".join(text.split())
        if not text:
            continue
        usable = [f for f in rng.sample(fonts, len(fonts)) if f.covers(text)]
        if not usable:
            continue
        yield render_line(text, usable[0], rng), text
        made += 1
