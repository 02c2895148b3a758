"""The lockstep stack: M one-hidden-layer MLPs trained at once, forward and hand-derived backward side by side."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from types import SimpleNamespace

import torch
from torch import Tensor

from .activations import ACTIVATIONS, Activation
from .models import SimpleMLP
from .rules import POSITIVE

class MLPStack:
    """M SimpleMLPs trained in lockstep with a hand-derived backward pass, on one or several minibatch streams.

    Why: a step of many small models costs a fixed handful of batched products instead of M autograd graphs.
    With `streams=S` the M = S*K models are stream-major (model i reads stream i // K), every stream holding the
    same architectures in the same order. A stream's hidden units form one wide first layer (grouped by
    activation); each model's output layer reads its own units, gathered into a zero-padded slot of the largest
    width, so its cost never grows with M and no NaN of a diverged model reaches another. All parameters live in
    one flat buffer (`params`, gradients in `grad`), so an optimizer step is one fused kernel.
    """

    def __init__(self, models: Sequence[SimpleMLP], device: torch.device | str = "cpu", streams: int = 1):
        self._describe(models, streams)
        self.units, self.kinds = _hidden_layout(self.hidden[:self.per_stream], self.activations[:self.per_stream])
        dtype = models[0].fc1.weight.dtype
        self._index_slots(device, dtype)
        self._allocate(device, dtype)
        self._copy_in(models)

    def _describe(self, models: Sequence[SimpleMLP], streams: int) -> None:
        """Check that the models can share a stack and record their shapes: sizes, widths, activations, streams."""
        POSITIVE.check("streams", streams)
        if not models:
            raise ValueError("MLPStack needs at least one model")
        if len(models) % streams:
            raise ValueError(f"streams={streams} must divide the number of models, got {len(models)} models")
        first = models[0]
        self.in_features, self.out_features = first.fc1.in_features, first.fc2.out_features
        self.output_activation = first.output_activation_name
        if any((m.fc1.in_features, m.fc2.out_features, m.output_activation_name)
               != (self.in_features, self.out_features, self.output_activation) for m in models):
            raise ValueError("models in one stack must share input size, output size and output activation")
        S, K = streams, len(models) // streams
        arch = [(m.fc1.out_features, m.activation_name) for m in models]
        if any(arch[s * K:(s + 1) * K] != arch[:K] for s in range(S)):
            raise ValueError(f"each of the {S} streams must hold the same (hidden, activation) list in the same "
                             f"order, got {[arch[s * K:(s + 1) * K] for s in range(S)]}")
        self.streams, self.per_stream = S, K
        self.hidden, self.activations = [h for h, _ in arch], [a for _, a in arch]

    def _index_slots(self, device: torch.device | str, dtype: torch.dtype) -> None:
        """The gather (hidden units -> output-layer slots) and scatter (back) indices.

        Every model's output layer reads a slot of W + 1 inputs: its units, zeros up to W, then a constant 1 whose
        weight is the bias (so the bias and its gradient come with the matrix products). Slot input k*(W+1) + w is
        column gather[k*(W+1) + w] of the hidden activations with columns U (0) and U+1 (1) appended. The padding
        stays zero in training: its input is exactly 0, so its gradient is too.
        """
        K, U, W = self.per_stream, self.units_per_stream, self.width
        gather = torch.full((K, W + 1), U)
        gather[:, W] = U + 1
        for k, units in enumerate(self.units):
            gather[k, :self.hidden[k]] = torch.arange(units.start, units.stop)
        self._appended = torch.tensor([0, 1], device=device, dtype=dtype)
        gather = gather.flatten()
        inputs = (gather < U).nonzero().flatten()  # the slot inputs that are hidden units
        scatter = torch.empty(U, dtype=torch.long)
        scatter[gather[inputs]] = inputs  # unit u is slot input scatter[u]: the inverse, for the backward
        self._gather, self._scatter = gather.to(device), scatter.to(device)

    def _allocate(self, device: torch.device | str, dtype: torch.dtype) -> None:
        """The flat parameter and gradient buffers, and their W1 / b1 / W2 views (`_p`, `_g`)."""
        shapes = [(self.streams, self.units_per_stream, self.in_features), (self.streams, self.units_per_stream),
                  (len(self), self.out_features, self.width + 1)]
        # Rounded up to whole cache lines: the fused Adam kernel runs a scalar tail loop (rounding differently
        # from its vector loop) on the buffer's last partial vector, which would single out the last model.
        numel = -(-sum(torch.Size(s).numel() for s in shapes) // 64) * 64
        self.params = torch.zeros(numel, device=device, dtype=dtype)
        self.grad = torch.zeros(numel, device=device, dtype=dtype)
        self._p, self._g = (SimpleNamespace(**dict(zip(("W1", "b1", "W2"), _views(buffer, shapes))))
                            for buffer in (self.params, self.grad))

    @torch.no_grad()
    def _copy_in(self, models: Sequence[SimpleMLP]) -> None:
        """Each model's weights into its views of the buffer."""
        for i, model in enumerate(models):
            for mine, theirs in zip(self._model(self._p, i), model.parameters()):
                mine.copy_(theirs)

    @property
    def units_per_stream(self) -> int:
        """U: the hidden units of one stream's models together."""
        return sum(self.hidden[:self.per_stream])

    @property
    def width(self) -> int:
        """W: the widest hidden layer, the size of every model's output-layer slot (before the bias input)."""
        return max(self.hidden[:self.per_stream])

    def _model(self, layout: SimpleNamespace, i: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Views of model i's (fc1.weight, fc1.bias, fc2.weight, fc2.bias) in the params or grad layout."""
        s, k = divmod(i, self.per_stream)
        units = self.units[k]
        return layout.W1[s, units], layout.b1[s, units], layout.W2[i, :, :self.hidden[k]], layout.W2[i, :, -1]

    def __len__(self) -> int:
        return len(self.hidden)

    @property
    def device(self) -> torch.device:
        return self.params.device

    def _per_kind(self, fn: Callable[..., Tensor], *tensors: Tensor) -> Tensor:
        """fn(activation, *blocks) assembled over each activation's contiguous block of hidden units."""
        if len(self.kinds) == 1:
            return fn(self.kinds[0][0], *tensors)
        out = torch.empty_like(tensors[0])
        for act, units in self.kinds:
            out[..., units] = fn(act, *(t[..., units] for t in tensors))
        return out

    def _stream_inputs(self, x: Tensor) -> Tensor:
        """x as (S, B, in): one minibatch per stream, or one (B, in) minibatch shared by all streams."""
        if x.dim() == 3 and x.shape[0] == self.streams and x.shape[2] == self.in_features:
            return x
        if x.dim() == 2 and x.shape[1] == self.in_features:
            return x.expand(self.streams, -1, -1)
        raise ValueError(f"x must have shape (batch, {self.in_features}) or ({self.streams}, batch, "
                         f"{self.in_features}) for this stack of {self.streams} stream(s), got {tuple(x.shape)}")

    @property
    def _one_model(self) -> bool:
        """One model (Q4's autoencoder): the fast path, plain matrix products (mm, addmm) and no slot gather,
        since there is nothing to pad or keep apart."""
        return len(self) == 1

    def forward(self, x: Tensor) -> tuple[Tensor, tuple]:
        """Outputs (B, M, out) of every model for inputs x (B, in), or (S, B, in) with one minibatch per stream,
        and what backward needs."""
        if self._one_model:
            return self._forward_one(x)
        x = self._stream_inputs(x)
        p = self._p
        h = torch.baddbmm(p.b1.unsqueeze(1), x, p.W1.transpose(1, 2))
        a = self._per_kind(lambda act, h: act.forward(h), h)
        # (M, W+1, B): one slot per model, gathered as rows of a^T (the cat writes a^T contiguous, so the
        # gather copies whole rows). Outputs are computed transposed, W2 @ slots: bmm of (B, W+1) @ (W+1, O) with
        # these strides is much slower (docs/benchmark.md).
        appended = torch.cat([a.transpose(1, 2), self._appended[:, None].expand(len(a), 2, a.shape[1])], 1)
        slots = appended.index_select(1, self._gather).view(len(self), p.W2.shape[2], -1)
        pre = torch.bmm(p.W2, slots).permute(2, 0, 1).contiguous()  # (B, M, O)
        out = pre if self.output_activation is None else ACTIVATIONS[self.output_activation].forward(pre)
        return out, (x, h, a, slots, pre, out)

    def backward(self, x: Tensor, cache: tuple, dout: Tensor) -> None:
        """Write d(sum of the models' losses)/d(parameters) into self.grad, given dL/d(outputs) (B, M, out)."""
        x, h, a, slots, pre, out = cache
        if self.output_activation is not None:
            dout = dout * ACTIVATIONS[self.output_activation].derivative(pre, out)
        if self._one_model:
            return self._backward_one(x, h, a, dout[:, 0])
        d = dout.transpose(0, 1)  # (M, B, O): one matrix per model
        torch.bmm(d.transpose(1, 2), slots.transpose(1, 2), out=self._g.W2)
        # dL/d(slots)^T (M, W+1, B) is contiguous as (S, K*(W+1), B): the units come back by one row gather.
        da = torch.bmm(self._p.W2.transpose(1, 2), d.transpose(1, 2)).view(self.streams, -1, len(d[0]))
        da = da.index_select(1, self._scatter).transpose(1, 2)  # (S, B, U)
        dh = self._per_kind(lambda act, h, a: act.derivative(h, a), h, a).mul_(da)
        torch.bmm(dh.transpose(1, 2), x, out=self._g.W1)
        torch.sum(dh, 1, out=self._g.b1)

    def _forward_one(self, x: Tensor) -> tuple[Tensor, tuple]:
        """forward for the one model: x (B, in) or (1, B, in)."""
        x = self._stream_inputs(x)[0]
        act, _ = self.kinds[0]
        W2 = self._p.W2[0]  # (O, W+1): the weights, then the bias column
        h = torch.addmm(self._p.b1[0], x, self._p.W1[0].t())
        a = act.forward(h)
        pre = torch.mm(a, W2[:, :-1].t()).add_(W2[:, -1]).unsqueeze(1)  # (B, 1, O); addmm took 1.4x as long here
        out = pre if self.output_activation is None else ACTIVATIONS[self.output_activation].forward(pre)
        return out, (x, h, a, None, pre, out)

    def _backward_one(self, x: Tensor, h: Tensor, a: Tensor, d: Tensor) -> None:
        """backward for the one model, given dL/d(pre-activation outputs) d (B, O)."""
        act, _ = self.kinds[0]
        W2, gW2 = self._p.W2[0], self._g.W2[0]
        torch.mm(d.t(), a, out=gW2[:, :-1])
        torch.sum(d, 0, out=gW2[:, -1])
        dh = act.derivative(h, a).mul_(torch.mm(d, W2[:, :-1]))
        torch.mm(dh.t(), x, out=self._g.W1[0])
        torch.sum(dh, 0, out=self._g.b1[0])

    def to_models(self) -> list[SimpleMLP]:
        """The stacked models as independent SimpleMLPs: copies of the current weights, and of the gradients of
        the last backward as each parameter's .grad."""
        models = []
        for i, (hidden, act) in enumerate(zip(self.hidden, self.activations)):
            model = SimpleMLP(self.in_features, hidden, self.out_features, act, self.output_activation)
            model = model.to(self.device, self.params.dtype)
            with torch.no_grad():
                for p, value, grad in zip(model.parameters(), self._model(self._p, i), self._model(self._g, i)):
                    p.copy_(value)
                    p.grad = grad.clone()
            models.append(model)
        return models

    def streams_apart(self) -> list[MLPStack]:
        """Each stream's models as a stack of its own (copies of the current weights): a stream's predictions then
        cost only its own models, computed as they would be had it trained alone."""
        if self.streams == 1:
            return [self]
        models, K = self.to_models(), self.per_stream
        return [MLPStack(models[s * K:(s + 1) * K], self.device) for s in range(self.streams)]


def _views(buffer: Tensor, shapes: list[tuple[int, ...]]) -> list[Tensor]:
    """Consecutive views of the given shapes into a flat buffer."""
    out, offset = [], 0
    for shape in shapes:
        n = torch.Size(shape).numel()
        out.append(buffer[offset:offset + n].view(shape))
        offset += n
    return out


def _hidden_layout(hidden: list[int], activations: list[str]) -> tuple[list[slice], list[tuple[Activation, slice]]]:
    """Each model's slice of a stream's hidden units, and each activation's contiguous block of them: models are
    laid out grouped by activation, so an activation applies to one block."""
    units: list[slice] = [slice(0)] * len(hidden)
    kinds: list[tuple[Activation, slice]] = []
    start = 0
    for k in sorted(range(len(hidden)), key=lambda k: activations[k]):
        units[k] = slice(start, start + hidden[k])
        act = ACTIVATIONS[activations[k]]
        if kinds and kinds[-1][0] is act:
            kinds[-1] = (act, slice(kinds[-1][1].start, units[k].stop))
        else:
            kinds.append((act, units[k]))
        start = units[k].stop
    return units, kinds
