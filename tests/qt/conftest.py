"""Fixtures of the main-window tests: a folder of real scans copied from ../shared/data, and the real window."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

#: Two short wills (12 and 7 lines): small enough to keep the tests fast on 2 cores.
POILUS_PAGES = ["poilus/batch-1/TestamentsDePoilus_will_AD78_0005-1",
                "poilus/batch-1/TestamentsDePoilus_will_AD78_0037-0"]


def copy_pages(shared_data: Path, folder: Path, pages: list[str], with_xml: bool) -> Path:
    """Copy scans (and their eScriptorium ALTO when ``with_xml``) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem in pages:
        src = shared_data / stem
        shutil.copy(src.with_suffix(".jpg"), folder)
        if with_xml:
            shutil.copy(src.with_suffix(".xml"), folder)
    return folder


@pytest.fixture
def scans(shared_data, tmp_path) -> Path:
    """A folder of two real scans without any transcription."""
    return copy_pages(shared_data, tmp_path / "scans", POILUS_PAGES, with_xml=False)


@pytest.fixture
def transcribed(shared_data, tmp_path) -> Path:
    """A folder of two real scans with their ground-truth ALTO beside them."""
    return copy_pages(shared_data, tmp_path / "transcribed", POILUS_PAGES, with_xml=True)


@pytest.fixture
def window(qtbot):
    """The real main window, shown offscreen, with a short autosave delay."""
    from htrgui.qt.main_window import MainWindow

    win = MainWindow(autosave_ms=200)
    qtbot.addWidget(win)
    win.resize(1300, 850)
    win.show()
    yield win
    win.runner.shutdown()
    win.session.close()


@pytest.fixture
def tiny_model(shared_data, tmp_path) -> Path:
    """An untrained ``tiny`` HTR-ConvText checkpoint whose alphabet is that of the real pages.

    Its blank is made less likely so that it writes something on every line (untrained, it reads nonsense
    with low confidence: enough to drive the window, not to judge recognition).
    """
    import torch

    from htrgui.core.io import read_document
    from htrgui.core.recognition.checkpoint import save_checkpoint
    from htrgui.core.recognition.codec import Codec
    from htrgui.core.recognition.model import build_model

    texts = [line.text for stem in POILUS_PAGES
             for line in read_document((shared_data / stem).with_suffix(".xml")).lines()]
    codec = Codec.from_texts(texts)
    torch.manual_seed(0)
    model = build_model("tiny", num_classes=codec.num_classes)
    with torch.no_grad():
        model.head.bias[0] -= 3.0
    return save_checkpoint(tmp_path / "tiny-test.pt", model, codec, half=False,
                           provenance={"name": "tiny-test", "data": "untrained, for tests"})
