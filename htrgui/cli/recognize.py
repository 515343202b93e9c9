"""``htrgui recognize``: read the text of images or PAGE/ALTO pages, write PAGE 2019.

An image is segmented first (OpenCV line finder) when that module is present, else read as a single line.
A PAGE or ALTO file keeps its geometry and line ids; only the texts of lines nobody verified are replaced. Pages
are recognised by the same task as the GUI's (``core/tasks/recognize.py``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "recognise the text of page images or PAGE/ALTO files; writes PAGE 2019"
XML_SUFFIXES = {".xml"}


def add_model_options(p: argparse.ArgumentParser) -> None:
    """Options shared with ``evaluate``."""
    p.add_argument("--model", default=None, metavar="M",
                   help="model file or name from 'htrgui models list' (default: the shipped model)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"),
                   help="where to run (default: auto = CUDA, then Apple MPS, then CPU)")
    p.add_argument("--batch-size", type=int, default=None, metavar="N",
                   help="lines per batch (default: 8 on CPU, 64 on GPU)")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="CPU threads (default: all cores; fewer leaves room for other work)")
    p.add_argument("--lm", default="model", metavar="none|model|project|FILE",
                   help="language model for the beam search: none (greedy decoding unless --beam is given), model "
                        "(the one the model file carries; the default), project (that one mixed with the verified "
                        "lines of the PAGE files in the inputs' folders), or a file: an htrgui language model "
                        "(.lm.npz, used alone) or a plain-text file or word list, mixed with the model's")
    p.add_argument("--beam", type=int, default=None, metavar="N",
                   help="beam width (default: 8 with a language model, else 1 = greedy decoding)")
    p.add_argument("--lm-weight", type=float, default=None, metavar="W",
                   help="weight of the language model's log probability (default 0.7)")
    p.add_argument("--insertion-bonus", type=float, default=None, metavar="B",
                   help="score added per character, against the LM's preference for short lines (default 2.0)")
    p.add_argument("--lexicon", default=None, metavar="FILE",
                   help="word list (one word per line) or text, or 'english' (the bundled English word list): "
                        "with a language model its words are mixed into it; with --lm none the beam search "
                        "favours them (implies --beam 8)")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("recognize", help=HELP, description=HELP + ". Writes OUTDIR/<input stem>.xml.")
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="image (JPEG, PNG, TIFF, PDF) or PAGE/ALTO file, or a project folder (its scans, with the "
                   "lines of their page/*.xml when there are some)")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUTDIR", help="folder for the PAGE files")
    add_model_options(p)
    p.set_defaults(func=run)


def project_texts(inputs: list[Path]) -> list[str]:
    """Verified line texts of the PAGE files in the inputs' folders (an image's ``page/`` folder for scans)."""
    from htrgui.core.tasks.recognize import verified_texts_of

    folders = []
    for path in inputs:
        folder = path.parent if path.suffix.lower() in XML_SUFFIXES else path.parent / "page"
        if folder.is_dir() and folder not in folders:
            folders.append(folder)
    return verified_texts_of([xml for folder in folders for xml in sorted(folder.glob("*.xml"))])


def make_recognizer(args: argparse.Namespace, compare_greedy: bool = False):
    """A :class:`Recognizer` from the shared options."""
    from htrgui.core.errors import HtrError
    from htrgui.core.recognition import decode
    from htrgui.core.recognition.engine import Recognizer
    from htrgui.core.recognition.library import resolve_model
    from htrgui.core.recognition.lm import decoding_lm, word_list_path

    if args.batch_size is not None and args.batch_size < 1:
        raise HtrError("--batch-size must be at least 1")
    if args.threads is not None and args.threads < 1:
        raise HtrError("--threads must be at least 1")
    if args.beam is not None and args.beam < 1:
        raise HtrError("--beam must be at least 1")
    model_path = resolve_model(args.model)
    choice = str(args.lm)
    texts = project_texts(list(args.inputs)) if choice == "project" else None
    words = None if args.lexicon is None else word_list_path(args.lexicon)
    if words is not None and not words.is_file():
        raise HtrError(f"{words}: cannot read the word list (no such file)")
    lexicon = None
    if choice == "none":
        lm = None
        if words is not None:
            try:
                lexicon = decode.load_lexicon(words.read_text(encoding="utf-8").splitlines())
            except (OSError, UnicodeDecodeError) as exc:
                raise HtrError(f"{words}: cannot read the word list ({exc})") from None
        beam = args.beam or (8 if lexicon else 1)
    else:
        lm = decoding_lm(choice, model_path, project_texts=texts, extra_text=words)
        beam = args.beam or decode.DEFAULT_BEAM
    return Recognizer(model_path, device=args.device, batch_size=args.batch_size, beam_width=beam, lexicon=lexicon,
                      threads=args.threads, lm=lm,
                      lm_weight=decode.DEFAULT_LM_WEIGHT if args.lm_weight is None else args.lm_weight,
                      insertion_bonus=(decode.DEFAULT_INSERTION_BONUS if args.insertion_bonus is None
                                       else args.insertion_bonus),
                      compare_greedy=compare_greedy)


def pages_of(path: Path):
    """(output stem, Page, gray image) for each page of an input file."""
    from htrgui.core.imaging import load_image, load_page_image, page_count
    from htrgui.core.io import read_document

    if path.suffix.lower() in XML_SUFFIXES:
        page = read_document(path)
        if page.image_path is None:
            from htrgui.core.errors import ImageError

            raise ImageError(f"{path}: the page image {page.image_filename!r} was not found beside the file")
        yield path.stem, page, load_page_image(page, mode="L")
        return
    count = page_count(path)
    for index in range(count):
        gray = load_image(path, page_index=index, mode="L")
        stem = path.stem if count == 1 else f"{path.stem}_{index + 1:04d}"
        yield stem, image_page(path, index, gray), gray


def image_page(path: Path, index: int, gray) -> "Page":  # noqa: F821
    """A page for a bare image, segmented."""
    from htrgui.core.document import Page
    from htrgui.core.segmentation import segment_page

    h, w = gray.shape[:2]
    page = Page(image_filename=path.name, width=w, height=h, image_path=path.resolve(), page_index=index)
    page.regions = segment_page(gray)
    return page


def run(args: argparse.Namespace) -> int:
    from htrgui.core.errors import HtrError
    from htrgui.core.io import image_reference
    from htrgui.core.pagexml import write_page
    from htrgui.core.editing import apply_recognition
    from htrgui.core.progress import Progress, StderrReporter
    from htrgui.core.tasks.pages import PageTask
    from htrgui.core.tasks.recognize import RecognitionResult, recognize_pages

    from htrgui.cli._batch import expand_folders

    inputs = args.inputs = expand_folders("recognize", list(args.inputs), stored=True)  # --lm project reads them
    stems = [p.stem for p in inputs]
    clashes = sorted({s for s in stems if stems.count(s) > 1})
    if clashes:
        raise HtrError(f"several inputs would be written to the same file in {args.output}: "
                       + ", ".join(f"{s}.xml" for s in clashes))
    recognizer = make_recognizer(args)
    created = not args.output.exists()
    args.output.mkdir(parents=True, exist_ok=True)
    report = StderrReporter()
    failed = written = lines_done = 0
    for n, path in enumerate(inputs):
        try:
            for stem, page, gray in pages_of(path):
                # the GUI's task: only lines open to the model are read, and written back by the same rule
                task = PageTask(n, page.image_path or path, page.page_index, lines=list(page.lines()), gray=gray,
                                name=stem)
                for item in recognize_pages([task], lambda: recognizer):
                    if isinstance(item, RecognitionResult):
                        if item.error:
                            raise HtrError(item.error)
                        apply_recognition(page, item.lines, item.model_id)
                        lines_done += len(item.lines)
                    elif item.done:
                        report(Progress(n, len(inputs), f"{path.name}", {"lines": lines_done + item.done}))
                target = args.output / f"{stem}.xml"
                if page.image_path is not None:
                    page.image_filename = image_reference(page.image_path, target.parent)
                write_page(page, target)
                written += 1
        except HtrError as exc:
            failed += 1
            print(f"htrgui recognize: error: {exc}", file=sys.stderr)
    report(Progress(len(inputs), len(inputs), "done", {"lines": lines_done}), force=True)
    if created and not written:
        try:
            args.output.rmdir()  # every input failed: leave no empty folder behind
        except OSError:
            pass
    how = (f"beam {recognizer.beam_width} with the language model ({args.lm})" if recognizer.lm is not None
           else "greedy decoding" if recognizer.beam_width <= 1 and not recognizer.lexicon else
           f"beam {recognizer.beam_width}")
    print(f"htrgui recognize: {written} page(s) written to {args.output}, {lines_done} lines read with "
          f"{recognizer.loaded.name} on {recognizer.device}, {how}", file=sys.stderr)
    return 2 if failed else 0
