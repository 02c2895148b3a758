"""Per-model losses for MLPStack: each returns the M losses and their gradient w.r.t. the outputs."""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

LossGrad = tuple[Tensor, Tensor]  # (losses (M,), dL/d(outputs) (B, M, out))


class CrossEntropy:
    """Softmax cross-entropy per model, optionally class-weighted (torch's weighted mean) and with
    additive logit offsets used only in training (logit adjustment)."""

    def __init__(self, weight: Tensor | None = None, offset: Tensor | None = None):
        self.weight, self.offset = weight, offset  # each (out,) or (M, out)

    def __call__(self, out: Tensor, y: Tensor) -> LossGrad:
        z = out if self.offset is None else out + self.offset.to(out.device)
        logp = z.log_softmax(-1)
        target = y.view(-1, 1, 1).expand(-1, z.shape[1], 1)  # (B, M, 1)
        grad = logp.exp().scatter_add_(-1, target, torch.full_like(logp[..., :1], -1.0))
        if self.weight is None:
            return logp.gather(-1, target).mean(0).squeeze(-1).neg(), grad.div_(len(y))
        w = self.weight.to(z.device).expand(z.shape[1], -1)[None].expand(len(y), -1, -1).gather(-1, target)
        w = w / w.sum(0)  # torch's weighted mean: normalise by the summed weights of the batch's targets
        return (logp.gather(-1, target) * w).sum(0).squeeze(-1).neg(), grad.mul_(w)


class MSE:
    """Mean squared error per model over all outputs (the autoencoder's reconstruction loss)."""

    def __call__(self, out: Tensor, target: Tensor) -> LossGrad:
        diff = out - target[:, None, :]
        n = diff.shape[0] * diff.shape[2]
        return diff.pow(2).sum((0, 2)) / n, diff * (2 / n)


class Autograd:
    """Any differentiable per-model loss fn(out, y) -> (M,): its gradient comes from autograd."""

    def __init__(self, fn: Callable[[Tensor, Tensor], Tensor]):
        self.fn = fn

    def __call__(self, out: Tensor, y: Tensor) -> LossGrad:
        with torch.enable_grad():
            out = out.detach().requires_grad_()
            losses = self.fn(out, y)
            (grad,) = torch.autograd.grad(losses.sum(), out)
        return losses.detach(), grad
