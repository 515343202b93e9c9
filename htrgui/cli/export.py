"""``htrgui export``: a project folder (its ``page/*.xml``) or PAGE files to PAGE, ALTO, text, PDF or TEI."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = ("export a project folder or PAGE/ALTO files as PAGE 2019 (or 2013), ALTO 4, plain text, searchable PDF, "
        "TEI or Word")


def register(subparsers: argparse._SubParsersAction) -> None:
    from htrgui.cli._batch import add_format_option

    p = subparsers.add_parser(
        "export", help=HELP, description=HELP + ". For a project folder, every page that has a "
        "page/<name>.xml (or, not saved yet, a PAGE/ALTO file beside its scan, as eScriptorium exports come) is "
        "written to OUTDIR/<name>.xml (.txt, .pdf, .tei.xml, .docx), in project order; progress goes to stderr.")
    p.add_argument("sources", nargs="+", type=Path, metavar="SOURCE", help="project folder or PAGE/ALTO file")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUTDIR", help="folder for the results")
    add_format_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from htrgui.cli._batch import run_export
    from htrgui.core.project import Project

    sources: list[tuple[str, Path]] = []
    for src in args.sources:
        if src.is_dir() and not Project.open(src).entries:
            # no scans: a folder of PAGE/ALTO files (an export from another tool), as `convert` reads it
            xmls = [p for d in (src, src / "page") if d.is_dir() for p in sorted(d.glob("*.xml"))
                    if not p.name.endswith(".tei.xml")]
            if not xmls:
                print(f"htrgui export: {src}: no scans and no PAGE/ALTO files in it", file=sys.stderr)
            sources += [(p.stem, p) for p in xmls]
        elif src.is_dir():
            project = Project.open(src)
            stored = [(e.name, project.source_xml(e)) for e in project.entries]
            missing = sum(1 for _, xml in stored if xml is None)
            stored = [(name, xml) for name, xml in stored if xml is not None]
            if missing:
                print(f"htrgui export: {src}: {missing} page(s) have no page/*.xml (nor a PAGE/ALTO file beside "
                      "the scan) and are skipped", file=sys.stderr)
            sources += stored
        else:
            sources.append((src.stem, src))
    if not sources:
        print("htrgui export: nothing to export", file=sys.stderr)
        return 1
    return run_export("export", sources, args.output, args.to)
