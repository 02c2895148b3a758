"""Optimizers over a stack's flat parameter buffer (SGD, Adam with its fused-kernel fast path) and the lr schedules."""
from __future__ import annotations

import inspect
import math
from typing import Any

import torch
from torch import Tensor

from .rules import Choice

OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "cosine")
OPTIMIZER, SCHEDULE = Choice(OPTIMIZERS), Choice(SCHEDULES)


class SGD:
    """Plain stochastic gradient descent (torch.optim.SGD without momentum) on a flat buffer."""

    def __init__(self, params: Tensor, grad: Tensor, lr: float):
        self.params, self.grad, self.lr = params, grad, lr

    def step(self) -> None:
        self.params.add_(self.grad, alpha=-self.lr)


class Adam:
    """torch.optim.Adam (default betas and eps, no weight decay) on a flat buffer whose gradient is `grad`.

    With `direct`, the fused kernel behind Adam(fused=True) is called itself where torch has it, because the
    public step()'s bookkeeping is a large share of a batch-2 step (`make bench`, "Adam step"); elsewhere the
    public optimizer runs, fused where the device supports it (nanoGPT's check), else PyTorch's default.
    """

    def __init__(self, params: Tensor, grad: Tensor, lr: float, direct: bool = True):
        self.params, self.grad, self.lr = params, grad, lr
        fused = params.device.type in _fused_devices()
        self.direct = direct and fused and hasattr(torch, "_fused_adam_")
        if self.direct:
            self.m, self.v = torch.zeros_like(params), torch.zeros_like(params)
            self.t = torch.zeros((), device=params.device)
        else:
            params.grad = grad
            self.optimizer = torch.optim.Adam([params], lr=lr, fused=fused or None)

    def step(self) -> None:
        if self.direct:
            self.t += 1
            torch._fused_adam_([self.params], [self.grad], [self.m], [self.v], [], [self.t], lr=self.lr, beta1=0.9,
                               beta2=0.999, weight_decay=0.0, eps=1e-8, amsgrad=False, maximize=False)
        else:
            self.optimizer.param_groups[0]["lr"] = self.lr
            self.optimizer.step()


def _fused_devices() -> list[str]:
    """Device types with a fused Adam kernel (none on a torch without fused optimizers)."""
    if "fused" not in inspect.signature(torch.optim.Adam).parameters:
        return []
    from torch.optim.optimizer import _get_fused_kernels_supported_devices
    return _get_fused_kernels_supported_devices()


def make_optimizer(name: str, stack: Any, lr: float) -> SGD | Adam:
    """The optimizer `name` ('sgd' or 'adam') over a stack's flat `params` and `grad` buffers."""
    OPTIMIZER.check("optimizer", name)
    return (SGD if name == "sgd" else Adam)(stack.params, stack.grad, lr)


def learning_rate(lr: float, schedule: str, progress: float) -> float:
    """The learning rate at `progress` (0 to 1) of training: constant, or cosine decay from lr to 0."""
    return lr if schedule == "constant" else lr * 0.5 * (1 + math.cos(math.pi * progress))
