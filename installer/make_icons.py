"""Write the application icon as PNG (Linux), ICO (Windows) and ICNS (macOS) into ``build/icons/``.

The drawing is the window's own (``htrgui.qt.appicon.draw_icon``), so the installed app and its window look
the same. Usage: ``python installer/make_icons.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from htrgui.qt.appicon import draw_icon  # noqa: E402

OUT = REPO / "build" / "icons"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    img = draw_icon(512)
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
