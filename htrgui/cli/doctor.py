"""``htrgui doctor``: versions, GPU, and measured recognition and fine-tuning speed on this machine."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "doctor",
        help="check this machine: versions, GPU, measured recognition and fine-tuning speed",
        description="Prints Python, torch, Qt and OpenCV versions, the GPU found (or why it is not used), and a "
                    "speed estimate measured here: recognition lines/s (synthetic lines), seconds per page (a page "
                    "rendered here through segmentation and recognition) and fine-tuning time.",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    p.add_argument("--no-measure", dest="measure", action="store_false",
                   help="skip the speed measurement (a second instead of about half a minute on a CPU)")
    p.add_argument("--model", default=None,
                   help="model name or .pt file to time (default: the shipped default model, else a random "
                        "model of --config)")
    p.add_argument("--config", default="small", help="configuration of the random model when none is shipped")
    p.add_argument("--device", choices=["cpu", "cuda", "mps"], default=None,
                   help="device to time on (default: the one the app would use)")
    p.add_argument("--seconds", type=float, default=3.0,
                   help="time budget of each timing after its warm-up (default 3)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from htrgui.core.doctor import DoctorReport, check, format_report
    from htrgui.core.progress import StderrReporter

    report_progress = StderrReporter()
    report = None
    for item in check(args.measure, model=args.model, device=args.device, config=args.config,
                      seconds=args.seconds):
        if isinstance(item, DoctorReport):
            report = item
        elif not args.json:
            report_progress(item)
    assert report is not None
    if args.json:
        json.dump(report.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(format_report(report))
    # A failed measurement is a finding, not a crash: exit 1 so scripts notice it.
    return 1 if report.speed_error else 0
