"""Shared driver of ``convert`` and ``export``: progress and warnings on stderr, one line per problem."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path


FORMAT_HELP = ("output format: PAGE 2019 (default), PAGE 2013 for Transkribus, ALTO 4, plain text, searchable PDF "
               "(the scan with an invisible text layer; needs the image), TEI P5, Word (.docx)")


def expand_folders(command: str, paths: list[Path], stored: bool) -> list[Path]:
    """Inputs with each folder replaced by its scans, in the project's order (``htrgui segment FOLDER``).

    With ``stored``, a single-page scan that already has a PAGE/ALTO file (``page/<name>.xml`` or one beside it)
    is replaced by that file, so its lines are kept (``recognize``). Files are passed through unchanged.

    Raises:
        HtrError: a folder holds no scans.
    """
    from htrgui.core.errors import HtrError
    from htrgui.core.project import Project

    out: list[Path] = []
    for path in paths:
        if not path.is_dir():
            out.append(path)
            continue
        project = Project.open(path)
        for problem in project.skipped:
            print(f"htrgui {command}: warning: skipped {problem}", file=sys.stderr)
        if not project.entries:
            raise HtrError(f"{path}: a folder with no scans (JPEG, PNG, TIFF, JP2, PDF) in it")
        pages: dict[Path, list] = {}
        for entry in project.entries:
            pages.setdefault(entry.image_path, []).append(entry)
        for image, entries in pages.items():
            xml = project.source_xml(entries[0]) if stored and len(entries) == 1 else None
            out.append(xml or image)
    return out


def add_format_option(parser) -> None:
    """The ``--to`` option of ``convert`` and ``export``."""
    from htrgui.core.io import EXTENSIONS

    parser.add_argument("--to", choices=tuple(EXTENSIONS), default="page", help=FORMAT_HELP)


def run_export(command: str, sources: list[tuple[str, Path]], outdir: Path, fmt: str) -> int:
    """Write every source to ``outdir``; returns 2 when any failed, else 0."""
    from htrgui.core.progress import StderrReporter
    from htrgui.core.tasks.export import export_sources

    names = [n for n, _ in sources]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        print(f"htrgui {command}: error: several inputs would be written to the same name: {', '.join(clashes)}",
              file=sys.stderr)
        return 2
    report = StderrReporter()
    failed = 0
    gen = export_sources(sources, outdir, [fmt])
    while True:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                progress = next(gen)
            except StopIteration:
                break
        for w in caught:
            print(f"htrgui {command}: warning: {w.message}", file=sys.stderr)
        if "error" in progress.info:
            failed += 1
            print(f"htrgui {command}: error: {progress.info['error']}", file=sys.stderr)
        report(progress)
    print(f"htrgui {command}: {len(sources) - failed} of {len(sources)} written to {outdir}", file=sys.stderr)
    return 2 if failed else 0
