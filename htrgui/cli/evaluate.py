"""``htrgui evaluate``: recognise the lines of ground-truth PAGE/ALTO files and report CER and WER.

Micro-averaged over all lines (NFC, white space folded, see ``htrgui.core.text``); the JSON summary is
the last line on stdout, per-file figures go before it. The summary's top-level figures are those of the
decoding asked for (by default the beam search with the model's language model); ``greedy`` holds best-path
decoding of the same posteriors, side by side.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "measure a model's character and word error rates on PAGE/ALTO ground truth"


def register(subparsers: argparse._SubParsersAction) -> None:
    from htrgui.cli.recognize import add_model_options

    p = subparsers.add_parser("evaluate", help=HELP, description=HELP + ". Prints JSON on the last line.")
    p.add_argument("inputs", nargs="+", type=Path, metavar="DATA",
                   help="PAGE/ALTO files, or folders searched for *.xml")
    add_model_options(p)
    p.add_argument("--per-file", action="store_true", help="also print one JSON line per file")
    p.set_defaults(func=run)


def xml_files(inputs: list[Path]) -> list[Path]:
    """The XML files named or found (recursively) in the folders named."""
    from htrgui.core.errors import HtrError

    out: list[Path] = []
    for p in inputs:
        if p.is_dir():
            out += sorted(p.rglob("*.xml"))
        elif p.is_file():
            out.append(p)
        else:
            raise HtrError(f"{p}: no such file or folder")
    if not out:
        raise HtrError("no PAGE/ALTO files found in " + ", ".join(map(str, inputs)))
    return out


def run(args: argparse.Namespace) -> int:
    from htrgui.cli.recognize import make_recognizer
    from htrgui.core.errors import HtrError
    from htrgui.core.imaging import load_page_image
    from htrgui.core.io import read_document
    from htrgui.core.text import ErrorRates
    from htrgui.core.progress import Progress, StderrReporter

    files = xml_files(args.inputs)
    recognizer = make_recognizer(args, compare_greedy=True)
    total = ErrorRates()
    greedy_total = ErrorRates()
    report = StderrReporter()
    skipped = 0
    for n, path in enumerate(files):
        try:
            page = read_document(path)
            if page.image_path is None:
                raise HtrError(f"{path}: the page image {page.image_filename!r} was not found")
            gray = load_page_image(page, mode="L")
        except HtrError as exc:
            print(f"htrgui evaluate: error: {exc}", file=sys.stderr)
            skipped += 1
            continue
        truth = {line.id: line.text for line in page.lines() if line.text.strip()}
        rates = ErrorRates()
        pairs = ((lid, img) for lid, img in recognizer.page_lines(page, gray, skip_verified=False) if lid in truth)
        for result in recognizer.recognize_lines(pairs):
            rates.add(result.text, truth[result.line_id])
            total.add(result.text, truth[result.line_id])
            greedy_total.add(result.greedy_text if result.greedy_text is not None else result.text,
                             truth[result.line_id])
        if args.per_file:
            print(json.dumps({"file": str(path), **rates.as_dict()}, ensure_ascii=False))
        report(Progress(n + 1, len(files), path.name, {"cer": total.cer}))
    decoding = ("greedy" if recognizer.lm is None and recognizer.beam_width <= 1 and not recognizer.lexicon
                else f"beam {recognizer.beam_width}" + (f" + lm {args.lm}" if recognizer.lm is not None else ""))
    summary = {"model": recognizer.loaded.name, "files": len(files) - skipped, "skipped_files": skipped,
               "decoding": decoding, **total.as_dict(), "greedy": greedy_total.as_dict()}
    print(json.dumps(summary, ensure_ascii=False))
    return 2 if skipped == len(files) else 0
