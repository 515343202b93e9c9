"""``htrgui convert``: PAGE or ALTO files to PAGE 2019, ALTO 4, plain text, searchable PDF or TEI."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "convert PAGE-XML or ALTO files to PAGE 2019 (or 2013), ALTO 4, plain text, searchable PDF, TEI or Word"


def register(subparsers: argparse._SubParsersAction) -> None:
    from htrgui.cli._batch import add_format_option

    p = subparsers.add_parser(
        "convert", help=HELP, description=HELP + ". Writes OUTDIR/<input stem>.xml (.txt, .pdf, .tei.xml, .docx). "
        "Works without the image when the file gives the page size (a warning says the image was not found).")
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                   help="PAGE-XML (2013, 2019) or ALTO (v2-v4) file, or a folder of them (its *.xml files)")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUTDIR", help="folder for the results")
    add_format_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from htrgui.cli._batch import run_export

    files: list[Path] = []
    for path in args.inputs:
        # a folder's *.xml, but not the TEI files an earlier `--to tei` wrote there (we read PAGE and ALTO)
        files += sorted(p for p in path.glob("*.xml") if not p.name.endswith(".tei.xml")) if path.is_dir() else [path]
    sources = [(path.stem, path) for path in files]
    return run_export("convert", sources, args.output, args.to)
