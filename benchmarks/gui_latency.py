"""How responsive the window stays while a model job runs: event-loop gaps while recognising and training.

A QTimer asks to fire every 10 ms on the GUI thread while a real job runs in a :class:`GeneratorWorker` through
the :class:`JobRunner` (as in the app: results applied on the GUI thread, progress throttled). Each gap between
two firings is recorded; a gap of 100 ms or more is a stutter a user notices. Prints JSON:
``{"idle"|"recognition"|"training": {"ticks", "p50_ms", "p99_ms", "max_ms", "over_100ms", "items", ...}}``.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_latency.py --seconds 10

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
            elif scenario == "training":
                report["training"] = measure(app, training_job(args.train_config, args.device, tmp), args.seconds)
                report["training"]["config"] = args.train_config
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
