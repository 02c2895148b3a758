"""Optimizers over a stack's flat parameter buffer (SGD, Adam with its fused-kernel fast path where it has run) and the lr
schedules."""
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
# Device types where the fused Adam kernel has run against torch.optim.Adam: cpu (tests/engine/test_optim.py), cuda
# (benchmarks/device_check.py on an H100, docs/devices.md). Not mps: no Mac has run this code.
FUSED_RUN = ("cpu", "cuda")


class SGD:
    """Plain stochastic gradient descent (torch.optim.SGD without momentum) on a flat buffer."""

    def __init__(self, params: Tensor, grad: Tensor, lr: float):
        self.params, self.grad, self.lr = params, grad, lr

    def step(self) -> None:
        self.params.add_(self.grad, alpha=-self.lr)


class Adam:
    """torch.optim.Adam (default betas and eps, no weight decay) on a flat buffer whose gradient is `grad`.

    How it steps is `adam_route`'s choice: the fused kernel behind Adam(fused=True) called itself (`direct`, where
    torch has it and the kernel has run here), because the public step()'s bookkeeping is a large share of a
    batch-2 step (`make bench`, "Adam step"); else the public torch.optim.Adam, fused or not.
    """

    def __init__(self, params: Tensor, grad: Tensor, lr: float, direct: bool = True):
        self.params, self.grad, self.lr = params, grad, lr
        self.route = adam_route(params.device.type, direct)
        self.direct = self.route == "kernel"
        if self.direct:
            self.m, self.v = torch.zeros_like(params), torch.zeros_like(params)
            self.t = torch.zeros((), device=params.device)
        else:
            params.grad = grad
            self.optimizer = torch.optim.Adam([params], lr=lr, fused=self.route == "fused")

    def step(self) -> None:
        if self.direct:
            self.t += 1
            torch._fused_adam_([self.params], [self.grad], [self.m], [self.v], [], [self.t], lr=self.lr, beta1=0.9,
                               beta2=0.999, weight_decay=0.0, eps=1e-8, amsgrad=False, maximize=False)
        else:
            self.optimizer.param_groups[0]["lr"] = self.lr
            self.optimizer.step()


def adam_route(device_type: str, direct: bool = True) -> str:
    """How Adam steps on a device type: 'kernel' (the private fused kernel called directly), 'fused' (the public
    torch.optim.Adam(fused=True)) or 'public' (torch.optim.Adam(fused=False), PyTorch's default for-each path).
    Fused only where torch has the kernel for that device and it has run there (FUSED_RUN): so mps, which torch
    lists but this code has never run on, takes the public path."""
    fused = device_type in FUSED_RUN and device_type in _fused_devices()
    if fused and direct and hasattr(torch, "_fused_adam_"):
        return "kernel"
    return "fused" if fused else "public"


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
