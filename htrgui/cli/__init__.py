"""The headless command line: ``htrgui SUBCOMMAND ...``.

Each subcommand lives in its own module of this package and defines ``register(subparsers)``, which adds
its parser and sets ``func`` to a ``run(args) -> int``. Modules import heavy libraries (torch, cv2) inside
``run`` so that ``htrgui --help`` stays fast. Progress goes to stderr, results to files.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

from htrgui import __version__
from htrgui.core.errors import HtrError

#: Order in which subcommands are listed in ``--help``; modules found but not listed come after.
ORDER = ["segment", "recognize", "evaluate", "finetune", "train", "export", "convert", "models", "doctor"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="htrgui",
        description="Handwritten text recognition for archives. Without a subcommand, starts the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"htrgui {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND")
    gui = sub.add_parser("gui", help="start the desktop application (the default; `htrgui FOLDER` and "
                         "`htrgui SCAN` open it on a folder or a scan)",
                         description="Start the desktop application, on a folder of scans or a scan if given.")
    gui.add_argument("path", nargs="?", type=Path, metavar="FOLDER|SCAN", help="project folder or scan to open")
    gui.add_argument("--measure-startup", action="store_true",
                     help="quit once the window has painted and print that time as JSON (start-up benchmarks)")
    found = {m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")}
    for name in [n for n in ORDER if n in found] + sorted(found - set(ORDER)):
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(sub)
    return parser


def route(argv: list[str]) -> list[str]:
    """``htrgui FOLDER`` / ``htrgui scan.jpg`` (and "Open with" from a file manager) mean ``htrgui gui PATH``."""
    if len(argv) == 1 and not argv[0].startswith("-") and argv[0] not in subcommands():
        path = Path(argv[0])
        if path.exists() or path.suffix or len(path.parts) > 1:  # a path, even a mistyped one
            return ["gui", *argv]
    return argv


def subcommands() -> set[str]:
    """Names of the subcommands (without importing their modules)."""
    return {"gui"} | {m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(route(list(sys.argv[1:] if argv is None else argv)))
    if args.command in (None, "gui"):
        from htrgui.qt.app import run

        path = getattr(args, "path", None)
        if path is not None and not path.exists():
            print(f"htrgui: {path}: no such folder or file", file=sys.stderr)
            return 2
        return run([str(path)] if path is not None else [], measure_startup=getattr(args, "measure_startup", False))
    try:
        return int(args.func(args) or 0)
    except HtrError as exc:
        print(f"htrgui {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"htrgui {args.command}: interrupted", file=sys.stderr)
        return 130
