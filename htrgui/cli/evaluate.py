"""``htrgui evaluate``: recognise the lines of ground-truth PAGE/ALTO files and report CER and WER.

Micro-averaged over all lines (NFC, white space folded, see ``htrgui.core.text``); the JSON summary is
the last line on stdout, per-file figures go before it. The summary's top-level figures are those of the
decoding asked for (by default the beam search with the model's language model); ``greedy`` holds best-path
decoding of the same posteriors, side by side.

``--segment`` reads each page as the app does from scratch: its own line segmentation, then recognition, and
compares that with the ground truth by position (``scoring.end_to_end_pairs``: found and true lines grouped
where they overlap, each group's texts in reading order): a missed line costs its characters, text found
outside every true line costs its own, a split or merged line what its pieces get wrong, and a line of
writing the transcriber cut in two but the app found whole nothing. The ground truth's lines are not used
to read.

``--errors N`` adds what the reading gets wrong to the summary (``text.ErrorProfile``): substitutions,
deletions and insertions, the N most frequent confusions (truth -> read), and the CER left once case,
punctuation, diacritics or word spacing are forgiven.
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
    p.add_argument("--segment", action="store_true",
                   help="find the lines with the app's segmentation instead of reading the ground truth's "
                        "lines, and score the page's reading against the ground truth by position")
    p.add_argument("--errors", type=int, metavar="N", default=0,
                   help="also report the N most frequent confusions and the error rate without case, "
                        "punctuation, diacritics or spacing errors")
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
    from htrgui.core.text import ErrorProfile, ErrorRates
    from htrgui.core.progress import Progress, StderrReporter

    files = xml_files(args.inputs)
    recognizer = make_recognizer(args, compare_greedy=True)
    total = ErrorRates()
    greedy_total = ErrorRates()
    profile = ErrorProfile() if args.errors > 0 else None
    report = StderrReporter()
    skipped = found = 0
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
        rates = ErrorRates()
        if args.segment:
            pairs, greedy_pairs, n_found = _read_from_scratch(recognizer, page, gray)
            found += n_found
        else:
            truth = {line.id: line.text for line in page.lines() if line.text.strip()}
            crops = ((lid, img) for lid, img in recognizer.page_lines(page, gray, skip_verified=False)
                     if lid in truth)
            pairs, greedy_pairs = [], []
            for result in recognizer.recognize_lines(crops):
                pairs.append((result.text, truth[result.line_id]))
                greedy_pairs.append((result.greedy_text if result.greedy_text is not None else result.text,
                                     truth[result.line_id]))
        for (text, ref), (greedy, _) in zip(pairs, greedy_pairs, strict=True):
            if not (text.strip() or greedy.strip() or ref.strip()):
                continue  # a line found outside the truth's lines and read as nothing: nothing to retype
            rates.add(text, ref)
            total.add(text, ref)
            greedy_total.add(greedy, ref)
            if profile is not None:
                profile.add(text, ref)
        if args.per_file:
            print(json.dumps({"file": str(path), **rates.as_dict()}, ensure_ascii=False))
        report(Progress(n + 1, len(files), path.name, {"cer": total.cer}))
    decoding = ("greedy" if recognizer.lm is None and recognizer.beam_width <= 1 and not recognizer.lexicon
                else f"beam {recognizer.beam_width}" + (f" + lm {args.lm}" if recognizer.lm is not None else ""))
    summary = {"model": recognizer.loaded.name, "files": len(files) - skipped, "skipped_files": skipped,
               "decoding": decoding, **total.as_dict(), "greedy": greedy_total.as_dict()}
    if args.segment:
        summary["lines_from"] = "segmentation"
        summary["lines_found"] = found
    if profile is not None:
        summary["errors"] = profile.as_dict(args.errors)
    print(json.dumps(summary, ensure_ascii=False))
    return 2 if skipped == len(files) else 0


def _read_from_scratch(recognizer, page, gray) -> tuple[list[tuple[str, str]], list[tuple[str, str]], int]:
    """Segment ``page``'s image as the app does, read the lines found, and pair the readings (beam search and
    greedy) with the ground truth by position; also returns how many lines were found."""
    from htrgui.core.document import Page
    from htrgui.core.segmentation import segment_page
    from htrgui.core.segmentation.scoring import end_to_end_pairs

    found = Page(image_filename=page.image_filename, width=page.width, height=page.height)
    found.regions = segment_page(gray)
    lines = list(found.lines())
    texts: dict[str, tuple[str, str]] = {}
    for result in recognizer.recognize_lines(recognizer.page_lines(found, gray, skip_verified=False)):
        texts[result.line_id] = (result.text, result.greedy_text if result.greedy_text is not None else result.text)
    truth = [(line.polygon, line.baseline, line.text) for line in page.lines()]
    # extra text counts only in regions the ground truth transcribed (not in its stamp or margin zones left empty)
    regions = [r.polygon for r in page.regions
               if r.polygon and len(r.polygon) >= 3 and any(line.text.strip() for line in r.lines)] or None
    out = []
    for k in (0, 1):
        read = [(line.polygon, line.baseline, texts.get(line.id, ("", ""))[k]) for line in lines]
        out.append(end_to_end_pairs(truth, read, regions))
    return out[0], out[1], len(lines)
