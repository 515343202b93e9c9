"""Screenshots of the real application's main screens, for the documentation.

Starts the real main window offscreen on a folder of real pages from ../shared/data (copied to a temporary
folder, with a temporary HTRGUI_HOME so the user's settings are never touched), drives it like a user would
and saves ``main-window.png``, ``editor.png``, ``finetune.png``, ``models.png`` and ``preferences.png``
(``--other-look`` adds ``main-window-dark.png``, the look switched while running):

    QT_QPA_PLATFORM=offscreen python scripts/screenshots.py            # into docs/screenshots/
    python scripts/screenshots.py --out /tmp/shots --theme dark --finetune-steps 0

The fine-tune screen shows a real (short) fine-tuning run: of the shipped default model when it is installed,
else of an untrained ``tiny`` model made on the spot (its curve then says little about accuracy). Images are
reduced to a 256-colour palette so each stays well under 300 KB.
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


def save_png(widget, path: Path) -> int:
    """Grab ``widget`` and write it as a palette PNG under MAX_BYTES (shrunk if it must be). Returns bytes."""
    from PIL import Image
    from PySide6.QtCore import QBuffer, QIODevice

    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    widget.grab().save(buffer, "PNG")
    image = Image.open(io.BytesIO(bytes(buffer.data()))).convert("RGB")
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
    args = parser.parse_args(argv)
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


def take(args, work: Path, width: int, height: int) -> int:
    from htrgui.qt.app import create_app
    from htrgui.qt.theme import apply_theme

    app = create_app([])
    apply_theme(app, args.theme)
    from htrgui.core.paths import user_models_dir
    from htrgui.qt.main_window import MainWindow
    from htrgui.qt.settings import Settings

    folder = work / "Testaments de Poilus"
    folder.mkdir()
    for stem in PAGES:
        for suffix in (".jpg", ".xml"):
            shutil.copy((DATA / stem).with_suffix(suffix), folder)
    try:
        from htrgui.core.recognition.library import default_model_path

        if args.model:  # copied among the user's models, as an imported model would be
            base, base_kind = str(shutil.copy(args.model, user_models_dir() / args.model.name)), "given"
        else:
            base, base_kind = str(default_model_path()), "shipped"
    except Exception:  # noqa: BLE001 - no shipped model yet
        base = str(tiny_base(user_models_dir(), [(DATA / s).with_suffix(".xml") for s in PAGES]))
        base_kind = "untrained tiny"
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
    shots = {"main-window.png": window}
    sizes = {"main-window.png": save_png(window, args.out / "main-window.png")}

    # The transcription editor on a line in the middle of the page, the view zoomed on it.
    ids = window.editor.line_ids()
    if ids:
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

    prefs = PreferencesDialog(window, settings)
    prefs.show()
    wait_until(lambda: prefs.report is not None, 120)
    pump(0.5)
    sizes["preferences.png"] = save_png(prefs, args.out / "preferences.png")
    prefs.reject()

    # Improve the model: a real short fine-tune on the verified pages.
    from htrgui.qt.dialogs.finetune import FineTuneDialog

    dialog = FineTuneDialog(window, session.project, settings, window.runner)
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

    # The models, the fine-tuned one among them when it was better.
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

    window.runner.shutdown()
    session.close()
    window.close()
    for name, size in sizes.items():
        print(f"{args.out / name}: {size // 1024} KB")
    print(f"fine-tuned base: {base_kind}")
    del shots
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
