"""The one job runner of the window, with two lanes, and the status-bar widget that shows its model job.

Every background job goes through :class:`JobRunner` (nothing else starts a :class:`GeneratorWorker`):

- the **model lane** (``MODEL``): segment, recognise, fine-tune, speed test. These share the CPU/GPU and the
  model in memory, so running two at once only makes both slower and risks two writers on one page: a second
  one is refused (:class:`JobBusy`) and ``busy_changed`` lets the window grey out its actions. A
  *background* model job (the model learning while the user corrects) is the exception: it gives way. A job
  asked for while one runs in the background cancels it and starts as soon as it has stopped (after its
  current step), so the user never waits for, nor is refused because of, work they did not ask for.
- the **I/O lane** (``IO``): reading and writing pages, export, counting verified pages, reading model cards,
  importing a model, finding the next uncertain line. These are queued and run one after another, beside the
  model job.
- the **view lane** (``VIEW``): decoding what the window is about to show (the page image, thumbnails). Queued
  like I/O but apart from it, so a long export never delays a page switch; a newer request of the same
  ``title`` drops an older one still waiting (the person has moved on).

Progress reaching the display is throttled to about 10 Hz: recognising a page can yield hundreds of updates a
second, and repainting for each would cost more than the work.
"""

from __future__ import annotations

import gc
import time
from typing import Callable

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget
from shiboken6 import isValid

from htrgui.core.errors import HtrError
from htrgui.core.progress import Progress
from htrgui.qt.workers import Factory, GeneratorWorker

#: Minimum time between two progress updates shown to the user (seconds).
PROGRESS_INTERVAL_S = 0.1

#: The lanes of :class:`JobRunner`.
MODEL = "model"
IO = "io"
VIEW = "view"


class JobBusy(HtrError):
    """Raised by :meth:`JobRunner.run` while another job is running."""


def format_duration(seconds: float) -> str:
    """``0:42`` or ``1:05:03``: a short duration for "time left"."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def time_left(progress: Progress, elapsed_s: float) -> float | None:
    """Seconds left, extrapolated from the rate so far; None when it cannot be told yet."""
    if not progress.total or progress.done <= 0 or elapsed_s <= 0:
        return None
    rate = progress.done / elapsed_s
    return max(0.0, (progress.total - progress.done) / rate)


class JobRunner(QObject):
    """Runs every background job: one model job at a time (reported to the window), I/O jobs queued.

    Signals (model lane): ``busy_changed(bool)``; ``job_started(title)``; ``job_progress(Progress)`` throttled
    to ~10 Hz; ``job_ended(title, outcome, message)`` with outcome ``finished``, ``failed`` or ``cancelled``.
    I/O jobs report to their own callbacks only (the dialog that asked shows them).
    """

    busy_changed = Signal(bool)
    job_started = Signal(str)
    job_progress = Signal(object)
    job_ended = Signal(str, str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker: GeneratorWorker | None = None
        self._background = False  # the running model job gives way to the next one asked for
        self._queued: tuple[GeneratorWorker, str] | None = None  # the job waiting for a background job to stop
        self._title = ""
        self._started_at = 0.0
        self._pending: Progress | None = None
        self._last: Progress | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(int(PROGRESS_INTERVAL_S * 1000))
        self._timer.timeout.connect(self._flush)
        # per queued lane: the running job first, then those waiting (with their titles)
        self._queues: dict[str, list[tuple[str, GeneratorWorker]]] = {IO: [], VIEW: []}

    @property
    def busy(self) -> bool:
        return self._worker is not None

    @property
    def background(self) -> bool:
        """True while the running model job is a background job (it gives way to any other)."""
        return self._worker is not None and self._background

    @property
    def blocking(self) -> bool:
        """True while a model job runs that another job would have to wait for (not a background one)."""
        return self._worker is not None and (not self._background or self._queued is not None)

    @property
    def queued(self) -> bool:
        """True while a job waits for a background job to stop."""
        return self._queued is not None

    @property
    def title(self) -> str:
        """Title of the running job ("" when idle)."""
        return self._title

    @property
    def worker(self) -> GeneratorWorker | None:
        return self._worker

    @property
    def last_progress(self) -> Progress | None:
        """The latest progress of the running job (not throttled)."""
        return self._last

    def elapsed(self) -> float:
        """Seconds since the running job started (0 when idle)."""
        return time.monotonic() - self._started_at if self._worker is not None else 0.0

    def run(self, title: str, factory: Factory, on_item: Callable[[object], None] | None = None,
            on_finished: Callable[[], None] | None = None,
            on_failed: Callable[[str, str], None] | None = None,
            on_cancelled: Callable[[], None] | None = None, *, lane: str = MODEL,
            on_progress: Callable[[Progress], None] | None = None, background: bool = False) -> GeneratorWorker:
        """Start ``factory`` in ``lane``. Callbacks run on the GUI thread; ``on_progress`` gets every progress.

        Without ``on_failed`` a failure is shown in an error dialog (never only on the console). In the model
        lane, raises :class:`JobBusy` when a model job is already running; in the I/O lane the job waits for
        the one before it (the worker is returned at once, started in its turn). ``background`` (model lane):
        the job gives way to any job asked for while it runs (it is cancelled, and the other starts when it has
        stopped: the worker returned is then not started yet); a background job is refused while another job
        runs, and any job while one waits for a background job to stop.
        """
        if lane == MODEL and self._worker is not None and (background or not self._background
                                                          or self._queued is not None):
            raise JobBusy(f"cannot start \u201c{title}\u201d: \u201c{self._title}\u201d is still running")
        # No Qt parent: a dialog that asked may be deleted before the thread ends (_ALIVE keeps the worker).
        worker = GeneratorWorker(factory)
        if on_item is not None:
            worker.item.connect(on_item)
        if on_progress is not None:
            worker.progress.connect(on_progress)
        if lane in self._queues:
            # what an I/O job brings (pages, images) stays: out of the collector's reach as it comes (O(1))
            worker.item.connect(settle_memory)
            queue = self._queues[lane]
            if lane == VIEW:
                for waiting_title, waiting in queue:
                    if waiting_title == title and not waiting.started:
                        waiting.cancel()
            worker.finished.connect(lambda: self._lane_end(lane, worker, title, "finished", "", "", on_finished))
            worker.cancelled.connect(lambda: self._lane_end(lane, worker, title, "cancelled", "", "", on_cancelled))
            worker.failed.connect(lambda msg, details: self._lane_end(lane, worker, title, "failed", msg, details,
                                                                      on_failed))
            queue.append((title, worker))
            if len(queue) == 1:
                worker.start()
            return worker
        worker.progress.connect(self._on_progress)
        # The callbacks run from _end once the runner is idle again, so a callback may start the next job.
        worker.finished.connect(lambda: self._end(worker, "finished", "", "", on_finished))
        worker.cancelled.connect(lambda: self._end(worker, "cancelled", "", "", on_cancelled))
        worker.failed.connect(lambda msg, details: self._end(worker, "failed", msg, details, on_failed))
        if self._worker is not None:  # a background job runs: it stops, then this one starts (_end)
            self._queued = (worker, title)
            self._worker.cancel()
            self.busy_changed.emit(True)  # now blocking: the window greys out what waits for it
            return worker
        self._start(worker, title, background)
        return worker

    def _start(self, worker: GeneratorWorker, title: str, background: bool) -> None:
        self._worker = worker
        self._background = background
        self._title = title
        self._started_at = time.monotonic()
        self._pending = self._last = None
        worker.start()
        self.job_started.emit(title)
        self.busy_changed.emit(True)

    def io_pending(self, lane: str = IO) -> int:
        """Jobs of a queued lane running or waiting."""
        return len(self._queues[lane])

    def _lane_end(self, lane: str, worker: GeneratorWorker, title: str, outcome: str, message: str, details: str,
                  callback: Callable[..., None] | None) -> None:
        settle_memory()  # what the job read (pages of a project, model cards) lives on
        queue = self._queues[lane]
        queue[:] = [(t, w) for t, w in queue if w is not worker]
        # the next one starts before the callback runs, so a callback may queue another behind it (one
        # cancelled while waiting does not start: its own "cancelled" removes it and starts the next)
        if queue and not queue[0][1].started and not queue[0][1].token.cancelled:
            queue[0][1].start()
        _report(title, outcome, message, details, callback)

    def cancel(self) -> None:
        """Ask the running model job to stop, and the one waiting for it if any (no-op when idle)."""
        if self._queued is not None:
            self._queued[0].cancel()
        if self._worker is not None:
            self._worker.cancel()

    def shutdown(self, msecs: int = 10_000) -> bool:
        """Cancel every job, running or waiting, and wait for their threads (the window's closeEvent)."""
        self._queued = None  # the window closes: what waited for a background job never starts
        workers = ([self._worker] if self._worker is not None else []) + [
            w for queue in self._queues.values() for _t, w in queue]
        for worker in workers:
            worker.cancel()
        return all([worker.wait(msecs) for worker in workers])

    @Slot(object)
    def _on_progress(self, progress: Progress) -> None:
        self._last = progress
        if self._timer.isActive():
            self._pending = progress
            return
        self.job_progress.emit(progress)
        self._timer.start()

    @Slot()
    def _flush(self) -> None:
        if self._pending is None:
            self._timer.stop()
            return
        pending, self._pending = self._pending, None
        self.job_progress.emit(pending)

    def _end(self, worker: GeneratorWorker, outcome: str, message: str, details: str,
             callback: Callable[..., None] | None) -> None:
        if not (isValid(self) and isValid(self._timer)):
            return  # a job's end queued as its window was torn down: nobody is left to tell
        if worker is not self._worker:
            if self._queued is not None and self._queued[0] is worker:
                # cancelled while it waited for a background job to stop: it never started, and never will
                title, self._queued = self._queued[1], None
                self.busy_changed.emit(True)  # the background job still runs, no longer blocking
                _report(title, outcome, message, details, callback)
            return
        if self._pending is not None:
            self.job_progress.emit(self._pending)
        self._timer.stop()
        title = self._title
        self._worker = None
        self._background = False
        self._title = ""
        self._pending = None
        self.job_ended.emit(title, outcome, message)
        queued, self._queued = self._queued, None
        if queued is not None:  # the job that waited for this background job: the runner is never idle between
            self._start(queued[0], queued[1], False)
        else:
            self.busy_changed.emit(False)
        _report(title, outcome, message, details, callback)


def settle_memory(*_args) -> None:
    """Move every object alive now (torch, the models, the pages read) out of the garbage collector's reach.
    Its full collections otherwise walk them all and stop every thread: 0.1-0.5 s with torch loaded or a
    300-page project in memory (measured), which freezes the window. Objects still die by reference count."""
    gc.freeze()


def release_memory() -> None:
    """Give frozen objects back to the collector once what :func:`settle_memory` kept out of its reach is
    dropped (a project closed): garbage cycles frozen with it would otherwise stay for the whole session.
    One full collection, at a moment the person chose (closing), not in the middle of their work."""
    gc.unfreeze()
    gc.collect()


def _report(title: str, outcome: str, message: str, details: str, callback: Callable[..., None] | None) -> None:
    """Hand a job's end to its callback; a failure nobody handles is shown in an error dialog. The callback of
    a dialog deleted meanwhile is dropped (as Qt drops a deleted receiver's connections)."""
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, QObject) and not isValid(owner):
        return
    if outcome == "failed":
        if callback is not None:
            callback(message, details)
        else:
            from htrgui.qt.dialogs.errors import show_error

            show_error(None, f"{title} failed", message, details)
    elif callback is not None:
        callback()


class JobStatusWidget(QWidget):
    """Progress bar, message and cancel button of the running job, for the main window's status bar."""

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self.label = QLabel(self)
        self.bar = QProgressBar(self)
        self.bar.setMaximumWidth(220)
        self.bar.setTextVisible(True)
        self.cancel_button = QToolButton(self)
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Stop the running job; what is done so far is kept")
        _set_icon(self.cancel_button, "mdi6.close-circle-outline")
        self.cancel_button.clicked.connect(self._on_cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        runner.job_started.connect(self._on_started)
        runner.job_progress.connect(self._on_progress)
        runner.job_ended.connect(self._on_ended)
        self._set_idle("")

    def _set_idle(self, message: str) -> None:
        self.bar.hide()
        self.cancel_button.hide()
        self.label.setText(message)

    @Slot(str)
    def _on_started(self, title: str) -> None:
        self.label.setText(title)
        self.bar.setRange(0, 0)  # busy indicator until the first progress says how much there is
        self.bar.show()
        self.cancel_button.setEnabled(True)
        self.cancel_button.show()

    @Slot(object)
    def _on_progress(self, progress: Progress) -> None:
        if progress.total:
            self.bar.setRange(0, progress.total)
            self.bar.setValue(min(progress.done, progress.total))
        else:
            self.bar.setRange(0, 0)
        text = f"{self._runner.title}: {progress.message}" if progress.message else self._runner.title
        # The job's own estimate when it has one (training knows its time budget), else the rate so far.
        left = progress.info.get("eta_s")
        if not isinstance(left, (int, float)):
            left = time_left(progress, self._runner.elapsed())
        if left is not None and self._runner.elapsed() > 2.0:
            text += f" \u2014 {format_duration(left)} left"
        self.label.setText(text)

    @Slot(str, str, str)
    def _on_ended(self, title: str, outcome: str, message: str) -> None:
        words = {"finished": "done", "cancelled": "cancelled", "failed": "failed"}
        self._set_idle(f"{title}: {words.get(outcome, outcome)}")

    @Slot()
    def _on_cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.label.setText(f"{self._runner.title}: cancelling\u2026")
        self._runner.cancel()


def _set_icon(button: QToolButton, name: str) -> None:
    """A qtawesome icon when available (it needs a running QApplication and its fonts)."""
    try:
        import qtawesome

        button.setIcon(qtawesome.icon(name))
    except Exception:  # noqa: BLE001 - an icon is decoration; the text stays
        pass
