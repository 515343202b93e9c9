"""Resumable training state: weights, EMA, TCM, optimiser, RNGs and position, written atomically.

The state lives beside the output model, in ``<model>.train/last.pt``; the shipped model (EMA weights of
the best validation) is written by the trainer to the output path itself. Both writes go through a
temporary file and ``os.replace``, so a cancelled or killed run always leaves the last complete files.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
import torch

from htrgui.core.errors import ModelError


def state_dir(model_path: Path | str) -> Path:
    p = Path(model_path)
    return p.with_name(p.name + ".train")


def atomic_torch_save(obj, path: Path) -> None:
    """torch.save through a temporary file in the same folder, then an atomic rename."""
    from htrgui.core.io import atomic_write_bytes

    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def rng_state(np_rng: np.random.Generator, py_rng: random.Random) -> dict:
    """Every RNG that drives a run (the original seeded torch only: runs were not reproducible)."""
    state = {"torch": torch.get_rng_state(), "numpy": np_rng.bit_generator.state, "python": py_rng.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict, np_rng: np.random.Generator, py_rng: random.Random) -> None:
    torch.set_rng_state(state["torch"])
    np_rng.bit_generator.state = state["numpy"]
    py_rng.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def load_state(path: Path) -> dict:
    """A training state written by :func:`atomic_torch_save`, on the CPU."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises many kinds for damaged files
        raise ModelError(f"{path}: cannot resume from this training state ({exc})") from None
    if not isinstance(state, dict) or state.get("kind") != "htrgui-train-state":
        raise ModelError(f"{path}: not an htrgui training state")
    return state
