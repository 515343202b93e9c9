"""``htrgui segment IMAGE... -o OUTDIR``: find the text lines of page images and write PAGE-XML."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "segment",
        help="find text regions and lines of page images and write PAGE-XML",
        description="Segments each image (OpenCV: binarisation, deskew, rule and border removal, line "
                    "finding, baselines, polygons, regions, reading order) and writes OUTDIR/<image stem>.xml "
                    "(PAGE 2019; multi-page TIFF/PDF give <stem>_0001.xml ...). See docs/segmentation.md.",
    )
    p.add_argument("images", nargs="+", type=Path, metavar="IMAGE",
                   help="page images (JPEG, PNG, TIFF, PDF ...), or a folder of them")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUTDIR", help="folder for the PAGE-XML files")
    p.add_argument("--overwrite", action="store_true", help="replace existing XML files (default: refuse)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="change a segmentation parameter, e.g. --set max_gap=6 (repeatable; names in "
                        "docs/segmentation.md)")
    p.set_defaults(func=run)


def parse_overrides(items: list[str]):
    """``SegmentationParams`` with ``NAME=VALUE`` overrides; unknown names or bad values raise HtrError."""
    import dataclasses

    from htrgui.core.errors import HtrError
    from htrgui.core.segmentation import SegmentationParams

    kinds = {f.name: f.type for f in dataclasses.fields(SegmentationParams)}
    values = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or name not in kinds:
            raise HtrError(f"--set {item}: expected NAME=VALUE with NAME one of {', '.join(kinds)}")
        if kinds[name] in ("bool", bool):
            flag = {"1": True, "true": True, "yes": True, "on": True,
                    "0": False, "false": False, "no": False, "off": False}.get(value.strip().lower())
            if flag is None:
                raise HtrError(f"--set {item}: {value!r} is not true or false")
            values[name] = flag
            continue
        try:
            values[name] = int(value) if kinds[name] in ("int", int) else float(value)
        except ValueError:
            raise HtrError(f"--set {item}: {value!r} is not a number") from None
    return SegmentationParams(**values)


def run(args: argparse.Namespace) -> int:
    from htrgui.core.errors import HtrError
    from htrgui.core.io import image_reference
    from htrgui.core.pagexml import write_page
    from htrgui.core.progress import Progress, StderrReporter
    from htrgui.core.tasks.segment import Segmented, segment_files

    from htrgui.cli._batch import expand_folders

    params = parse_overrides(args.set)
    images = expand_folders("segment", args.images, stored=False)
    report = StderrReporter()
    written = failed = lines = 0
    for item in segment_files(images, params):
        if isinstance(item, Progress):
            report(item)
            continue
        assert isinstance(item, Segmented)
        if item.error is not None:
            failed += 1
            print(f"htrgui segment: error: {item.error}", file=sys.stderr)
            continue
        out = args.output / f"{item.stem}.xml"
        if out.exists() and not args.overwrite:
            failed += 1
            print(f"htrgui segment: error: {out} exists (use --overwrite to replace it)", file=sys.stderr)
            continue
        page = item.page
        if page.image_path is not None:  # bare name beside the image, else a path that finds it from OUTDIR
            page.image_filename = image_reference(page.image_path, out.parent)
        try:
            write_page(page, out)
        except HtrError as exc:
            failed += 1
            print(f"htrgui segment: error: {exc}", file=sys.stderr)
            continue
        written += 1
        lines += page.counts().lines
    print(f"htrgui segment: {written} page(s) written to {args.output}, {lines} lines"
          + (f", {failed} failed" if failed else ""), file=sys.stderr)
    return 2 if failed else 0

