"""Entry point: no arguments starts the desktop app, anything else goes through the command line's parser
(``htrgui FOLDER``, ``htrgui gui --help`` included)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        from htrgui.qt.app import run  # Qt is imported only when the window is wanted

        return run([])
    from htrgui.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
