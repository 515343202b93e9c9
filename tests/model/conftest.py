"""One torch thread per test here: these models are small, and on a busy CI machine two OpenMP threads
that spin-wait for each other are many times slower than one."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
