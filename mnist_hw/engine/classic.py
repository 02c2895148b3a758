"""The textbook PyTorch training loop (nn.Module, autograd, torch.optim): the reference the fast engine is checked against."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .data import Split, generator, minibatches
from .optim import learning_rate


def train(model: nn.Module, train: Split, *, epochs: int, batch_size: int, optimizer: str = "adam", lr: float = 1e-3,
          schedule: str = "constant", seed: int = 0) -> list[float]:
    """Train `model` with cross-entropy on the same seeded minibatches as mnist_hw.engine.train.fit; return epoch losses."""
    opt = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}[optimizer](model.parameters(), lr=lr)
    shuffle, step, total_steps = generator(seed, "shuffle"), 0, epochs * math.ceil(len(train) / batch_size)
    losses = []
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for idx in minibatches(len(train), batch_size, shuffle):
            x, y = train.x[idx.to(train.x.device)], train.y[idx.to(train.y.device)]
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            for group in opt.param_groups:  # the schedule: constant, or cosine decay to 0 over all steps
                group["lr"] = learning_rate(lr, schedule, step / total_steps)
            opt.step()
            step += 1
            total += loss.item() * len(idx)
        losses.append(total / len(train))
    return losses


@torch.no_grad()
def evaluate(model: nn.Module, data: Split, batch_size: int = 8192) -> dict[str, float]:
    """Mean cross-entropy and accuracy (%) of `model` on `data`, in minibatches, without gradients."""
    model.eval()
    loss, hits = 0.0, 0
    for start in range(0, len(data), batch_size):
        x, y = data.x[start:start + batch_size], data.y[start:start + batch_size]
        logits = model(x)
        loss += F.cross_entropy(logits, y, reduction="sum").item()
        hits += (logits.argmax(1) == y).sum().item()
    return {"loss": loss / len(data), "accuracy": 100 * hits / len(data)}


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b| / max(|a| + |b|): the largest difference relative to the tensor's scale. Looser than cs231n's
    element-wise max |a - b| / (|a| + |b|), which weights near zero dominate after float32 training steps."""
    return ((a - b).abs().max() / (a.abs() + b.abs()).max().clamp_min(1e-12)).item()
