"""Entry point: no arguments (or ``gui``) starts the desktop app, anything else is the command line."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] == "gui":
        from htrgui.qt.app import run  # Qt is imported only when the window is wanted

        return run(argv[1:])
    from htrgui.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
