"""Per-model losses for MLPStack: each returns the M losses and their gradient w.r.t. the outputs."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

LossGrad = tuple[Tensor, Tensor]  # (losses (M,), dL/d(outputs) (B, M, out))


class CrossEntropy:
    """Softmax cross-entropy per model, optionally class-weighted (torch's weighted mean) and with
    additive logit offsets used only in training (logit adjustment). Labels y are (B,), shared by the models,
    or (B, M), one column per model (models on different minibatch streams), so one call serves every stream."""

    per_model_targets = True

    def __init__(self, weight: Tensor | None = None, offset: Tensor | None = None):
        self.weight, self.offset = weight, offset  # each (out,) or (M, out)

    def __call__(self, out: Tensor, y: Tensor) -> LossGrad:
        z = out if self.offset is None else out + self.offset.to(out.device)
        logp = z.log_softmax(-1)
        target = (y.view(-1, 1) if y.dim() == 1 else y).expand(-1, z.shape[1]).unsqueeze(-1)  # (B, M, 1)
        grad = logp.exp().scatter_add_(-1, target, torch.full_like(logp[..., :1], -1.0))
        if self.weight is None:
            return logp.gather(-1, target).mean(0).squeeze(-1).neg(), grad.div_(len(y))
        w = self.weight.to(z.device).expand(z.shape[1], -1)[None].expand(len(y), -1, -1).gather(-1, target)
        w = w / w.sum(0)  # torch's weighted mean: normalise by the summed weights of the batch's targets
        return (logp.gather(-1, target) * w).sum(0).squeeze(-1).neg(), grad.mul_(w)


class MSE:
    """Mean squared error per model over all outputs (the autoencoder's reconstruction loss); targets (B, out)
    shared by the models, or (B, M, out), one per model."""

    per_model_targets = True

    def __call__(self, out: Tensor, target: Tensor) -> LossGrad:
        diff = out - (target[:, None, :] if target.dim() == 2 else target)
        n = diff.shape[0] * diff.shape[2]
        return diff.pow(2).sum((0, 2)) / n, diff * (2 / n)


class AutogradLoss:
    """Any differentiable per-model loss fn(out, y) -> (M,) whose gradient is left to torch.autograd."""

    def __init__(self, fn: Callable[[Tensor, Tensor], Tensor]):
        self.fn = fn

    def __call__(self, out: Tensor, y: Tensor) -> LossGrad:
        with torch.enable_grad():
            out = out.detach().requires_grad_()
            losses = self.fn(out, y)
            (grad,) = torch.autograd.grad(losses.sum(), out)
        return losses.detach(), grad


def margin(out: Tensor) -> Tensor:
    """The logit difference out[..., 1] - out[..., 0]: a two-logit classifier's score for class 1."""
    return out[..., 1] - out[..., 0]


def focal(out: Tensor, y: Tensor, gamma: float = 2.0) -> Tensor:
    """Per-model focal loss on the logit difference: torchvision's sigmoid_focal_loss without alpha, written out
    (the same operations, so the same numbers): importing torchvision pulls in torch._dynamo (docs/design.md).
    Labels y (B,) shared by the models, or (B, M), one column per model."""
    z = margin(out)
    target = (y if y.dim() == 2 else y[:, None].expand(-1, out.shape[1])).to(z.dtype)
    p = torch.sigmoid(z)
    ce = F.binary_cross_entropy_with_logits(z, target, reduction="none")
    p_t = p * target + (1 - p) * (1 - target)
    return (ce * ((1 - p_t) ** gamma)).mean(0)


class Mixed:
    """Different losses for consecutive groups of each stream's models in one stack: [(loss, models per stream), ...].
    Labels y (B,) shared by the models, or (B, M), one column per model (models on several minibatch streams)."""

    per_model_targets = True

    def __init__(self, parts: Sequence[tuple[Callable[[Tensor, Tensor], LossGrad], int]]):
        self.parts = [(loss, n) for loss, n in parts if n]

    def __call__(self, out: Tensor, y: Tensor) -> LossGrad:
        sizes = [n for _, n in self.parts]
        B, M, O = out.shape
        S = M // sum(sizes)  # the streams: models are stream-major, each stream holding the same groups
        if S == 1:
            chunks, ys = out.split(sizes, 1), [y] * len(sizes) if y.dim() == 1 else y.split(sizes, 1)
        else:  # each group's models of every stream, gathered stream-major
            chunks = [c.reshape(B, S * n, O) for c, n in zip(out.view(B, S, -1, O).split(sizes, 2), sizes)]
            ys = [y] * len(sizes) if y.dim() == 1 else [c.reshape(B, S * n) for c, n in zip(y.view(B, S, -1).split(sizes, 2), sizes)]
        losses, grads = zip(*(loss(chunk, target) for (loss, _), chunk, target in zip(self.parts, chunks, ys)))
        if S == 1:
            return torch.cat(losses), torch.cat(grads, 1)
        return (torch.cat([l.view(S, -1) for l in losses], 1).view(M),
                torch.cat([g.view(B, S, -1, O) for g in grads], 2).view(B, M, O))
