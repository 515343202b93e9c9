"""Run a core generator in its own thread and hand what it yields to the GUI thread as signals.

Long work in :mod:`htrgui.core` is a generator yielding :class:`~htrgui.core.progress.Progress` and result
objects. :class:`GeneratorWorker` drives one such generator in a :class:`QThread`: every ``Progress`` becomes a
``progress`` signal, everything else an ``item`` signal, and exactly one of ``finished``, ``failed`` or
``cancelled`` ends the run. The signals are delivered on the GUI thread (queued), so slots may touch widgets and
the document; the generator itself must never do so.

Cancelling is cooperative: :meth:`GeneratorWorker.cancel` sets the :class:`CancelToken` the factory received
(work that checks it stops inside a long step) and the driving loop ``close()``s the generator before asking it
for the next item, which runs its ``finally`` blocks in the worker thread.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
import traceback
from typing import Callable, Iterator

from PySide6.QtCore import QElapsedTimer, QObject, QThread, QTimer, Signal, Slot

from htrgui.core.errors import Cancelled, HtrError
from htrgui.core.progress import CancelToken, Progress

Factory = Callable[[CancelToken], Iterator[object]]

#: How much lower than the GUI thread a worker thread runs (Unix nice increment). The GUI thread must win the
#: CPU whenever it has something to do; the job loses a little speed only while the user is interacting.
WORKER_NICE = 5

#: Bare progress ticks closer together than this are merged (the latest wins); see ``_DriverThread.run``.
PROGRESS_INTERVAL_S = 0.04

#: Workers whose thread is still alive. Holding them here means a caller that drops its reference cannot
#: destroy a running QThread (which aborts the process).
_ALIVE: set["GeneratorWorker"] = set()


def describe_error(exc: BaseException) -> str:
    """A one-line message for a user: our own errors speak for themselves, others get their type name."""
    if isinstance(exc, HtrError):
        return str(exc) or type(exc).__name__
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def lower_thread_priority(increment: int = WORKER_NICE) -> bool:
    """Make the calling thread (and the threads it starts, e.g. torch's pool) nicer than the GUI thread.

    Linux schedules threads individually, so ``setpriority`` on the thread id affects this thread only. Other
    systems get :meth:`QThread.start`'s ``LowPriority`` instead (honoured on Windows and macOS).
    """
    if not sys.platform.startswith("linux") or increment <= 0:
        return False
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + increment))
        return True
    except (OSError, AttributeError):
        return False


class _DriverThread(QThread):
    """Iterates the generator; its signals are emitted from the worker thread and queued to the GUI thread."""

    yielded = Signal(object)
    ended = Signal(str, str, str)  # outcome ("finished" | "failed" | "cancelled"), message, details

    def __init__(self, factory: Factory, token: CancelToken) -> None:
        super().__init__()
        self._factory = factory
        self._token = token

    def run(self) -> None:  # noqa: D401 - Qt override, runs in the worker thread
        lower_thread_priority()
        gen: Iterator[object] | None = None
        try:
            gen = self._factory(self._token)
            pending: Progress | None = None
            last_emit = 0.0
            for obj in gen:
                # Bare progress ticks (no figures in ``info``) are coalesced: a generator yielding every
                # millisecond would otherwise flood the GUI thread's event queue, and each queued signal needs
                # the GIL back from this thread, so timers and repaints starve (measured: one 232 ms gap per
                # second). Progress carrying figures (loss, CER, a result) and all items are always delivered.
                if isinstance(obj, Progress) and not obj.info:
                    now = time.monotonic()
                    if now - last_emit < PROGRESS_INTERVAL_S:
                        pending = obj
                        continue
                    last_emit = now
                elif pending is not None:
                    self.yielded.emit(pending)
                pending = None
                self.yielded.emit(obj)
                if self._token.cancelled:
                    break
            if pending is not None and not self._token.cancelled:
                self.yielded.emit(pending)
            if self._token.cancelled:
                self._close(gen)
                self.ended.emit("cancelled", "cancelled", "")
            else:
                self.ended.emit("finished", "", "")
        except Cancelled:
            self.ended.emit("cancelled", "cancelled", "")
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the user, never the console
            # A generator that raises after cancel() was asked for is reported as cancelled, not as a failure:
            # torch or file handles torn down mid-step often raise something unhelpful.
            if self._token.cancelled:
                self.ended.emit("cancelled", "cancelled", "")
            else:
                self.ended.emit("failed", describe_error(exc), traceback.format_exc())
        finally:
            if gen is not None:
                self._close(gen)

    @staticmethod
    def _close(gen: Iterator[object]) -> None:
        """Close the generator (runs its ``finally``); a failure while closing must not hide the outcome."""
        close = getattr(gen, "close", None)
        if close is None:
            return
        try:
            close()
        except Exception:  # noqa: BLE001 - the run's outcome is already decided
            traceback.print_exc()


class GeneratorWorker(QObject):
    """Runs ``factory(token)`` in a worker thread and forwards what the generator yields as signals.

    Signals (all delivered on the thread that owns this object, normally the GUI thread):
    ``progress(object)`` for each yielded :class:`Progress`, ``item(object)`` for every other yielded object,
    then exactly one of ``finished()``, ``failed(message, details)`` or ``cancelled()``.
    A worker runs once; create a new one to run again.
    """

    progress = Signal(object)
    item = Signal(object)
    finished = Signal()
    failed = Signal(str, str)
    cancelled = Signal()

    def __init__(self, factory: Factory, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._factory = factory
        self._token = CancelToken()
        self._thread: _DriverThread | None = None
        self._running = False
        self._outcome = ""

    @property
    def token(self) -> CancelToken:
        return self._token

    @property
    def outcome(self) -> str:
        """``""`` until the run ended, then ``finished``, ``failed`` or ``cancelled``."""
        return self._outcome

    def start(self) -> None:
        """Start the generator in a new thread. Raises RuntimeError if this worker already ran."""
        if self._thread is not None:
            raise RuntimeError("a GeneratorWorker runs once; create a new one")
        if self._token.cancelled:
            return  # cancelled before its turn: its ``cancelled`` signal is on its way
        thread = _DriverThread(self._factory, self._token)
        thread.yielded.connect(self._on_yielded)
        thread.ended.connect(self._on_ended)
        thread.finished.connect(self._on_thread_done)
        self._thread = thread
        self._running = True
        _ALIVE.add(self)
        thread.start(QThread.Priority.LowPriority)

    def cancel(self) -> None:
        """Ask the work to stop: sets the token now; the generator is closed before its next item. A worker
        not started yet (waiting in a lane) will never start and ends as ``cancelled`` from the event loop."""
        if self._thread is None and not self._token.cancelled and not self._outcome:
            QTimer.singleShot(0, self, lambda: self._on_ended("cancelled", "cancelled", ""))
        self._token.cancel()

    def is_running(self) -> bool:
        """True from :meth:`start` until the ending signal was delivered."""
        return self._running

    @property
    def started(self) -> bool:
        return self._thread is not None

    def is_pending(self) -> bool:
        """True until the ending signal was delivered, waiting for its turn included (the runner's I/O lane)."""
        return self._running if self.started else not self._outcome and not self._token.cancelled

    def wait(self, msecs: int = 30_000) -> bool:
        """Block until the thread ended (for shutdown and tests); True if it did within ``msecs``."""
        return True if self._thread is None else self._thread.wait(msecs)

    @Slot(object)
    def _on_yielded(self, obj: object) -> None:
        if isinstance(obj, Progress):
            self.progress.emit(obj)
        else:
            self.item.emit(obj)

    @Slot(str, str, str)
    def _on_ended(self, outcome: str, message: str, details: str) -> None:
        self._running = False
        self._outcome = outcome
        if outcome == "finished":
            self.finished.emit()
        elif outcome == "cancelled":
            self.cancelled.emit()
        else:
            self.failed.emit(message, details)

    @Slot()
    def _on_thread_done(self) -> None:
        # ``finished`` is emitted just before the thread really exits: wait for it so that dropping the last
        # reference never destroys a QThread that is still running.
        if self._thread is not None:
            self._thread.wait()
        _ALIVE.discard(self)


def wait_all(msecs: int = 30_000) -> bool:
    """Cancel every running worker and wait for their threads (call before the application quits)."""
    ok = True
    for worker in list(_ALIVE):
        worker.cancel()
        ok = worker.wait(msecs) and ok
    return ok


class EventLoopMonitor(QObject):
    """Measures how long the event loop of this thread goes without running a timer (tests, benchmarks).

    A timer asks to fire every ``interval_ms``; each gap between two firings is recorded. A gap much longer
    than the interval means the loop was blocked (or the process was not scheduled) for that long.
    """

    def __init__(self, interval_ms: int = 10, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.gaps_ms: list[int] = []
        self._clock = QElapsedTimer()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.gaps_ms.clear()
        self._clock.start()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    @Slot()
    def _tick(self) -> None:
        self.gaps_ms.append(self._clock.restart())

    def stats(self) -> dict[str, float]:
        """``{"ticks", "p50_ms", "p99_ms", "max_ms"}`` of the recorded gaps (zeros when none)."""
        gaps = sorted(self.gaps_ms)
        if not gaps:
            return {"ticks": 0, "p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}

        def pick(q: float) -> float:
            return float(gaps[min(len(gaps) - 1, int(q * len(gaps)))])

        return {"ticks": len(gaps), "p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": float(gaps[-1])}


# A QThread destroyed while running aborts the process: at interpreter exit, stop and join what still runs.
atexit.register(wait_all, 5_000)
