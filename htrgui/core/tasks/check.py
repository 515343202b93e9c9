"""The machine check: what the doctor reports (GPU or not) and, when asked, a short speed measurement."""

from __future__ import annotations

from typing import Iterator

from htrgui.core.progress import CancelToken


def machine_check(token: CancelToken | None = None, measure: bool = False, seconds: float = 1.5) -> Iterator[object]:
    """The doctor's report as a job: progress, then one ``DoctorReport`` (``measure``: with a speed test of
    about ``seconds``)."""
    from htrgui.core import doctor

    yield from doctor.check(measure, seconds=seconds, token=token)
