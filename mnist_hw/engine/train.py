"""The training configuration (`TrainConfig`), the timed training loop over minibatch streams (`fit`), and evaluation."""
from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from .data import Split, generator, minibatches
from .device import synchronize
from .losses import CrossEntropy, LossGrad
from .activations import ACTIVATION
from .stack import MLPStack
from .optim import OPTIMIZER, SCHEDULE, learning_rate, make_optimizer
from .rules import HIDDEN, LR, POSITIVE, SEED


@dataclass(frozen=True)
class TrainConfig:
    """One model and how to train it: its hidden layer (hidden, activation), the settings `fit` reads (epochs,
    batch_size, optimizer, lr, schedule) and the seed of its initialisation and shuffling; invalid values raise at
    construction. The fields, in this order, identify a result row (CONFIG_KEY)."""

    hidden: int = 16
    activation: str = "relu"
    optimizer: str = "adam"
    lr: float = 1e-3
    epochs: int = 5
    batch_size: int = 64
    seed: int = 0
    schedule: str = "constant"

    def __post_init__(self):
        HIDDEN.check("hidden", self.hidden)
        SEED.check("seed", self.seed)
        for name in ("epochs", "batch_size"):
            POSITIVE.check(name, getattr(self, name))
        OPTIMIZER.check("optimizer", self.optimizer)
        LR.check("lr", self.lr)
        SCHEDULE.check("schedule", self.schedule)
        ACTIVATION.check("activation", self.activation)


CONFIG_KEY = [f.name for f in fields(TrainConfig)]  # the columns that identify a configuration's result row


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
    table; gathered a cache-sized chunk of steps at a time, since an index op's fixed cost dominates at batch 2, into
    one buffer per table reused by every chunk: a new chunk would be new memory, whose page faults cost more than
    the copy (docs/benchmark.md). A step's tensors are views of that buffer, valid until the next step is drawn."""
    row_bytes = table.x[0].numel() * table.x.element_size() * order.shape[1]
    rows = max(1, chunk_bytes // (row_bytes * batch_size)) * batch_size
    buffers = {}

    def gather(t: Tensor, block: Tensor) -> Tensor:
        if id(t) not in buffers:
            buffers[id(t)] = t.new_empty((min(rows, len(order)) * order.shape[1], *t.shape[1:]))
        out = buffers[id(t)][:block.numel()]
        # index_select, not t[index]: the same copy, several times faster on the CPU (docs/benchmark.md)
        return torch.index_select(t, 0, block.view(-1), out=out).unflatten(0, block.shape)

    for block in order.split(rows):
        x = gather(table.x, block)
        y = x if table.y is table.x else gather(table.y, block)  # Q4's targets are its inputs: gathered once
        for xb, yb in zip(x.split(batch_size), y.split(batch_size)):
            yield xb.transpose(0, 1), yb.transpose(0, 1)


class MinibatchStreams:
    """The minibatch streams of one fit: stream s draws from train[s] (or the one `train`), shuffled by seed[s], with
    sample_weights[s] drawn with replacement. Every stream's samples sit in one table (a split that several streams
    draw from, once), so a step gathers all the streams' minibatches with one index."""

    def __init__(self, stack: MLPStack, train: Split | Sequence[Split], seed: int | Sequence[int], batch_size: int,
                 sample_weights: Tensor | Sequence[Tensor] | None = None):
        S = stack.streams
        trains = _per_stream_splits(train, S, "train")
        self.gens = [generator(s, "shuffle") for s in _per_stream(seed, S, "seeds", numbers.Integral, "an int")]
        self.weights = _per_stream(sample_weights, S, "sample_weights", Tensor, "one tensor")
        self.n, self.batch_size, self.device = len(trains[0]), batch_size, stack.device
        # one copy of each distinct split (streams that resample one split share it): stream s reads block place[s]
        distinct = list({id(t): t for t in trains}.values())
        place = [next(j for j, t in enumerate(distinct) if t is mine) for mine in trains]
        self.table = (Split(torch.cat([t.x for t in distinct]), torch.cat([t.y for t in distinct]))
                      if len(distinct) > 1 else distinct[0])
        self.offsets = torch.tensor(place, device=self.device) * self.n
        self.steps_per_epoch = math.ceil(self.n / batch_size)

    def epoch(self) -> Iterator[tuple[Tensor, Tensor]]:
        """This epoch's steps: inputs (S, b, in) and targets (S, b, ...) of every stream."""
        # each stream's sample order as (n, S) rows into the table: row i holds every stream's i-th sample
        order = torch.stack([torch.cat(list(minibatches(self.n, self.batch_size, g, w)))
                             for g, w in zip(self.gens, self.weights)], 1)
        yield from _stream_batches(self.table, order.to(self.device).add_(self.offsets), self.batch_size)


def fit(stack: MLPStack, train: Split | Sequence[Split], config: TrainConfig, *,
        loss: Callable[[Tensor, Tensor], LossGrad] = CrossEntropy(), val: Split | Sequence[Split] | None = None,
        sample_weights: Tensor | Sequence[Tensor] | None = None, seeds: Sequence[int] | None = None) -> History:
    """Train the stack as config says (its architecture is the stack's; fit reads epochs, batch_size, optimizer,
    lr, schedule and seed) on its minibatch streams (see MinibatchStreams), stream s shuffled by seeds[s] (default:
    config.seed for every stream); evaluate on `val` (one Split or one per stream) after every epoch. A model whose
    training loss is not finite at the end of an epoch is marked diverged; when all have diverged, training stops
    early. Returns the timed history."""
    batches = MinibatchStreams(stack, train, config.seed if seeds is None else seeds, config.batch_size, sample_weights)
    # joined once: every epoch's evaluation reads the same validation data
    vals = _join_streams(_per_stream_splits(val, stack.streams, "val")) if val is not None and len(val) else None
    opt, device = make_optimizer(config.optimizer, stack, config.lr), stack.device
    seconds, rows, step, total_steps = 0.0, [], 0, config.epochs * batches.steps_per_epoch
    diverged = np.zeros(len(stack), dtype=bool)
    for epoch in range(1, config.epochs + 1):
        synchronize(device)
        start = time.perf_counter()
        total = torch.zeros(len(stack), device=device, dtype=stack.params.dtype)
        for xb, yb in batches.epoch():
            out, cache = stack.forward(xb)
            losses, dout = _stream_losses(loss, out, yb, stack.streams)
            stack.backward(xb, cache, dout)
            opt.lr = learning_rate(config.lr, config.schedule, step / total_steps)
            opt.step()
            step += 1
            total.add_(losses, alpha=xb.shape[1])
        synchronize(device)
        seconds += time.perf_counter() - start
        train_loss = (total / batches.n).cpu().numpy()
        diverged |= ~np.isfinite(train_loss)
        record = {"epoch": epoch, "model": range(len(stack)), "time_s": seconds, "train_loss": train_loss}
        if vals is not None:
            record |= {f"val_{k}": v.numpy() for k, v in _evaluate(stack, vals, loss).items() if k != "pred"}
        rows.append(pd.DataFrame(record))
        if diverged.all():
            break
    return History(seconds, pd.concat(rows, ignore_index=True), diverged)
