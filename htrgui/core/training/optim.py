"""Optimisation pieces of the recipe (model.md 6.1-6.3), with the original code's bugs fixed.

- :func:`cosine_lr`: linear warm-up, then cosine decay measured from the *end* of the warm-up (the original
  used ``it`` instead of ``it - warmup`` and rebounded at the end of a run).
- :func:`param_groups`: no weight decay on norms, biases, LayerScale gammas, tables and embeddings.
- :class:`ModelEma`: floating-point weights and statistics are averaged, integer counters copied.
- :class:`SAM`: sharpness-aware minimisation whose ``state_dict`` holds the base optimiser's state too, so
  a resumed run continues Adam's moments instead of silently restarting them; its second forward pass runs
  under :func:`frozen_bn_stats`, so BatchNorm statistics move once per step, from the real weights.
"""

from __future__ import annotations

import contextlib
import copy
import math
from typing import Iterator

import torch
from torch import nn


def cosine_lr(fraction: float, step: int, peak: float, warmup_steps: int, floor: float = 1e-7,
              warmup_fraction: float | None = None) -> float:
    """Learning rate at ``step`` (warm-up) and run ``fraction`` in [0, 1] (cosine part).

    The cosine is driven by the fraction of the run done (steps or time, whichever the caller measures),
    starting where the warm-up ends; ``warmup_fraction`` is that fraction at the end of the warm-up.
    """
    if step < warmup_steps:
        return peak * (step + 1) / (warmup_steps + 1)
    start = warmup_fraction or 0.0
    span = max(1e-9, 1.0 - start)
    t = min(1.0, max(0.0, (fraction - start) / span))
    return floor + (peak - floor) * 0.5 * (1.0 + math.cos(math.pi * t))


def param_groups(modules: list[nn.Module], weight_decay: float) -> list[dict]:
    """Two AdamW groups: matrices and conv kernels decay; 1-D tensors (norms, biases, gammas) and tables do not."""
    decay, no_decay = [], []
    for module in modules:
        for name, p in module.named_parameters():
            if not p.requires_grad:
                continue
            table = "rel_bias" in name or name.endswith("emb.weight") or "dir_" in name
            (no_decay if p.ndim <= 1 or table else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


class ModelEma:
    """Exponential moving average of a model; decay warms up as min(max_decay, (1+n)/(10+n))."""

    def __init__(self, model: nn.Module, max_decay: float = 0.9999) -> None:
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.max_decay = max_decay
        self.updates = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        n = self.updates
        decay = min(self.max_decay, (1.0 + n) / (10.0 + n))
        current = model.state_dict()
        for name, avg in self.module.state_dict().items():
            value = current[name].detach()
            if avg.dtype.is_floating_point:
                avg.mul_(decay).add_(value.to(avg.dtype), alpha=1.0 - decay)
            else:
                avg.copy_(value)

    def state_dict(self) -> dict:
        return {"module": self.module.state_dict(), "updates": self.updates, "max_decay": self.max_decay}

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state["module"])
        self.updates = int(state["updates"])
        self.max_decay = float(state.get("max_decay", self.max_decay))


@contextlib.contextmanager
def frozen_bn_stats(model: nn.Module) -> Iterator[None]:
    """BatchNorm layers in training mode keep normalising with the batch's statistics but update neither
    their running statistics nor ``num_batches_tracked`` (SAM's second pass at the perturbed weights).
    Layers in eval mode are left alone (they already use, and keep, their running statistics)."""
    layers = [m for m in model.modules()
              if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training and m.track_running_stats]
    for m in layers:
        m.track_running_stats = False  # in training mode: batch statistics, nothing written back
    try:
        yield
    finally:
        for m in layers:
            m.track_running_stats = True


class SAM:
    """Sharpness-aware minimisation around a base optimiser (non-adaptive, rho 0.05).

    Use: loss.backward(); sam.first_step(); loss2 (its forward under :func:`frozen_bn_stats`).backward();
    sam.second_step().
    """

    def __init__(self, base: torch.optim.Optimizer, rho: float = 0.05) -> None:
        self.base = base
        self.rho = rho
        self._saved: dict[torch.nn.Parameter, torch.Tensor] = {}

    @property
    def param_groups(self) -> list[dict]:
        return self.base.param_groups

    def _params(self):
        for group in self.base.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    yield p

    @torch.no_grad()
    def first_step(self) -> None:
        """Move to the worst nearby point w + rho * g / |g| (global norm) and clear the gradients."""
        params = list(self._params())
        if not params:
            return
        norm = torch.norm(torch.stack([p.grad.norm(2) for p in params]), 2)
        scale = self.rho / (norm + 1e-12)
        for p in params:
            self._saved[p] = p.detach().clone()
            p.add_(p.grad * scale)
        self.base.zero_grad(set_to_none=True)

    @torch.no_grad()
    def second_step(self) -> None:
        """Restore the weights and step the base optimiser with the gradients taken at the perturbed point."""
        for p, w in self._saved.items():
            p.copy_(w)
        self._saved.clear()
        self.base.step()
        self.base.zero_grad(set_to_none=True)

    @torch.no_grad()
    def restore(self) -> None:
        """Give up this step: the weights as they were before :meth:`first_step`, no update, no gradients."""
        for p, w in self._saved.items():
            p.copy_(w)
        self._saved.clear()
        self.base.zero_grad(set_to_none=True)

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.base.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict:
        return {"base": self.base.state_dict(), "rho": self.rho}

    def load_state_dict(self, state: dict) -> None:
        self.base.load_state_dict(state["base"])
        self.rho = float(state.get("rho", self.rho))
