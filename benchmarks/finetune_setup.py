"""What the fine-tuning benchmarks (adaptation.py, continuous.py) share: a private, empty data folder and
the shared data's splits."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def private_run(shared: str | Path, threads: int | None) -> tuple[Path, dict]:
    """Point htrgui at an empty data folder (the replay store and this machine's speed figure start empty,
    so figures do not depend on earlier fine-tunes here), set torch's threads; the data folder and
    splits.json. Call before importing htrgui's training modules."""
    os.environ["HTRGUI_HOME"] = tempfile.mkdtemp(prefix="htrgui-bench-")
    import torch

    if threads:
        torch.set_num_threads(threads)
    data = Path(shared) / "data"
    return data, json.loads((data / "splits.json").read_text(encoding="utf-8"))
