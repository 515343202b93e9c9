"""Real lines for the training tests: a few short pages of ../shared/data (poilus wills)."""

from __future__ import annotations

import pytest

PAGES = [
    "poilus/batch-1/TestamentsDePoilus_will_AN_0232-2",   # 8 lines
    "poilus/batch-1/TestamentsDePoilus_will_AN_0121-1",   # 9 lines
    "poilus/batch-1/TestamentsDePoilus_will_AD78_0076-0",  # 10 lines
]


@pytest.fixture(scope="session")
def page_files(shared_data):
    return [shared_data / f"{p}.xml" for p in PAGES]


@pytest.fixture(scope="session")
def real_lines(page_files):
    """LineSet of the three pages' lines (crops of height 64, texts, page tags)."""
    from htrgui.core.training.data import load_lineset

    return load_lineset([str(p) for p in page_files])


@pytest.fixture(scope="session")
def narrow_lines(real_lines):
    """The lines at half width (same text): cheap steps for tests that only need real handwriting."""
    import cv2

    from htrgui.core.training.data import LineSet

    out = LineSet()
    for im, t, p in zip(real_lines.images, real_lines.texts, real_lines.pages):
        out.add(cv2.resize(im, (max(16, im.shape[1] * 2 // 3), 64), interpolation=cv2.INTER_AREA), t, p)
    return out
