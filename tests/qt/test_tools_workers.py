"""GeneratorWorker and JobRunner: real generators in real threads, driven through the Qt event loop offscreen."""

from __future__ import annotations

import hashlib
import threading
import time

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")


from htrgui.core.errors import FormatError  # noqa: E402
from htrgui.core.progress import CancelToken, Progress  # noqa: E402
from htrgui.qt.dialogs import errors as error_dialogs  # noqa: E402
from htrgui.qt.jobs import JobBusy, JobRunner, JobStatusWidget, format_duration, time_left  # noqa: E402
from htrgui.qt.workers import EventLoopMonitor, GeneratorWorker  # noqa: E402

pytestmark = pytest.mark.gui


def digests(token: CancelToken, n: int = 40):
    """A real generator: chains SHA-256 digests, yielding progress and each digest."""
    h = b"htrgui"
    for i in range(n):
        token.check()
        h = hashlib.sha256(h).digest()
        yield Progress(i, n, f"digest {i}")
        yield (i, h.hex())
    yield Progress(n, n, "done")


def expected_digests(n: int = 40) -> list[tuple[int, str]]:
    out, h = [], b"htrgui"
    for i in range(n):
        h = hashlib.sha256(h).digest()
        out.append((i, h.hex()))
    return out


def collect(worker: GeneratorWorker) -> tuple[list, list]:
    items, progress = [], []
    worker.item.connect(items.append)
    worker.progress.connect(progress.append)
    return items, progress


def test_worker_streams_items_and_progress_in_order(qtbot):
    worker = GeneratorWorker(digests)
    items, progress = collect(worker)
    threads = set()
    worker.item.connect(lambda _obj: threads.add(threading.get_ident()))
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        worker.start()
        assert worker.is_running()
    assert items == expected_digests()
    assert [p.done for p in progress] == list(range(41))
    assert all(isinstance(p, Progress) for p in progress)
    # Slots run on the GUI thread, not in the worker's thread.
    assert threads == {threading.get_ident()}
    assert not worker.is_running() and worker.outcome == "finished"
    assert worker.wait(5000)
    with pytest.raises(RuntimeError):
        worker.start()


def test_cancel_closes_the_generator_and_runs_its_finally(qtbot):
    cleaned = threading.Event()
    produced = []

    def endless(token: CancelToken):
        try:
            i = 0
            while True:  # never checks the token: close() alone must stop it
                produced.append(i)
                yield i
                i += 1
        finally:
            cleaned.set()

    worker = GeneratorWorker(endless)
    items, _ = collect(worker)
    worker.item.connect(lambda obj: worker.cancel() if obj == 5 else None)
    finished = []
    worker.finished.connect(lambda: finished.append(True))
    with qtbot.waitSignal(worker.cancelled, timeout=10_000):
        worker.start()
    assert cleaned.is_set()
    assert not finished
    assert items[:6] == [0, 1, 2, 3, 4, 5]
    # It stopped soon after the request, not at some far-away point.
    assert len(produced) < 10_000
    assert worker.outcome == "cancelled"


def test_cancel_inside_a_long_step_through_the_token(qtbot):
    """Work that checks the token inside one long step stops without yielding again."""
    entered = threading.Event()

    def long_step(token: CancelToken):
        yield Progress(0, 1, "starting")
        entered.set()
        while True:
            hashlib.sha256(b"x" * 4096).digest()
            token.check()

    worker = GeneratorWorker(long_step)
    items, progress = collect(worker)
    worker.start()
    qtbot.waitUntil(entered.is_set, timeout=10_000)
    with qtbot.waitSignal(worker.cancelled, timeout=10_000):
        worker.cancel()
    assert [p.message for p in progress] == ["starting"] and items == []


@pytest.mark.parametrize("exc, expected", [
    (ValueError("bad pixel"), "ValueError: bad pixel"),
    (FormatError("no Page element", "page/p1.xml"), "page/p1.xml: no Page element"),
])
def test_errors_arrive_as_failed_with_details(qtbot, exc, expected):
    def broken(token: CancelToken):
        yield 1
        yield 2
        raise exc

    worker = GeneratorWorker(broken)
    items, _ = collect(worker)
    with qtbot.waitSignal(worker.failed, timeout=10_000) as blocker:
        worker.start()
    message, details = blocker.args
    assert message == expected
    assert "Traceback" in details and "broken" in details
    assert items == [1, 2]
    assert worker.outcome == "failed"


def test_factory_that_raises_is_a_failure_too(qtbot):
    def factory(token):
        raise FileNotFoundError("scan.tif")

    worker = GeneratorWorker(factory)
    with qtbot.waitSignal(worker.failed, timeout=10_000) as blocker:
        worker.start()
    assert "FileNotFoundError" in blocker.args[0]


def cpu_heavy(token: CancelToken, seconds: float = 1.0):
    """Pure-Python work that holds the GIL the whole time: the worst case for the GUI thread."""
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        token.check()
        s = 0
        for k in range(20_000):
            s += k * k % 7
        n += 1
        yield Progress(n, None, "crunching")


def test_event_loop_stays_responsive_while_cpu_heavy_work_runs(qtbot):
    """A QTimer ticking every 10 ms on the GUI thread never waits more than 100 ms while the worker computes.

    A busy machine may not schedule the GUI thread for a while (on the shared 2-core development machine, with
    a load of 7, about one attempt in twenty saw a gap of 100-125 ms); a loop that our worker really blocks
    fails every attempt, so up to five attempts of one second are made.
    """
    worst = []
    for _attempt in range(5):
        monitor = EventLoopMonitor(10)
        worker = GeneratorWorker(cpu_heavy)
        updates = []
        worker.progress.connect(updates.append)
        monitor.start()
        with qtbot.waitSignal(worker.finished, timeout=20_000):
            worker.start()
        monitor.stop()
        gaps = monitor.gaps_ms[1:]
        assert len(gaps) > 30 and len(updates) > 5  # the timer and the work really ran together
        worst.append(max(gaps))
        if worst[-1] < 100:
            break
    assert min(worst) < 100, f"event loop blocked for {worst} ms"


def test_job_runner_runs_one_job_at_a_time_and_throttles_progress(qtbot):
    runner = JobRunner()
    shown, busy, ended = [], [], []
    runner.job_progress.connect(shown.append)
    runner.busy_changed.connect(busy.append)
    runner.job_ended.connect(lambda *a: ended.append(a))
    items, done = [], []

    def many(token: CancelToken):
        for i in range(2000):
            yield Progress(i + 1, 2000, f"step {i}")
            if i % 100 == 0:
                yield i

    with qtbot.waitSignal(runner.job_ended, timeout=20_000):
        worker = runner.run("Counting", many, on_item=items.append, on_finished=lambda: done.append(True))
        assert runner.busy and runner.title == "Counting"
        with pytest.raises(JobBusy, match="Counting"):
            runner.run("Second", digests)
    assert worker.outcome == "finished"
    assert items == list(range(0, 2000, 100))
    assert done == [True]
    assert busy == [True, False]
    assert ended == [("Counting", "finished", "")]
    assert not runner.busy
    # Throttled: far fewer updates than yielded, but the final state always reaches the display.
    assert 1 <= len(shown) < 2000
    assert shown[-1].done == 2000


def test_job_runner_callback_can_chain_the_next_job(qtbot):
    runner = JobRunner()
    second = []

    def start_second():
        second.append(runner.run("Second", digests, on_item=lambda obj: None))

    with qtbot.waitSignal(runner.job_ended, timeout=10_000):
        runner.run("First", lambda token: iter([1, 2, 3]), on_finished=start_second)
    assert second and runner.busy
    with qtbot.waitSignal(runner.job_ended, timeout=10_000):
        pass
    assert second[0].outcome == "finished"


def test_job_failure_without_handler_opens_an_error_dialog(qtbot):
    runner = JobRunner()

    def broken(token):
        yield Progress(0, 1)
        raise FormatError("mismatched tag", "page/p7.xml")

    with qtbot.waitSignal(runner.job_ended, timeout=10_000) as blocker:
        runner.run("Recognising", broken)
    assert blocker.args[:2] == ["Recognising", "failed"]
    boxes = error_dialogs.open_error_boxes()
    assert boxes, "the failure must be shown to the user"
    box = boxes[-1]
    assert "page/p7.xml" in box.text() and "Recognising" in box.windowTitle()
    assert "Traceback" in box.detailedText()
    box.close()


def test_status_widget_shows_the_job_and_its_cancel_button_cancels(qtbot):
    runner = JobRunner()
    widget = JobStatusWidget(runner)
    qtbot.addWidget(widget)
    widget.show()
    finally_ran = threading.Event()

    def slow(token: CancelToken):
        try:
            for i in range(10_000_000):
                token.check()
                hashlib.sha256(b"y" * 2048).digest()
                yield Progress(i, 10_000_000, f"line {i}")
        finally:
            finally_ran.set()

    runner.run("Recognising all pages", slow)
    assert widget.bar.isVisible() and widget.cancel_button.isVisible()
    qtbot.waitUntil(lambda: widget.bar.maximum() == 10_000_000, timeout=10_000)
    assert "Recognising all pages" in widget.label.text()
    with qtbot.waitSignal(runner.job_ended, timeout=10_000) as blocker:
        widget.cancel_button.click()
    assert blocker.args[1] == "cancelled"
    assert finally_ran.is_set()
    assert not widget.bar.isVisible() and not widget.cancel_button.isVisible()
    assert "cancelled" in widget.label.text()


def test_runner_shutdown_stops_a_running_job(qtbot):
    runner = JobRunner()
    started, stopped = threading.Event(), threading.Event()

    def forever(token):
        started.set()
        try:
            while True:
                token.check()
                yield Progress(0, None)
        finally:  # Cancelled from token.check(), or GeneratorExit when the driving loop closes the generator
            stopped.set()

    runner.run("Training", forever)
    # running, not only asked for: a job cancelled before its worker thread reaches it never runs at all.
    # (Clean-clone CI failed here: the test waited for Cancelled alone, but the loop noticing the cancel
    # between two items closes the generator instead; either way its finally blocks run.)
    assert started.wait(10)
    assert runner.shutdown(10_000)
    assert stopped.is_set()
    # one shut down right after it was asked for (its thread may not have reached it yet): shutdown returns in
    # time either way, nothing hangs
    again = JobRunner()
    again.run("Training", forever)
    assert again.shutdown(10_000)


def test_time_left_and_duration():
    assert time_left(Progress(0, 10), 5.0) is None
    assert time_left(Progress(5, None), 5.0) is None
    assert time_left(Progress(5, 10), 5.0) == pytest.approx(5.0)
    assert format_duration(42) == "0:42"
    assert format_duration(3903) == "1:05:03"


@pytest.mark.qt_no_exception_capture
def test_uncaught_exception_in_a_slot_becomes_an_error_dialog(qtbot, monkeypatch):
    """After install_excepthook, an exception escaping a slot is shown with its traceback, not lost."""
    import sys

    from PySide6.QtCore import QTimer

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    error_dialogs.install_excepthook()

    def broken_slot():
        {}["missing key"]

    QTimer.singleShot(0, broken_slot)
    qtbot.waitUntil(lambda: bool(error_dialogs.open_error_boxes()), timeout=5000)
    box = error_dialogs.open_error_boxes()[-1]
    assert "KeyError" in box.text() and "missing key" in box.text()
    assert "broken_slot" in box.detailedText()
    box.close()


def gated(name: str, gate: threading.Event, log: list):
    """A job that logs its start, waits for ``gate`` (checking the token) and logs its end."""

    def run(token: CancelToken):
        log.append(f"{name} start")
        while not gate.wait(0.01):
            token.check()
        log.append(f"{name} end")
        yield name

    return run


def test_io_lane_queues_jobs_beside_the_one_model_job(qtbot):
    from htrgui.qt.jobs import IO

    runner = JobRunner()
    log: list[str] = []
    gates = {k: threading.Event() for k in ("model", "io1", "io2", "io3")}
    ended: list[tuple[str, str]] = []
    model = runner.run("model", gated("model", gates["model"], log),
                       on_finished=lambda: ended.append(("model", "finished")))
    with pytest.raises(JobBusy):  # one model job at a time
        runner.run("another model job", gated("x", gates["model"], log))
    io1 = runner.run("io1", gated("io1", gates["io1"], log), lane=IO,
                     on_finished=lambda: ended.append(("io1", "finished")))
    io2 = runner.run("io2", gated("io2", gates["io2"], log), lane=IO,
                     on_cancelled=lambda: ended.append(("io2", "cancelled")))
    io3 = runner.run("io3", gated("io3", gates["io3"], log), lane=IO,
                     on_finished=lambda: ended.append(("io3", "finished")))
    qtbot.waitUntil(lambda: "io1 start" in log and "model start" in log, timeout=5000)  # side by side
    assert runner.busy and runner.io_pending() == 3 and not io2.started and io2.is_pending()
    io2.cancel()  # cancelled while waiting: never starts
    qtbot.waitUntil(lambda: ("io2", "cancelled") in ended, timeout=5000)
    assert not io2.is_pending() and runner.io_pending() == 2
    gates["io3"].set()
    time.sleep(0.1)
    assert "io3 start" not in log  # waits for io1
    gates["io1"].set()
    qtbot.waitUntil(lambda: ("io3", "finished") in ended, timeout=5000)
    assert log.index("io1 end") < log.index("io3 start") and "io2 start" not in log
    assert runner.busy  # the model job went on meanwhile
    gates["model"].set()
    qtbot.waitUntil(lambda: ("model", "finished") in ended, timeout=5000)
    assert not runner.busy and runner.io_pending() == 0 and model.outcome == io1.outcome == "finished"


def test_only_the_runner_starts_workers():
    """Every background job goes through JobRunner: no other module builds a GeneratorWorker."""
    import ast
    from pathlib import Path

    import htrgui

    root = Path(htrgui.__file__).parent
    builders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "GeneratorWorker":
                builders.append(path.relative_to(root).as_posix())
    assert builders == ["qt/jobs.py"]


def test_a_job_that_ends_after_its_window_was_torn_down_is_dropped(qtbot):
    """Closing the window deletes the runner while a job's end may still be queued: that end is dropped,
    never an exception in the event loop (it failed an unrelated later test once)."""
    from shiboken6 import delete

    runner = JobRunner()
    go = threading.Event()

    def job(token):
        go.wait(5)
        yield Progress(1, 1, "done")

    worker = runner.run("late", job)  # the model lane: its end stops the runner's progress timer
    delete(runner)   # the window and its runner go; the thread still runs
    go.set()
    assert worker.wait(5000)
    qtbot.wait(100)  # the queued end is delivered now (pytest-qt fails the test on an exception in a slot)
