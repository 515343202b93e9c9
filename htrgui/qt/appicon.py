"""The application icon, drawn in code (no image file in the repository): the window uses it and
``installer/make_icons.py`` writes the platform icons (PNG, ICO, ICNS) from the same drawing."""

from __future__ import annotations

from PIL import Image, ImageDraw


def draw_icon(size: int = 512) -> Image.Image:
    """A white page on a dark-blue tile with three ink lines: recognisable at 16 px, no font needed."""
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    s = size / 512
    d.rounded_rectangle([16 * s, 16 * s, 496 * s, 496 * s], radius=96 * s, fill=(31, 58, 110, 255))
    d.rectangle([120 * s, 84 * s, 392 * s, 428 * s], fill=(250, 247, 238, 255))
    for y, width in zip((170, 250, 330), (220, 180, 200)):
        pts = [(150 * s + x * s, y * s + (12 * s if (x // 20) % 2 else -12 * s)) for x in range(0, width + 1, 20)]
        d.line(pts, fill=(20, 20, 40, 255), width=max(1, int(14 * s)), joint="curve")
    return img


def window_icon():
    """The icon as a QIcon, at the sizes window managers ask for (a few milliseconds to draw)."""
    from PySide6.QtGui import QIcon, QImage, QPixmap

    icon = QIcon()
    for size in (16, 32, 64, 256):
        img = draw_icon(size)
        qimg = QImage(img.tobytes("raw", "RGBA"), size, size, QImage.Format.Format_RGBA8888).copy()
        icon.addPixmap(QPixmap.fromImage(qimg))
    return icon
