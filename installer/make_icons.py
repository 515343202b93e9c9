"""Write the application icon as PNG (Linux), ICO (Windows) and ICNS (macOS) into ``build/icons/``.

Uses the window's own icon, ``htrgui/qt/icons/htrgui.png`` (drawn once by ``draw_placeholder``: a page with
handwriting strokes); draws it afresh if that file is missing, so that every build has an icon. Usage: ``python installer/make_icons.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "htrgui" / "qt" / "icons" / "htrgui.png"
OUT = REPO / "build" / "icons"


def draw_placeholder(size: int = 512) -> Image.Image:
    """A white page on a dark-blue tile with three ink lines: recognisable at 16 px, no font needed."""
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    s = size / 512
    d.rounded_rectangle([16 * s, 16 * s, 496 * s, 496 * s], radius=96 * s, fill=(31, 58, 110, 255))
    d.rectangle([120 * s, 84 * s, 392 * s, 428 * s], fill=(250, 247, 238, 255))
    for i, y in enumerate((170, 250, 330)):
        width = (220, 180, 200)[i]
        pts = [(150 * s + x * s, y * s + (12 * s if (x // 20) % 2 else -12 * s)) for x in range(0, width + 1, 20)]
        d.line(pts, fill=(20, 20, 40, 255), width=max(1, int(14 * s)), joint="curve")
    return img


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    img = Image.open(SOURCE).convert("RGBA") if SOURCE.exists() else draw_placeholder()
    img = img.resize((512, 512), Image.LANCZOS)
    img.save(OUT / "htrgui.png")
    img.save(OUT / "htrgui.ico", sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)])
    try:
        img.save(OUT / "htrgui.icns")
    except (OSError, ValueError) as exc:  # older Pillow writes ICNS on macOS only; the macOS build runs there
        print(f"make_icons: no .icns ({exc})", file=sys.stderr)
    print(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
