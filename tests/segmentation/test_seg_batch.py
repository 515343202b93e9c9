"""Segmenting many files: progress, one error per bad file, cancellation between pages."""

from __future__ import annotations

import cv2
import pytest
from segsynth import text_page

from htrgui.core.errors import Cancelled
from htrgui.core.progress import CancelToken, Progress
from htrgui.core.tasks.segment import Segmented, segment_files


@pytest.fixture
def images(tmp_path):
    paths = []
    for k in range(2):
        img, _ = text_page(3 + k, seed=k)
        path = tmp_path / f"page{k}.png"
        cv2.imwrite(str(path), img)
        paths.append(path)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG but not really")
    return paths[:1] + [bad] + paths[1:]


def test_batch_reports_progress_results_and_errors(images):
    items = list(segment_files(images))
    results = [i for i in items if isinstance(i, Segmented)]
    assert [r.stem for r in results] == ["page0", "bad", "page1"]
    assert results[1].page is None and "bad.png" in results[1].error
    assert [r.page.counts().lines for r in (results[0], results[2])] == [3, 4]
    assert results[0].page.image_filename == "page0.png" and results[0].page.width == 1200
    progress = [i for i in items if isinstance(i, Progress)]
    assert progress[-1].done == progress[-1].total == 3


def test_batch_stops_when_cancelled(images):
    token = CancelToken()
    gen = segment_files(images, cancel=token)
    first = next(gen)
    assert isinstance(first, Progress)
    token.cancel()
    assert isinstance(next(gen), Segmented)  # the page under way finishes
    with pytest.raises(Cancelled):
        list(gen)
