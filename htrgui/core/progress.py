"""Progress reports and cooperative cancellation for long work.

Long work is a generator that yields :class:`Progress` (and, where it produces results as it goes, result
objects). The caller owns the display (CLI line on stderr, Qt progress bar) and cancellation: it either stops
iterating (``gen.close()`` runs the generator's ``finally``) or sets a :class:`CancelToken` the work checks.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from htrgui.core.errors import Cancelled


@dataclass
class Progress:
    """How far a job is. ``total`` is None when unknown. ``info`` carries job-specific figures (loss, CER...)."""

    done: int
    total: int | None = None
    message: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, self.done / self.total)


class CancelToken:
    """A flag set by the caller (GUI thread, signal handler) and checked by the work between steps."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` if cancellation was asked for."""
        if self._event.is_set():
            raise Cancelled("cancelled")


class StderrReporter:
    """Prints progress on one line of stderr at most ``hz`` times a second (results go to files, not here)."""

    def __init__(self, stream: TextIO | None = None, hz: float = 4.0) -> None:
        self.stream = stream or sys.stderr
        self.min_dt = 1.0 / hz
        self._last = 0.0

    def __call__(self, p: Progress, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.min_dt and (p.total is None or p.done < p.total):
            return
        self._last = now
        total = f"/{p.total}" if p.total else ""
        extra = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in p.info.items())
        end = "\n" if not self.stream.isatty() or (p.total and p.done >= p.total) else "\r"
        self.stream.write(f"[{p.done}{total}] {p.message} {extra}".rstrip() + end)
        self.stream.flush()
