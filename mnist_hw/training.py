"""Device selection, optimizers, the timed training loop and evaluation."""
from __future__ import annotations

import inspect
import math
import numbers
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor
from tqdm.auto import tqdm

from .data import Split, generator, minibatches
from .losses import CrossEntropy, LossGrad
from .models import MLPStack, check_activation
from .validation import require_choice, require_positive_int

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


def make_optimizer(name: str, stack: MLPStack, lr: float) -> SGD | Adam:
    """The optimizer `name` ('sgd' or 'adam') over a stack's parameters."""
    require_choice("optimizer", name, OPTIMIZERS)
    return (SGD if name == "sgd" else Adam)(stack.params, stack.grad, lr)


@dataclass
class History:
    """Training wall time (evaluation excluded), per-epoch per-model metrics, and which models diverged."""

    seconds: float
    curves: pd.DataFrame = field(repr=False)
    diverged: np.ndarray = field(repr=False)  # bool per model: training loss not finite at the end of an epoch


def _per_stream(value: Any, streams: int, name: str, single: type, one: str) -> list:
    """One value per stream: a single value (of type `single`, or None) serves every stream; a list needs one each."""
    values = [value] * streams if value is None or isinstance(value, single) else list(value)
    if len(values) != streams:
        raise ValueError(f"{name} must be {one} or a list of {streams} (one per stream), got {len(values)}")
    return values


def _per_stream_splits(data: Split | Sequence[Split], streams: int, name: str) -> list[Split]:
    """One Split per stream (see _per_stream), all of equal length."""
    splits = _per_stream(data, streams, name, Split, "one Split")
    if len({len(s) for s in splits}) > 1:
        raise ValueError(f"the {name} splits of the streams must have equal lengths, got {[len(s) for s in splits]}")
    return splits


def _per_model(y: Tensor, per_stream: int) -> Tensor:
    """Targets (S, B, ...) of each stream as (B, M, ...): every model gets its own stream's targets."""
    return y.repeat_interleave(per_stream, dim=0).transpose(0, 1)


def _join_streams(splits: list[Split]) -> Split:
    """The splits as one Split with a leading stream axis (x (S, n, ...), y (S, n))."""
    if all(s is splits[0] for s in splits):
        return Split(splits[0].x.expand(len(splits), *splits[0].x.shape), splits[0].y.expand(len(splits), *splits[0].y.shape))
    return Split(torch.stack([s.x for s in splits]), torch.stack([s.y for s in splits]))


@torch.no_grad()
def predict(stack: MLPStack, x: Tensor, batch_size: int = 8192) -> Tensor:
    """Outputs (n, M, out) of every stacked model for x (n, in), or (S, n, in) with one set per stream, in chunks."""
    return torch.cat([stack.forward(chunk)[0] for chunk in x.split(batch_size, dim=x.dim() - 2)])


def _stream_losses(loss: Callable[[Tensor, Tensor], LossGrad], out: Tensor, y: Tensor, streams: int) -> LossGrad:
    """The loss of each stream's models against that stream's targets y (S, B, ...), joined over the streams."""
    if streams == 1:
        return loss(out, y[0])
    if getattr(loss, "per_model_targets", False):  # one call: each model gets its stream's targets
        return loss(out, _per_model(y, out.shape[1] // streams))
    parts = [loss(chunk, y[s]) for s, chunk in enumerate(out.chunk(streams, 1))]
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts], 1)


def evaluate(stack: MLPStack, data: Split | Sequence[Split],
             loss: Callable[[Tensor, Tensor], LossGrad] = CrossEntropy()) -> dict[str, Tensor]:
    """Per-model loss and, for class labels, accuracy and predictions (n, M); data is one Split or one per
    stream. A model with a non-finite output (a diverged model) gets NaN, not an accuracy."""
    return _evaluate(stack, _join_streams(_per_stream_splits(data, stack.streams, "data")), loss)


@torch.no_grad()
def _evaluate(stack: MLPStack, data: Split, loss: Callable[[Tensor, Tensor], LossGrad]) -> dict[str, Tensor]:
    """evaluate on data already joined on a leading stream axis (see _join_streams)."""
    out = predict(stack, data.x)
    result = {"loss": _stream_losses(loss, out, data.y, stack.streams)[0].cpu()}
    if data.y.dtype == torch.long:
        y = _per_model(data.y, stack.per_stream)  # (n, M): each model's own labels
        result["pred"] = out.argmax(-1)
        hits = (result["pred"] == y).sum(0).cpu()
        accuracy = hits.double() / len(y)  # on the CPU: mps has no float64
        finite = out.isfinite().all(2).all(0).cpu()
        result["accuracy"] = accuracy.masked_fill(~finite, math.nan)
    return result


def _stream_batches(table: Split, order: Tensor, batch_size: int, chunk_bytes: int = 1 << 20) -> Iterator[tuple[Tensor, Tensor]]:
    """Each step's inputs (S, b, in) and targets (S, b, ...) of every stream, for sample indices order (n, S) into
    table; gathered a cache-sized chunk of steps at a time, since an index op's fixed cost dominates at batch 2."""
    row_bytes = table.x[0].numel() * table.x.element_size() * order.shape[1]
    rows = max(1, chunk_bytes // (row_bytes * batch_size)) * batch_size
    for block in order.split(rows):
        # index_select, not t[index]: the same copy, several times faster on the CPU (README, Benchmark)
        x, y = (t.index_select(0, block.view(-1)).unflatten(0, block.shape) for t in (table.x, table.y))
        for xb, yb in zip(x.split(batch_size), y.split(batch_size)):
            yield xb.transpose(0, 1), yb.transpose(0, 1)


def learning_rate(lr: float, schedule: str, progress: float) -> float:
    """The learning rate at `progress` (0 to 1) of training: constant, or cosine decay from lr to 0."""
    return lr if schedule == "constant" else lr * 0.5 * (1 + math.cos(math.pi * progress))


def fit(stack: MLPStack, train: Split | Sequence[Split], *, epochs: int, batch_size: int, optimizer: str = "adam",
        lr: float = 1e-3, schedule: str = "constant", seed: int | Sequence[int] = 0,
        loss: Callable[[Tensor, Tensor], LossGrad] = CrossEntropy(), val: Split | Sequence[Split] | None = None,
        sample_weights: Tensor | Sequence[Tensor] | None = None, progress: bool = False) -> History:
    """Train the stack: stream s on train[s] (or the one `train`) with minibatches shuffled by seed[s].

    A model whose training loss is not finite at the end of an epoch is marked diverged; when all have
    diverged, training stops early. Returns the timed history.
    """
    S = stack.streams
    require_positive_int("epochs", epochs)
    require_positive_int("batch_size", batch_size)
    require_choice("schedule", schedule, SCHEDULES)
    seeds = _per_stream(seed, S, "seed", numbers.Integral, "an int")
    trains = _per_stream_splits(train, S, "train")
    weights = _per_stream(sample_weights, S, "sample_weights", Tensor, "one tensor")  # e.g. one resampling factor per stream
    # stacked once: every epoch's evaluation reads the same validation data
    vals = _join_streams(_per_stream_splits(val, S, "val")) if val is not None and len(val) else None
    opt, device, n = make_optimizer(optimizer, stack, lr), stack.device, len(trains[0])
    gens = [generator(s, "shuffle") for s in seeds]
    # All streams' samples in one table, so a step gathers every stream's minibatch with one index.
    table = Split(torch.cat([t.x for t in trains]), torch.cat([t.y for t in trains])) if S > 1 else trains[0]
    offsets = torch.arange(S, device=device) * n
    seconds, rows, step, total_steps = 0.0, [], 0, epochs * math.ceil(n / batch_size)
    diverged = np.zeros(len(stack), dtype=bool)
    for epoch in tqdm(range(1, epochs + 1), desc="epochs", leave=False, disable=not progress):
        synchronize(device)
        start = time.perf_counter()
        # this epoch's sample order of each stream, as (n, S) rows into the table: row i holds every stream's i-th
        order = torch.stack([torch.cat(list(minibatches(n, batch_size, g, w))) for g, w in zip(gens, weights)], 1)
        order = order.to(device).add_(offsets)
        total = torch.zeros(len(stack), device=device, dtype=stack.params.dtype)
        for xb, yb in _stream_batches(table, order, batch_size):
            out, cache = stack.forward(xb)
            losses, dout = _stream_losses(loss, out, yb, S)
            stack.backward(xb, cache, dout)
            opt.lr = learning_rate(lr, schedule, step / total_steps)
            opt.step()
            step += 1
            total.add_(losses, alpha=xb.shape[1])
        synchronize(device)
        seconds += time.perf_counter() - start
        train_loss = (total / n).cpu().numpy()
        diverged |= ~np.isfinite(train_loss)
        record = {"epoch": epoch, "model": range(len(stack)), "time_s": seconds, "train_loss": train_loss}
        if vals is not None:
            record |= {f"val_{k}": v.numpy() for k, v in _evaluate(stack, vals, loss).items() if k != "pred"}
        rows.append(pd.DataFrame(record))
        if diverged.all():
            break
    return History(seconds, pd.concat(rows, ignore_index=True), diverged)


def fit_config(stack: MLPStack, train: Split | Sequence[Split], config: TrainConfig, **kwargs) -> History:
    """fit with a TrainConfig's optimisation settings (epochs, batch size, optimizer, lr, schedule, seed);
    keyword arguments override them (e.g. seed=[...] for several streams)."""
    settings = dict(epochs=config.epochs, batch_size=config.batch_size, optimizer=config.optimizer, lr=config.lr,
                    schedule=config.schedule, seed=config.seed)
    return fit(stack, train, **(settings | kwargs))
