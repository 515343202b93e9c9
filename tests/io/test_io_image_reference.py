"""How a written PAGE file names its image, and that reading it back finds the image again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from htrgui.core.io import image_reference, resolve_image


def test_image_reference_round_trips(tmp_path):
    scans = tmp_path / "archive" / "box1"
    scans.mkdir(parents=True)
    image = scans / "f 001.jpg"
    Image.fromarray(np.full((20, 30), 200, np.uint8)).save(image)
    far = tmp_path / "exports" / "2026" / "pages"
    far.mkdir(parents=True)
    cases = {scans: "f 001.jpg", scans / "page": "../f 001.jpg", far: str(image.resolve())}
    for folder, expected in cases.items():
        folder.mkdir(exist_ok=True)
        ref = image_reference(image, folder)
        assert ref == expected
        assert resolve_image(folder / "f 001.xml", ref) == image.resolve()
    # the bare name and the page/ layout survive moving the whole archive
    moved = tmp_path / "moved"
    (tmp_path / "archive").rename(moved)
    assert resolve_image(moved / "box1" / "page" / "f 001.xml", "../f 001.jpg") == (moved / "box1" / "f 001.jpg")
    assert resolve_image(far / "f 001.xml", str(image.resolve())) is None  # gone: the reader says so
    assert Path(image_reference(moved / "box1" / "f 001.jpg", far)).is_absolute()
