"""Device selection, optimizers, the timed training loop and evaluation."""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import torch
from torch import Tensor
from tqdm.auto import tqdm

from .data import Split, generator, minibatches
from .losses import CrossEntropy, LossGrad
from .models import MLPStack, check_activation
from .checks import require_choice, require_positive_int

DEVICES = ("auto", "cpu", "cuda", "mps")
OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "cosine")


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' picks cuda > mps > cpu; naming an absent device is an error."""
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    require_choice("device", name, DEVICES)
    if name == "auto":
        return torch.device(next(d for d in ("cuda", "mps", "cpu") if available[d]))
    if not available[name]:
        present = [d for d, ok in available.items() if ok]
        raise RuntimeError(f"device {name!r} is not available on this machine (available: {present}); use 'auto' or 'cpu'")
    return torch.device(name)


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so the clock measures work done rather than work launched."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run; invalid values raise at construction."""

    hidden: int = 16
    activation: str = "relu"
    optimizer: str = "adam"
    lr: float = 1e-3
    epochs: int = 5
    batch_size: int = 64
    seed: int = 0
    schedule: str = "constant"

    def __post_init__(self):
        for name in ("hidden", "epochs", "batch_size"):
            require_positive_int(name, getattr(self, name))
        check_activation(self.activation)
        require_choice("optimizer", self.optimizer, OPTIMIZERS)
        if not self.lr > 0:
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        require_choice("schedule", self.schedule, SCHEDULES)


class SGD:
    """Plain stochastic gradient descent (torch.optim.SGD without momentum) on a flat buffer."""

    def __init__(self, params: Tensor, grad: Tensor, lr: float):
        self.params, self.grad, self.lr = params, grad, lr

    def step(self) -> None:
        self.params.add_(self.grad, alpha=-self.lr)


class Adam:
    """torch.optim.Adam (default betas and eps, no weight decay) on a flat buffer, calling the fused kernel
    behind Adam(fused=True) directly: the Optimizer's bookkeeping costs more than the update for these models."""

    def __init__(self, params: Tensor, grad: Tensor, lr: float):
        self.params, self.grad, self.lr = params, grad, lr
        self.m, self.v = torch.zeros_like(params), torch.zeros_like(params)
        self.t = torch.zeros((), device=params.device)

    def step(self) -> None:
        self.t += 1
        torch._fused_adam_([self.params], [self.grad], [self.m], [self.v], [], [self.t], lr=self.lr, beta1=0.9,
                           beta2=0.999, weight_decay=0.0, eps=1e-8, amsgrad=False, maximize=False)


def make_optimizer(name: str, stack: MLPStack, lr: float) -> SGD | Adam:
    """The optimizer `name` ('sgd' or 'adam') over a stack's parameters."""
    require_choice("optimizer", name, OPTIMIZERS)
    return (SGD if name == "sgd" else Adam)(stack.params, stack.grad, lr)


@dataclass
class History:
    """Training wall time (evaluation excluded) and per-epoch, per-model metrics."""

    seconds: float
    epochs: pd.DataFrame = field(repr=False)


@torch.no_grad()
def predict(stack: MLPStack, x: Tensor, batch_size: int = 8192) -> Tensor:
    """Outputs (n, M, out) of every stacked model, computed in chunks."""
    return torch.cat([stack.forward(chunk)[0] for chunk in x.split(batch_size)])


@torch.no_grad()
def evaluate(stack: MLPStack, data: Split, loss: Callable[[Tensor, Tensor], LossGrad] = CrossEntropy()) -> dict[str, Tensor]:
    """Per-model loss and, for class labels, accuracy and predictions (n, M)."""
    out = predict(stack, data.x)
    result = {"loss": loss(out, data.y)[0].cpu()}
    if data.y.dtype == torch.long:
        result["pred"] = out.argmax(-1)
        hits = (result["pred"] == data.y[:, None]).sum(0).cpu()
        result["accuracy"] = hits.double() / len(data.y)  # on the CPU: mps has no float64
    return result


def learning_rate(lr: float, schedule: str, progress: float) -> float:
    """The learning rate at `progress` (0 to 1) of training: constant, or cosine decay from lr to 0."""
    return lr if schedule == "constant" else lr * 0.5 * (1 + math.cos(math.pi * progress))


def fit(stack: MLPStack, train: Split, *, epochs: int, batch_size: int, optimizer: str = "adam", lr: float = 1e-3,
        schedule: str = "constant", seed: int = 0, loss: Callable[[Tensor, Tensor], LossGrad] = CrossEntropy(),
        val: Split | None = None, sample_weights: Tensor | None = None, progress: bool = False) -> History:
    """Train every model of the stack on the same seeded minibatch stream; return the timed history."""
    require_positive_int("batch_size", batch_size)
    require_choice("schedule", schedule, SCHEDULES)
    opt, gen, device = make_optimizer(optimizer, stack, lr), generator(seed, "shuffle"), stack.device
    seconds, rows, step, total_steps = 0.0, [], 0, epochs * math.ceil(len(train) / batch_size)
    for epoch in tqdm(range(1, epochs + 1), desc="epochs", leave=False, disable=not progress):
        synchronize(device)
        start = time.perf_counter()
        total = torch.zeros(len(stack), device=device)
        for idx in minibatches(len(train), batch_size, gen, sample_weights):
            idx = idx.to(device, non_blocking=True)
            xb, yb = train.x[idx], train.y[idx]
            out, cache = stack.forward(xb)
            losses, dout = loss(out, yb)
            stack.backward(xb, cache, dout)
            opt.lr = learning_rate(lr, schedule, step / total_steps)
            opt.step()
            step += 1
            total.add_(losses, alpha=len(idx))
        synchronize(device)
        seconds += time.perf_counter() - start
        record = {"epoch": epoch, "model": range(len(stack)), "time_s": seconds,
                  "train_loss": (total / len(train)).cpu().numpy()}
        if val is not None and len(val):
            record |= {f"val_{k}": v.numpy() for k, v in evaluate(stack, val, loss).items() if k != "pred"}
        rows.append(pd.DataFrame(record))
    return History(seconds, pd.concat(rows, ignore_index=True))


def fit_config(stack: MLPStack, train: Split, config: TrainConfig, **kwargs) -> History:
    """fit with a TrainConfig's optimisation settings (epochs, batch size, optimizer, lr, schedule, seed)."""
    return fit(stack, train, epochs=config.epochs, batch_size=config.batch_size, optimizer=config.optimizer,
               lr=config.lr, schedule=config.schedule, seed=config.seed, **kwargs)
