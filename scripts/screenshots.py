"""Screenshots of the real application's main screens, for the documentation.

Starts the real main window offscreen on a folder of real pages from ../shared/data (copied to a temporary
folder, with a temporary HTRGUI_HOME so the user's settings are never touched), drives it like a user would
and saves ``main-window.png``, ``editor.png``, ``finetune.png``, ``models.png``, ``preferences.png`` and
``learning.png`` (``--other-look`` adds ``main-window-dark.png``, the look switched while running):

    QT_QPA_PLATFORM=offscreen python scripts/screenshots.py            # into docs/screenshots/
    python scripts/screenshots.py --out /tmp/shots --theme dark --finetune-steps 0
    OMP_NUM_THREADS=1 python scripts/screenshots.py --only learning  # just that one

The fine-tune screen shows a real (short) fine-tuning run: of the shipped default model when it is installed,
else of an untrained ``tiny`` model made on the spot (its curve then says little about accuracy). The learning
screen shows a real learning round (Model > Learn while I correct) of that model on pages of one LECTAUREP
register: one page verified by hand, the top of the next one verified and the rest read by the model; the
status bar then shows the version kept and its held-out CER, and the offer to read the unverified lines again
is drawn over the window where it opens. Images are reduced to a 256-colour palette so each stays well under
300 KB.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from htrgui.core.paths import shared_dir  # noqa: E402

DATA = shared_dir() / "data"
#: Wills of the Poilus collection (12 to 30 lines). Pages 0 and 2 are "verified" (the fine-tune learns from
#: them), page 1 is the one shown, read by the model.
PAGES = ["poilus/batch-1/TestamentsDePoilus_will_AD78_0005-1", "poilus/batch-1/TestamentsDePoilus_will_AD78_0006-0",
         "poilus/batch-1/TestamentsDePoilus_will_AD78_0006-1", "poilus/batch-1/TestamentsDePoilus_will_AD78_0014-0"]
VERIFIED, SHOWN = (0, 2), 1
#: One notary's register (the ``adaptation/adapt`` pages): the first page verified, the top ``LEARN_TOP`` lines
#: of the second (held out by the round: lines it never learns from), the rest read by the model.
LEARN_PAGES = ["lectaurep/lectaurep-dufour-1/DAFANCH96_048MIC07644_L-1",
               "lectaurep/lectaurep-dufour-1/DAFANCH96_048MIC07645_L-0",
               "lectaurep/lectaurep-dufour-1/DAFANCH96_048MIC07645_L-1"]
LEARN_TOP = 20
SHOTS = ("main-window", "editor", "preferences", "finetune", "models", "learning")
MAX_BYTES = 300_000


def pump(seconds: float) -> None:
    """Let the event loop run (paint, load thumbnails) for ``seconds``."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def wait_until(condition, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        pump(step)
    return condition()


def grab(widget):
    """``widget`` as a PIL image (RGB)."""
    from PIL import Image
    from PySide6.QtCore import QBuffer, QIODevice

    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    widget.grab().save(buffer, "PNG")
    return Image.open(io.BytesIO(bytes(buffer.data()))).convert("RGB")


def save_png(widget, path: Path, over=()) -> int:
    """Grab ``widget`` and write it as a palette PNG under MAX_BYTES (shrunk if it must be). Returns bytes.

    ``over``: windows of their own (a dialog, a menu) drawn over it where they are on the screen, as the user
    sees them (a grab of the window leaves them out)."""
    from PIL import Image, ImageDraw

    image = grab(widget)
    for top in over:
        at = top.mapToGlobal(top.rect().topLeft()) - widget.mapToGlobal(widget.rect().topLeft())
        shot = grab(top)
        # a thin frame, as the window manager draws one (the offscreen platform draws none)
        ImageDraw.Draw(shot).rectangle((0, 0, shot.width - 1, shot.height - 1), outline=(128, 128, 128))
        image.paste(shot, (at.x(), at.y()))
    scale = 1.0
    while True:
        shown = image if scale == 1.0 else image.resize((int(image.width * scale), int(image.height * scale)),
                                                          Image.Resampling.LANCZOS)
        out = io.BytesIO()
        shown.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            out, "PNG", optimize=True)
        if out.tell() <= MAX_BYTES or scale < 0.5:
            break
        scale *= 0.9
    path.write_bytes(out.getvalue())
    return out.tell()


def tiny_base(folder: Path, pages: list[Path]) -> Path:
    """An untrained ``tiny`` model whose alphabet covers the pages (used when no model is shipped)."""
    from htrgui.core.io import read_document
    from htrgui.core.recognition.checkpoint import save_checkpoint
    from htrgui.core.recognition.codec import Codec
    from htrgui.core.recognition.model import build_model

    codec = Codec.from_texts(line.text for p in pages for line in read_document(p).lines())
    model = build_model("tiny", num_classes=codec.num_classes)
    return save_checkpoint(folder / "tiny-demo.pt", model, codec,
                           provenance={"name": "tiny-demo", "data": "untrained, made by scripts/screenshots.py"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--theme", default="light", choices=["light", "dark"])
    parser.add_argument("--size", default="1280x800", help="window size WxH")
    parser.add_argument("--model", type=Path, help="model to recognise and fine-tune with (default: the shipped one)")
    parser.add_argument("--other-look", action="store_true", help="also the main window in the other look")
    parser.add_argument("--finetune-steps", type=int, default=8, help="steps of the real fine-tune shown (0: none)")
    parser.add_argument("--learning-steps", type=int, default=24, help="steps of the learning round shown")
    parser.add_argument("--only", help=f"comma-separated screens to make, of: {', '.join(SHOTS)}")
    args = parser.parse_args(argv)
    args.only = set(SHOTS) if not args.only else {name.strip().removesuffix(".png") for name in args.only.split(",")}
    if args.only - set(SHOTS):
        parser.error(f"unknown screen(s): {', '.join(sorted(args.only - set(SHOTS)))}")
    if not DATA.is_dir():
        print(f"{DATA} not found: the screenshots need ../shared/data", file=sys.stderr)
        return 2
    width, height = (int(v) for v in args.size.lower().split("x"))
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="htrgui-shots-"))
    os.environ["HTRGUI_HOME"] = str(work / "home")
    try:
        return take(args, work, width, height)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def base_model(args, pages: list[str]) -> tuple[str, str]:
    """The model to recognise and fine-tune with, and what it is (given, shipped, untrained tiny)."""
    from htrgui.core.paths import user_models_dir

    try:
        from htrgui.core.recognition.library import default_model_path

        if args.model:  # copied among the user's models, as an imported model would be
            return str(shutil.copy(args.model, user_models_dir() / args.model.name)), "given"
        return str(default_model_path()), "shipped"
    except Exception:  # noqa: BLE001 - no shipped model yet
        return str(tiny_base(user_models_dir(), [(DATA / s).with_suffix(".xml") for s in pages])), "untrained tiny"


def take(args, work: Path, width: int, height: int) -> int:
    from htrgui.qt.app import create_app
    from htrgui.qt.theme import apply_theme

    app = create_app([])
    apply_theme(app, args.theme)
    sizes: dict[str, int] = {}
    status = 0
    if args.only - {"learning"}:
        status = take_poilus(app, args, work, width, height, sizes)
    if not status and "learning" in args.only:
        status = take_learning(args, work, width, height, sizes)
    for name, size in sizes.items():
        print(f"{args.out / name}: {size // 1024} KB")
    return status


def take_poilus(app, args, work: Path, width: int, height: int, sizes: dict[str, int]) -> int:
    """main-window, editor, preferences, finetune, models (those in ``args.only``) on the wills."""
    from htrgui.qt.main_window import MainWindow
    from htrgui.qt.settings import Settings
    from htrgui.qt.theme import apply_theme

    folder = work / "Testaments de Poilus"
    folder.mkdir()
    for stem in PAGES:
        for suffix in (".jpg", ".xml"):
            shutil.copy((DATA / stem).with_suffix(suffix), folder)
    base, base_kind = base_model(args, PAGES)
    settings = Settings(default_model=base, font_size=13)
    window = MainWindow(settings)
    window.resize(width, height)
    window.show()
    if not window.open_path(folder):
        print("could not open the pages", file=sys.stderr)
        return 1
    wait_until(lambda: window.session.current_page() is not None, 30)
    pump(1.5)  # thumbnails, page image
    session = window.session

    # A day's state: the first pages checked by a person, the others read by the model (when there is one).
    for index in range(len(session.entries)):
        page = session.page(index)
        for line in page.lines():
            line.status = "verified" if index in VERIFIED else "predicted"
        session.touch(index)
    session.save_dirty()
    session.set_current(SHOWN)
    wait_until(lambda: session.current_page() is session.page(SHOWN), 10)
    if base_kind != "untrained tiny":
        ended = []
        window.runner.job_ended.connect(lambda *a: ended.append(a))
        window.actions.recognize_page.trigger()
        wait_until(lambda: bool(ended), 300)
    for index in range(len(session.entries)):
        window.page_list.update_status(index)
    window.view.fit_page()
    pump(1.0)
    if "main-window" in args.only:
        sizes["main-window.png"] = save_png(window, args.out / "main-window.png")

    # The transcription editor on a line in the middle of the page, the view zoomed on it.
    ids = window.editor.line_ids()
    if ids and "editor" in args.only:
        line_id = ids[min(4, len(ids) - 1)]
        window.editor.select_line(line_id)
        window.view.select_lines([line_id])
        window.view.fit_width()
        pump(1.0)
        sizes["editor.png"] = save_png(window, args.out / "editor.png")

    if args.other_look:
        # The other look, switched live as when the system changes (icons made before keep their colour).
        other = "dark" if args.theme == "light" else "light"
        apply_theme(app, other)
        window.view.fit_page()
        pump(1.0)
        sizes[f"main-window-{other}.png"] = save_png(window, args.out / f"main-window-{other}.png")
        apply_theme(app, args.theme)
        pump(0.5)

    # Preferences, with the machine check done.
    from htrgui.qt.dialogs.preferences import PreferencesDialog

    if "preferences" in args.only:
        prefs = PreferencesDialog(window, settings)
        prefs.show()
        wait_until(lambda: prefs.report is not None, 120)
        pump(0.5)
        sizes["preferences.png"] = save_png(prefs, args.out / "preferences.png")
        prefs.reject()
    if "finetune" in args.only:
        take_finetune(window, settings, args, sizes)
    if "models" in args.only:
        take_models(window, settings, args, sizes)
    window.runner.shutdown()
    session.close()
    window.close()
    print(f"fine-tuned base: {base_kind}")
    return 0


def take_finetune(window, settings, args, sizes: dict[str, int]) -> None:
    """Improve the model: a real short fine-tune on the verified pages."""
    from htrgui.qt.dialogs.finetune import FineTuneDialog

    dialog = FineTuneDialog(window, window.session.project, settings, window.runner)
    dialog.show()
    wait_until(lambda: dialog.verified is not None, 60)
    if args.finetune_steps > 0 and dialog.verified.enough:
        from htrgui.core.training.finetune import finetune_config

        config = finetune_config(600, "cpu")
        config.max_minutes, config.max_steps = None, args.finetune_steps
        config.val_every_minutes, config.val_every_steps = 1e9, max(1, args.finetune_steps // 4)
        config.batch_columns, config.patience = 4000, None
        done = []
        dialog.run_ended.connect(done.append)
        dialog.start(config=config)
        wait_until(lambda: bool(done), 900)
    pump(0.5)
    sizes["finetune.png"] = save_png(dialog, args.out / "finetune.png")
    dialog.close()


def take_models(window, settings, args, sizes: dict[str, int]) -> None:
    """The models, the fine-tuned one among them when it was better."""
    from htrgui.qt.dialogs.models import ModelsDialog

    models = ModelsDialog(window, settings)
    models.show()
    wait_until(lambda: models._worker is not None and not models._worker.is_running(), 120)
    tuned = [m for m in models.models if "-ft-" in m.path.name]
    if tuned:  # its card tells the most: base, data, held-out CER
        models.select_path(tuned[-1].path)
    pump(0.5)
    sizes["models.png"] = save_png(models, args.out / "models.png")
    models.close()


def take_learning(args, work: Path, width: int, height: int, sizes: dict[str, int]) -> int:
    """The model learning while the user corrects: a real round on the register's pages, then the window with
    the version in the status bar and the offer to read the unverified lines again."""
    from htrgui.core.io import read_document
    from htrgui.core.project import Project
    from htrgui.core.training.continuous import LearningPolicy
    from htrgui.qt.main_window import MainWindow
    from htrgui.qt.settings import Settings

    # The pages as a day of correcting leaves them: saved PAGE files holding the ground truth of the lines a
    # person verified; the other lines are read by the model below (never ground truth shown as its reading).
    folder = work / "Dufour register 1850"
    folder.mkdir()
    for stem in LEARN_PAGES:
        shutil.copy((DATA / stem).with_suffix(".jpg"), folder)
    project = Project.open(folder)
    stems = [Path(stem).name for stem in LEARN_PAGES]
    for entry in project.entries:
        n = stems.index(entry.image_path.stem)
        doc = read_document((DATA / LEARN_PAGES[n]).with_suffix(".xml"))
        doc.image_path, doc.image_filename, doc.xml_path = entry.image_path, entry.image_path.name, None
        top = {0: 10_000, 1: LEARN_TOP}.get(n, 0)
        for i, line in enumerate(doc.lines()):
            line.status = "verified" if i < top else "predicted"
            if i >= top:
                line.text = ""
        project.save_page(doc)

    base, base_kind = base_model(args, LEARN_PAGES)
    settings = Settings(default_model=base, font_size=13, device="cpu")
    window = MainWindow(settings)
    window.learner.policy = LearningPolicy(max_steps=args.learning_steps)
    window.resize(width, height)
    window.show()
    if not window.open_path(folder):
        print("could not open the register's pages", file=sys.stderr)
        return 1
    session = window.session
    wait_until(lambda: session.current_page() is not None, 30)
    ended = []
    window.runner.job_ended.connect(lambda title, *_: ended.append(title))
    if base_kind != "untrained tiny":  # the model reads what nobody verified (verified lines are left alone)
        window.jobs.recognize([1, 2])
        wait_until(lambda: "Recognising" in ended, 900)
    session.set_current(1)
    wait_until(lambda: session.current_page() is session.page(1), 10)

    # Model > Learn while I correct: a round starts in the background, its better version is put in use.
    offers, rounds = [], []
    window.learner.offer_made.connect(offers.append)
    window.learner.round_ended.connect(rounds.append)
    window.actions.continuous.trigger()
    wait_until(lambda: bool(rounds), 1800)
    result = rounds[-1]
    print(f"learning round: {result.describe() if result is not None else 'cancelled or failed'}"
          f" (base: {base_kind}, {args.learning_steps} steps)")
    wait_until(lambda: not window.runner.busy, 30)
    for index in range(len(session.entries)):
        window.page_list.update_status(index)
    ids = window.editor.line_ids()
    if len(ids) > LEARN_TOP:  # the editor where the verified lines end and the model's reading begins
        window.editor.select_line(ids[LEARN_TOP + 2])
    window.view.fit_page()
    pump(1.5)
    sizes["learning.png"] = save_png(window, args.out / "learning.png", over=offers[-1:])
    window.runner.shutdown()
    session.close()
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
