"""Which torch device runs the model: one rule for recognition, training and fine-tuning.

``auto`` takes a usable CUDA GPU, then Apple's MPS (the macOS ``-mps`` build), else the CPU with the cores
this process may use. An explicit choice that this machine lacks is an error, never a silent fallback.
"""

from __future__ import annotations

import os

import torch

from htrgui.core.errors import ModelError


def mps_available() -> bool:
    """True when torch can use Apple's Metal GPU here."""
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def pick_device(choice: str = "auto") -> torch.device:
    """``auto``: CUDA if usable, then Apple MPS, else CPU. ``cuda``, ``cuda:N``, ``mps`` or ``cpu`` as asked."""
    if choice == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if choice.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError(f"--device {choice}: no usable CUDA GPU (run 'htrgui doctor' to see why)")
    if choice == "mps" and not mps_available():
        raise ModelError("--device mps: Apple MPS is not available here")
    return torch.device(choice)


def usable_cores() -> int:
    """Cores this process may run on (a container or taskset may allow fewer than the machine has)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)
