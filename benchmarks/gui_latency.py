"""How responsive the window stays while a model job runs: event-loop gaps while recognising and training.

A QTimer asks to fire every 10 ms on the GUI thread while a real job runs in a :class:`GeneratorWorker` through
the :class:`JobRunner` (as in the app: results applied on the GUI thread, progress throttled). Each gap between
two firings is recorded; a gap of 100 ms or more is a stutter a user notices. Prints JSON:
``{"idle"|"recognition"|"training": {"ticks", "p50_ms", "p99_ms", "max_ms", "over_100ms", "items", ...}}``.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_latency.py --seconds 10

The ``project300`` scenario drives the real main window on a generated 300-page project (20 copies each of 15
real scans of ../shared/data with their lines, as PAGE files of lines "predicted" with confidences, in a temp
folder): opening it, F8 (next uncertain line, which needs every page's lines), switching pages, and starting
"recognise all" (then letting it run). Each step reports the event-loop gaps from the moment it was asked for:

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_latency.py --scenarios project300 --seconds 10

By default the jobs' modules are imported before measuring (``--cold`` does not): the first job of a session
imports torch._dynamo and sympy (pulled in by ``torch.optim.AdamW``) in its thread, which on a busy 2-core
machine stalls the loop for 0.2-0.5 s a few times. Recognition uses the shipped default model when there is one, else an untrained ``small`` model (same cost
per line); the pages are real scans of ../shared/data. Training fine-tunes a ``tiny`` (``--train-config``)
model on real lines for as long as the scenario lasts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from htrgui.core.paths import shared_dir  # noqa: E402

DATA = shared_dir() / "data"
PAGES = ["stanford/by_pierrine_maurel/Page1-Lettre42/Lettre42", "stanford/by_pierrine_maurel/Page2-Lettre43/Lettre43",
         "stanford/by_pierrine_maurel/Page3-Lettre46/Lettre46", "stanford/by_pierrine_maurel/Page4-Lettre49/Lettre49"]


def measure(app, factory, seconds: float, on_item=None) -> dict:
    """Run ``factory`` as a job for at most ``seconds`` (then cancel it) and return the gap statistics."""
    from PySide6.QtCore import QEventLoop, QTimer

    from htrgui.qt.jobs import JobRunner
    from htrgui.qt.workers import EventLoopMonitor

    runner = JobRunner()
    monitor = EventLoopMonitor(10)
    items = [0]
    progress = [0]
    outcome = {}
    loop = QEventLoop()

    def item(obj):
        items[0] += 1
        if on_item is not None:
            on_item(obj)

    def ended(title, result, message):
        outcome.update(result=result, message=message)
        loop.quit()

    runner.job_ended.connect(ended)
    runner.job_progress.connect(lambda p: progress.__setitem__(0, progress[0] + 1))
    monitor.start()
    start = time.monotonic()
    if factory is None:  # the idle baseline
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        outcome["result"] = "idle"
    else:
        runner.run("benchmark", factory, on_item=item, on_failed=lambda m, d: outcome.update(details=d))
        QTimer.singleShot(int(seconds * 1000), runner.cancel)
    loop.exec()
    monitor.stop()
    stats = monitor.stats()
    gaps = monitor.gaps_ms[1:]
    stats.update(over_100ms=sum(g >= 100 for g in gaps), items=items[0], progress_shown=progress[0],
                 seconds=round(time.monotonic() - start, 2), outcome=outcome.get("result"))
    if outcome.get("result") == "failed":
        stats["error"] = outcome.get("message")
    return stats


def model_path(tmp: Path) -> tuple[Path, str]:
    """The shipped default model, or an untrained ``small`` one written to ``tmp``."""
    try:
        from htrgui.core.recognition.library import default_model_path

        return default_model_path(), "shipped default"
    except Exception:  # noqa: BLE001 - no shipped model yet: same architecture, random weights
        from htrgui.core.recognition.checkpoint import save_checkpoint
        from htrgui.core.recognition.codec import Codec
        from htrgui.core.recognition.model import CONFIGS, HTRConvText

        codec = Codec(tuple(sorted(set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,'-"))))
        model = HTRConvText(CONFIGS["small"].with_classes(codec.num_classes))
        return save_checkpoint(tmp / "small-untrained.pt", model, codec), "untrained small"


def recognition_job(model: Path, device: str):
    """Recognise the benchmark pages over and over (until cancelled), yielding LineResults."""
    from htrgui.core.io import read_document
    from htrgui.core.progress import Progress
    from htrgui.core.recognition.engine import Recognizer

    def run(token):
        recognizer = Recognizer(model, device=device)
        pages = [read_document(DATA / f"{p}.xml") for p in PAGES]
        total = sum(1 for page in pages for _ in page.lines())
        done = 0
        while True:
            for page in pages:
                for result in recognizer.recognize_page(page, skip_verified=False):
                    token.check()
                    done += 1
                    yield result
                    yield Progress(done, None, f"{done} lines ({total} per round)")

    return run


def training_job(config: str, device: str, out: Path):
    """Fine-tune-like training on real lines until cancelled."""
    from htrgui.core.training.data import read_lines
    from htrgui.core.training.trainer import TrainConfig, train

    def run(token):
        lineset = None
        for item in read_lines([str(DATA / f"{p}.xml") for p in PAGES[:2]], cancel=token):
            if not hasattr(item, "done"):
                lineset = item
        cfg = TrainConfig(config=config, max_minutes=60, tcm=True, val_every_minutes=1e9, device=device,
                          checkpoint_every_minutes=1e9, warmup_steps=5, batch_columns=6000)
        yield from train(lineset, None, out / "bench.pt", cfg, cancel=token)

    return run


#: 15 real pages (scan + transcription) of ../shared/data: short wills, a register, letters.
PROJECT_PAGES = [
    "poilus/batch-2/TestamentsDePoilus_will_AN_0252-1", "poilus/batch-2/TestamentsDePoilus_will_AN_0200-0",
    "poilus/batch-2/TestamentsDePoilus_will_AN_0109-0", "poilus/batch-2/TestamentsDePoilus_will_AN_0337-0",
    "poilus/batch-2/TestamentsDePoilus_will_AN_0248-1",
    "lectaurep/lectaurep-dufour-1/DAFANCH96_048MIC07660_L-1", "lectaurep/lectaurep-dufour-1/DAFANCH96_048MIC07644_L-1",
    "lectaurep/lectaurep-dufour-1/DAFANCH96_048MIC07652_L-0", "lectaurep/lectaurep-dufour-1/DAFANCH96_048MIC07656_L-0",
    "lectaurep/lectaurep-dufour-1/DAFANCH96_048MIC07661_L-0",
    "stanford/by_yagmur_ozturk/Page3-Lettre243/Lettre243", "stanford/by_yagmur_ozturk/Page10-Lettre250/Lettre250",
    "stanford/by_ingrid_guimaraes/PageX-LettreX/SC0033B_s4_b01_f14_i088",
    "stanford/by_pierrine_maurel/Page2-Lettre43/Lettre43", "stanford/by_pierrine_maurel/Page4-Lettre49/Lettre49"]


def make_project(folder: Path, pages: int = 300) -> dict:
    """A project of ``pages`` pages: copies (symbolic links) of the 15 real scans, each with its real lines
    in ``page/<name>.xml``, every line "predicted" with a confidence (so F8 has lines to walk)."""
    import random
    import shutil

    from htrgui.core.io import read_document
    from htrgui.core.pagexml import write_page

    rng = random.Random(0)
    (folder / "page").mkdir(parents=True)
    lines = 0
    for n in range(pages):
        stem = PROJECT_PAGES[n % len(PROJECT_PAGES)]
        source = read_document(DATA / f"{stem}.xml")
        name = f"p{n + 1:04d}"
        scan = folder / f"{name}{Path(source.image_path).suffix}"
        try:
            scan.symlink_to(Path(source.image_path).resolve())
        except OSError:
            shutil.copy(source.image_path, scan)
        source.image_filename = scan.name
        for line in source.lines():
            line.status = "predicted" if line.text else "empty"
            line.confidence = round(rng.uniform(0.3, 0.99), 3) if line.text else None
        write_page(source, folder / "page" / f"{name}.xml")
        lines += source.counts().lines
    return {"pages": pages, "lines": lines, "distinct_scans": len(PROJECT_PAGES)}


def project300(app, seconds: float, device: str) -> dict:
    """The main window on a 300-page project: open, F8, page switches, "recognise all" (see the docstring)."""
    from PySide6.QtCore import QEventLoop, QTimer

    from htrgui.qt.main_window import MainWindow
    from htrgui.qt.workers import EventLoopMonitor

    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        folder = Path(tmp_name) / "project"
        t0 = time.monotonic()
        out["project"] = make_project(folder)
        out["project"]["generated_s"] = round(time.monotonic() - t0, 1)
        window = MainWindow(autosave_ms=1500)
        window.settings.device = device
        window.settings.default_model = ""
        window.resize(1300, 850)
        window.show()
        monitor = EventLoopMonitor(10)

        def wait(ms: int, until=None) -> None:
            """Run the event loop for ``ms`` ms, or until ``until()`` (checked every 20 ms)."""
            loop = QEventLoop()
            deadline = time.monotonic() + ms / 1000
            timer = QTimer()
            timer.setInterval(20)
            timer.timeout.connect(lambda: loop.quit() if time.monotonic() > deadline or (until and until())
                                  else None)
            timer.start()
            loop.exec()
            timer.stop()

        def step(name: str, action, ms: int, until=None, **extra) -> None:
            wait(50)  # settle, then measure from the moment the step is asked for
            monitor.start()
            started = time.monotonic()
            t = time.perf_counter()
            action()
            handler_ms = (time.perf_counter() - t) * 1000
            wait(ms, until)
            monitor.stop()
            stats = monitor.stats()
            # the first gap holds the action itself (it runs on the GUI thread): counted too
            stats.update(over_100ms=sum(g >= 100 for g in monitor.gaps_ms), handler_ms=round(handler_ms, 1),
                         seconds=round(time.monotonic() - started, 2), **extra)
            out[name] = stats

        step("open", lambda: window.open_path(folder), 1000)
        session, controller = window.session, window.controller
        # F8 right after opening: most pages are not in memory yet (the page list reads them in the background)
        in_memory = sum(session.loaded(i) for i in range(len(session.entries)))
        before = (session.current, window.editor.current_line_id())
        landed = {}

        def f8() -> None:
            landed["t"] = time.monotonic()
            window.actions.next_uncertain.trigger()

        step("f8", f8, 60_000, until=lambda: (session.current, window.editor.current_line_id()) != before)
        out["f8"]["pages_in_memory_before"] = in_memory
        out["f8"]["landed"] = (session.current, window.editor.current_line_id()) != before
        out["f8"]["pages_in_memory_after"] = sum(session.loaded(i) for i in range(len(session.entries)))
        order = [int(x) for x in (17, 143, 288, 5, 99, 250, 61, 199, 120, 2)]
        shown: list[int] = []
        if hasattr(controller, "image_shown"):
            controller.image_shown.connect(shown.append)
        else:  # a version that decodes the image on the GUI thread: shown when the switch returns
            session.current_changed.connect(shown.append)

        def switch() -> None:
            for n, index in enumerate(order):
                QTimer.singleShot(400 * n, lambda i=index: session.set_current(i))

        step("page_switch", switch, 400 * len(order) + 3000, until=lambda: len(shown) >= len(order),
             switches=len(order))
        out["page_switch"]["images_shown"] = len(shown)
        ended = []
        window.runner.job_ended.connect(lambda *a: ended.append(a))
        step("recognise_all", window.actions.recognize_all.trigger, int(seconds * 1000),
             model="shipped default", device=device)
        out["recognise_all"]["pages_recognised"] = len(window.jobs.last_report)
        out["recognise_all"]["progress"] = str(window.runner.last_progress.message
                                               if window.runner.last_progress else "")
        window.runner.cancel()
        wait(30_000, until=lambda: bool(ended))
        window.runner.shutdown()
        window.session.close()
        window.close()
    return out


def warm_imports() -> None:
    """Import what the jobs import lazily (torch, OpenCV, and the torch._dynamo/sympy that AdamW pulls in),
    on this thread, before measuring: a cold first job pays these imports in its worker thread."""
    import torch

    from htrgui.core.recognition import engine  # noqa: F401
    from htrgui.core.training import data, trainer  # noqa: F401

    torch.optim.AdamW([torch.zeros(1, requires_grad=True)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each scenario")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--train-config", default="tiny", help="model config trained in the training scenario")
    parser.add_argument("--scenarios", default="idle,recognition,training")
    parser.add_argument("--cold", action="store_true",
                        help="do not import the jobs' modules first (measures a session's first job)")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(json.dumps({"error": f"{DATA} not found: the benchmark needs ../shared/data"}))
        return 2
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    import torch

    if not args.cold:
        warm_imports()
    report: dict = {"cold": args.cold, "machine": {"platform": platform.platform(), "python": platform.python_version(),
                                "cpus": os.cpu_count(), "torch": torch.__version__,
                                "torch_threads": torch.get_num_threads(), "device": args.device,
                                "load_avg": os.getloadavg() if hasattr(os, "getloadavg") else None}}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for scenario in args.scenarios.split(","):
            if scenario == "idle":
                report["idle"] = measure(app, None, min(args.seconds, 3.0))
            elif scenario == "recognition":
                model, kind = model_path(tmp)
                report["recognition"] = measure(app, recognition_job(model, args.device), args.seconds)
                report["recognition"]["model"] = kind
            elif scenario == "project300":
                report["project300"] = project300(app, args.seconds, args.device)
            elif scenario == "training":
                report["training"] = measure(app, training_job(args.train_config, args.device, tmp), args.seconds)
                report["training"]["config"] = args.train_config
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
