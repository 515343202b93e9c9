"""Launch-to-window time: from starting the program to its main window painted on screen.

Each run starts ``htrgui gui --measure-startup`` as a new process (interpreter start, imports, Qt, the window
included) after noting the time; the app prints the Unix time of its window's first paint and quits. The first
run is the coldest this benchmark can make (files may still be in the page cache from earlier); the others are
warm. ``--platform xcb`` measures a real X11 window (mapped and drawn), on ``$DISPLAY`` or on an Xvfb it starts;
``offscreen`` (default) needs no display. Prints JSON: ``{"first_s", "warm_median_s", "runs_s", ...}``.

    python benchmarks/startup.py --runs 6 --platform xcb
    python benchmarks/startup.py --command /path/to/installed/htrgui     # a frozen build
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def launch_once(command: list[str], env: dict, timeout: float = 120) -> dict:
    """One launch: seconds from just before the process starts to the window's first paint."""
    started = time.time()
    done = subprocess.run([*command, "gui", "--measure-startup"], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=timeout)
    found = [json.loads(ln)["startup"] for ln in done.stdout.splitlines() if ln.startswith('{"startup"')]
    if done.returncode != 0 or not found:
        raise SystemExit(f"startup: {shlex.join(command)} did not report a painted window "
                         f"(exit {done.returncode}): {done.stderr.strip()[-800:]}")
    seen = found[-1]
    return {"launch_to_window_s": round(seen["window_painted_unix"] - started, 3),
            "process_age_s": seen["process_age_s"], "platform": seen["platform"]}


def start_xvfb() -> tuple[subprocess.Popen, str]:
    """An Xvfb on a free display number (``-displayfd`` reports the one it took)."""
    if not shutil.which("Xvfb"):
        raise SystemExit("startup: --platform xcb without $DISPLAY needs Xvfb (apt install xvfb)")
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    return proc, f":{number}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=6, help="launches (the first counts as cold)")
    ap.add_argument("--platform", choices=["offscreen", "xcb"], default="offscreen")
    ap.add_argument("--command", default=None,
                    help="program to launch (default: this Python with -m htrgui from this checkout)")
    args = ap.parse_args(argv)

    command = shlex.split(args.command) if args.command else [sys.executable, "-m", "htrgui"]
    home = Path(tempfile.mkdtemp(prefix="htrgui-startup-"))
    env = dict(os.environ, HTRGUI_HOME=str(home), QT_QPA_PLATFORM=args.platform)
    xvfb = None
    try:
        if args.platform == "xcb" and not os.environ.get("DISPLAY"):
            xvfb, env["DISPLAY"] = start_xvfb()
        runs = [launch_once(command, env) for _ in range(args.runs)]
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)
        shutil.rmtree(home, ignore_errors=True)
    times = [r["launch_to_window_s"] for r in runs]
    print(json.dumps({
        "command": shlex.join(command),
        "platform": runs[0]["platform"],
        "display": "Xvfb" if xvfb is not None else env.get("DISPLAY") if args.platform == "xcb" else None,
        "first_s": times[0],
        "warm_median_s": round(statistics.median(times[1:]), 3) if len(times) > 1 else None,
        "warm_min_s": min(times[1:]) if len(times) > 1 else None,
        "runs_s": times,
        "process_age_s": [r["process_age_s"] for r in runs],
        "cpus": os.cpu_count(),
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
