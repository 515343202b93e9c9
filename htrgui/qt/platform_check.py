"""Before Qt starts: can a window open at all? Qt-free, so that it runs before QApplication aborts the process.

On a minimal Linux (a fresh Debian 12) Qt's xcb platform plugin cannot load when some of its libraries are
missing, and Qt then prints a hint naming the wrong package and dumps core; with no display at all it aborts.
:func:`problem` finds both cases first and says, in one line, what is missing and what to install.
"""

from __future__ import annotations

import ctypes
import os
import sys

#: The shared libraries Qt 6's xcb plugin (libqxcb.so) loads, outside Qt itself, with the Debian/Ubuntu
#: package that provides each (from ``ldd libqxcb.so`` of the PySide6 wheels).
XCB_LIBRARIES = {
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
}
#: Everything a minimal Debian needs for the window (README, .ci/run and installer scripts use this list).
DEBIAN_PACKAGES = tuple(dict.fromkeys(XCB_LIBRARIES.values()))
#: Exit status when the window cannot start.
EXIT_NO_WINDOW = 3


def missing_libraries(libraries: dict[str, str] | None = None) -> list[str]:
    """The sonames of ``libraries`` (default: :data:`XCB_LIBRARIES`) that the dynamic loader cannot load."""
    missing = []
    for soname in libraries or XCB_LIBRARIES:
        try:
            ctypes.CDLL(soname)
        except OSError:
            missing.append(soname)
    return missing


def problem(env: dict[str, str] | None = None, platform: str | None = None,
            libraries: dict[str, str] | None = None) -> str | None:
    """One line saying why no window can open here, or None when it can (or when we cannot tell)."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        return None
    qpa = env.get("QT_QPA_PLATFORM", "").split(":", 1)[0].strip()
    if qpa and qpa != "xcb":
        return None  # offscreen, wayland, vnc, eglfs...: the user chose; Qt reports its own errors
    if not qpa and not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        return ("htrgui: no display to open the window on (DISPLAY and WAYLAND_DISPLAY are not set); use the "
                "command line (htrgui --help), or run the window under Xvfb (xvfb-run htrgui)")
    if not qpa and env.get("WAYLAND_DISPLAY") and not env.get("DISPLAY"):
        return None  # Qt takes its Wayland plugin
    table = libraries or XCB_LIBRARIES
    missing = missing_libraries(table)
    if not missing:
        return None
    packages = " ".join(dict.fromkeys(table[m] for m in missing))
    return (f"htrgui: the window cannot start: Qt's X11 (xcb) plugin needs {', '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not installed; on Debian/Ubuntu run: "
            f"sudo apt install {packages}")


def check_or_exit() -> None:
    """Print :func:`problem` to stderr and exit with :data:`EXIT_NO_WINDOW` when there is one."""
    message = problem()
    if message:
        print(message, file=sys.stderr)
        raise SystemExit(EXIT_NO_WINDOW)
