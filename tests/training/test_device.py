"""One device rule for recognition and training: fine-tuning uses Apple's GPU where recognition does."""

from __future__ import annotations

import pytest
import torch

from htrgui.core.device import pick_device
from htrgui.core.errors import ModelError
from htrgui.core.training.data import LineSet
from htrgui.core.training.trainer import TrainConfig, train


def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch):
    if not hasattr(torch.backends, "mps"):
        pytest.skip("this torch has no MPS backend module")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert pick_device("auto").type == "mps"  # a Mac's GPU: the trainer's copy used to ignore it
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert pick_device("auto").type == "cpu"
    with pytest.raises(ModelError, match="MPS is not available"):
        pick_device("mps")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_training_on_a_missing_gpu_fails_like_recognition(tmp_path):
    with pytest.raises(ModelError, match="no usable CUDA GPU"):
        next(train(LineSet(), None, tmp_path / "m.pt", TrainConfig(device="cuda")))
    with pytest.raises(ModelError, match="no usable CUDA GPU"):
        next(train(LineSet(), None, tmp_path / "m.pt", TrainConfig(device="cuda:1")))
