"""Entry point of the frozen application (PyInstaller runs this file as ``__main__``).

It only launches the package (``htrgui.__main__.main``): no application logic lives in the installer. One
addition: ``--smoke-test [FOLDER_OR_SCAN]`` starts the real window (opening what it is given) and quits from
inside Qt's event loop once the window is shown, printing one JSON line (used by ``installer/smoke_linux.sh``
to prove the frozen GUI starts).
"""

import time

_STARTED = time.perf_counter()  # noqa: E402 - first thing: start-up time is measured from here

import json  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

#: How long the smoke test waits for a window before giving up (a cold start on a slow disk is seconds).
SMOKE_TIMEOUT_MS = 120_000


def smoke_test(argv: list[str]) -> int:
    """Run the GUI until its event loop has shown a main window, then quit; print what was seen as JSON.

    ``argv`` goes to the app as usual: a folder or scan to open.
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow

    # Created here so that the timers below exist before the app's run() enters the event loop;
    # htrgui.qt.app.run reuses an existing QApplication.
    app = QApplication.instance() or QApplication([sys.argv[0]])
    seen: dict = {}

    def check() -> None:
        shown = [w for w in app.topLevelWidgets() if w.isVisible()]
        mains = [w for w in shown if isinstance(w, QMainWindow)]
        if not mains and time.perf_counter() - _STARTED < SMOKE_TIMEOUT_MS / 1000:
            QTimer.singleShot(100, check)  # a splash or first-run dialog may come first
            return
        session = getattr(mains[0], "session", None) if mains else None
        seen.update(
            event_loop=True,
            main_window=bool(mains),
            windows=[f"{type(w).__name__}: {w.windowTitle()}" for w in shown],
            # pages of the folder opened from argv (an error dialog would show up in windows)
            pages=len(getattr(session, "entries", None) or []) if session is not None else None,
            startup_s=round(time.perf_counter() - _STARTED, 3),
        )
        app.exit(0 if mains else 1)

    QTimer.singleShot(0, check)  # fires only once the event loop runs
    from htrgui.qt.app import run

    code = run(argv)
    if not seen:
        seen = {"event_loop": False, "exit_code": code}
    print(json.dumps({"smoke_test": seen}), flush=True)
    return int(code or 0) if seen.get("main_window") else 1


def attach_missing_streams() -> None:
    """A windowed program (Windows ``htrgui.exe``, the macOS app) has no stdout/stderr: Python sets them to
    None and the first library that writes a warning crashes. Send stdout nowhere and stderr to a log file
    the user can attach to a bug report."""
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")
    if sys.stderr is None:
        try:
            from htrgui.core.paths import user_data_dir

            log = user_data_dir() / "htrgui-last-run.log"
            sys.stderr = open(log, "w", encoding="utf-8", buffering=1)
        except OSError:
            sys.stderr = open(os.devnull, "w", encoding="utf-8")


def cli_hint(argv: list[str]) -> str | None:
    """What to tell a user who ran the *windowed* program with a command-line subcommand (``htrgui.exe doctor``
    in a terminal on Windows prints nothing: it has no console): use ``htrgui-cli``. None for the window's own
    arguments (none, a folder or scan, ``gui ...``)."""
    if not argv or argv[0] == "--smoke-test":
        return None
    from htrgui.cli import route

    if route(list(argv))[0] == "gui":
        return None
    return ("htrgui.exe is the window program and cannot print in a terminal.\n\n"
            f"In a terminal, use htrgui-cli.exe instead:\n    htrgui-cli {' '.join(argv)}\n\n"
            "(it is in the htrgui folder; the installer's \"Add htrgui-cli to PATH\" option puts it on PATH)")


def show_hint(text: str) -> None:
    """A message box (the windowed program has no console to print to)."""
    try:
        import ctypes

        ctypes.windll.user32.MessageBoxW(None, text, "htrgui", 0x40)  # MB_ICONINFORMATION
    except (AttributeError, OSError):
        pass


def main() -> int:
    multiprocessing.freeze_support()  # worker processes re-execute this binary
    windowed = sys.stdout is None  # Windows htrgui.exe (no console), before attach_missing_streams fills it
    attach_missing_streams()
    argv = sys.argv[1:]
    if argv[:1] == ["--smoke-test"]:
        return smoke_test(argv[1:])
    hint = cli_hint(argv) if windowed and sys.platform == "win32" else None
    if hint:
        show_hint(hint)
        return 2
    from htrgui.__main__ import main as app_main

    return app_main(argv)


if __name__ == "__main__":
    sys.exit(main())
