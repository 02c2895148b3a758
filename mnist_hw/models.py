"""The one-hidden-layer MLPs of the assignment, and a stack that trains many of them in lockstep."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace

import torch
from torch import Tensor, nn

from .checks import require_choice, require_positive_int


class Activation:
    """An elementwise nonlinearity: its forward and its derivative, side by side (as micrograd keeps them)."""

    name: str
    module: type[nn.Module]  # the nn.Module a SimpleMLP holds, so models print like any PyTorch model

    def forward(self, h: Tensor) -> Tensor:
        raise NotImplementedError

    def derivative(self, h: Tensor, a: Tensor) -> Tensor:
        """d a / d h, given the input h and the output a = forward(h) (whichever is cheaper to use)."""
        raise NotImplementedError


class Sigmoid(Activation):
    name, module = "sigmoid", nn.Sigmoid

    def forward(self, h: Tensor) -> Tensor:
        return torch.sigmoid(h)

    def derivative(self, h: Tensor, a: Tensor) -> Tensor:
        return a * (1 - a)


class ReLU(Activation):
    name, module = "relu", nn.ReLU

    def forward(self, h: Tensor) -> Tensor:
        return torch.relu(h)

    def derivative(self, h: Tensor, a: Tensor) -> Tensor:
        return torch.sign(a)  # 1 where h > 0, else 0: a = max(h, 0) is positive exactly there


class Tanh(Activation):
    name, module = "tanh", nn.Tanh

    def forward(self, h: Tensor) -> Tensor:
        return torch.tanh(h)

    def derivative(self, h: Tensor, a: Tensor) -> Tensor:
        return 1 - a * a


ACTIVATIONS: dict[str, Activation] = {act.name: act for act in (Sigmoid(), ReLU(), Tanh())}


def check_activation(name: str | None, allow_none: bool = False) -> None:
    """Raise a ValueError naming the allowed activations if `name` is not one of them."""
    if not (name is None and allow_none):
        require_choice("activation", name, sorted(ACTIVATIONS))


class SimpleMLP(nn.Module):
    """in -> hidden -> out, one hidden activation and an optional output activation."""

    def __init__(self, in_features: int, hidden: int, out_features: int, activation: str = "relu",
                 output_activation: str | None = None):
        super().__init__()
        check_activation(activation)
        check_activation(output_activation, allow_none=True)
        if hidden <= 0:
            raise ValueError(f"hidden must be a positive integer, got {hidden}")
        self.fc1 = nn.Linear(in_features, hidden)
        self.activation = ACTIVATIONS[activation].module()
        self.fc2 = nn.Linear(hidden, out_features)
        if output_activation is not None:
            self.activation_output = ACTIVATIONS[output_activation].module()

    def forward(self, x: Tensor) -> Tensor:
        out = self.fc2(self.activation(self.fc1(x)))
        return self.activation_output(out) if hasattr(self, "activation_output") else out

    @property
    def activation_name(self) -> str:
        return _name(self.activation)

    @property
    def output_activation_name(self) -> str | None:
        return _name(self.activation_output) if hasattr(self, "activation_output") else None


class Autoencoder(SimpleMLP):
    """The Q4 autoencoder: 784 -> hidden -> 784 with a squashing output (pixels live in [0, 1])."""

    def __init__(self, hidden: int = 50, activation: str = "relu", output_activation: str | None = "sigmoid"):
        super().__init__(784, hidden, 784, activation, output_activation)


class PCA:
    """Principal component analysis with k components: the best k-dimensional linear code under squared error."""

    def __init__(self, k: int):
        if k <= 0:
            raise ValueError(f"k must be a positive integer, got {k}")
        self.k = k

    def fit(self, x: Tensor) -> PCA:
        """Learn the mean and the top-k principal directions (k, d) of the rows of x."""
        if self.k > x.shape[1]:
            raise ValueError(f"k={self.k} exceeds the {x.shape[1]} input dimensions")
        self.mean = x.mean(0)
        centred = x - self.mean
        # Eigenvectors of the d x d scatter matrix instead of an SVD of the n x d data: same subspace,
        # and for MNIST (n = 48 000, d = 784) about 20x faster on a CPU. eigh sorts eigenvalues ascending.
        _, vectors = torch.linalg.eigh((centred.t() @ centred).cpu())  # a d x d problem; mps has no eigh
        self.components = vectors[:, -self.k:].flip(1).t().contiguous().to(x.device)
        return self

    def encode(self, x: Tensor) -> Tensor:
        """The k coordinates (n, k) of x in the principal directions."""
        return (x - self.mean) @ self.components.t()

    def decode(self, z: Tensor) -> Tensor:
        """Points (n, d) back in input space from their k coordinates."""
        return z @ self.components + self.mean

    def reconstruct(self, x: Tensor) -> Tensor:
        """x projected onto the fitted k-dimensional affine subspace."""
        return self.decode(self.encode(x))


def _name(module: nn.Module) -> str:
    return next(name for name, act in ACTIVATIONS.items() if type(module) is act.module)


def seeded(seed: int, cls: type[nn.Module] = SimpleMLP, *args, **kwargs) -> nn.Module:
    """Build `cls(*args, **kwargs)` with PyTorch's default init drawn from `seed` alone."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return cls(*args, **kwargs)


@dataclass(frozen=True)
class _Group:
    """The models of a stream that share hidden activation and width: their units are contiguous, and their
    output layer is one batched matrix product over (stream, model)."""

    activation: Activation
    width: int
    members: list[int]  # positions of the models within a stream
    units: slice  # their hidden units, model after model

    def __len__(self) -> int:
        return len(self.members)


class MLPStack:
    """M SimpleMLPs trained in lockstep with hand-derived gradients, on one or several minibatch streams.

    With `streams=S` the M = S*K models are stream-major (model i reads stream i // K) and every stream holds
    the same architectures in the same order, typically the same configurations under S seeds. The hidden
    units of a stream's models form one wide first layer, so the hidden layer of all streams is one batched
    matrix product. Units are laid out in groups of equal activation and width, and the output layer of a
    group is one batched product over its models: no model pays for the others (no block-diagonal mask).
    The backward pass is written out because autograd's per-node overhead dominates a 784-h-2 model at batch
    size 2 (tests check it against autograd). All parameters live in one flat buffer (`params`, gradients in
    `grad`), so an optimizer step is one fused kernel.
    """

    def __init__(self, models: Sequence[SimpleMLP], device: torch.device | str = "cpu", streams: int = 1):
        require_positive_int("streams", streams)
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
        self.groups: list[_Group] = []
        start = 0
        for width, act in sorted(set(arch[:K]), key=lambda wa: (wa[1], wa[0])):  # activation kinds contiguous
            members = [k for k in range(K) if arch[k] == (width, act)]
            self.groups.append(_Group(ACTIVATIONS[act], width, members, slice(start, start + len(members) * width)))
            start += len(members) * width
        self.kinds: list[tuple[Activation, slice]] = []  # each activation's contiguous block of units
        for g in self.groups:
            if self.kinds and self.kinds[-1][0] is g.activation:
                self.kinds[-1] = (g.activation, slice(self.kinds[-1][1].start, g.units.stop))
            else:
                self.kinds.append((g.activation, g.units))
        self.place = {k: (g, j) for g, group in enumerate(self.groups) for j, k in enumerate(group.members)}
        self.output_runs: list[tuple[int, int, int]] = []  # (group, start, stop): a stream's models in order
        for k in range(K):
            g, j = self.place[k]
            if self.output_runs and self.output_runs[-1][0] == g and self.output_runs[-1][2] == j:
                self.output_runs[-1] = (g, self.output_runs[-1][1], j + 1)
            else:
                self.output_runs.append((g, j, j + 1))
        D, O, U = self.in_features, self.out_features, start
        shapes = [(S, U, D), (S, U)] + [s for g in self.groups for s in ((S, len(g), O, g.width), (S, len(g), O))]
        numel = sum(torch.Size(s).numel() for s in shapes)
        dtype = first.fc1.weight.dtype
        self.params = torch.zeros(numel, device=device, dtype=dtype)
        self.grad = torch.zeros(numel, device=device, dtype=dtype)
        self._p, self._g = self._layout(self.params, shapes), self._layout(self.grad, shapes)
        with torch.no_grad():
            for i, model in enumerate(models):
                for mine, theirs in zip(self._model(self._p, i), model.parameters()):
                    mine.copy_(theirs)

    def _layout(self, buffer: Tensor, shapes: list[tuple[int, ...]]) -> SimpleNamespace:
        """Views into a flat buffer: W1 (S, U, in), b1 (S, U) and, per group, W2 (S*n, out, width), b2 (S*n, out)."""
        views = _views(buffer, shapes)
        return SimpleNamespace(W1=views[0], b1=views[1], W2=[w.flatten(0, 1) for w in views[2::2]],
                               b2=[b.flatten(0, 1) for b in views[3::2]])

    def _model(self, layout: SimpleNamespace, i: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Views of model i's (fc1.weight, fc1.bias, fc2.weight, fc2.bias) in the params or grad layout."""
        s, k = divmod(i, self.per_stream)
        g, j = self.place[k]
        group, row = self.groups[g], s * len(self.groups[g]) + j
        units = slice(group.units.start + j * group.width, group.units.start + (j + 1) * group.width)
        return layout.W1[s, units], layout.b1[s, units], layout.W2[g][row], layout.b2[g][row]

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

    def _by_group(self, t: Tensor, group: _Group) -> Tensor:
        """A group's block of a (S, B, units) tensor as (S*n, B, width): one matrix per (stream, model)."""
        block = t[..., group.units] if len(self.groups) > 1 else t
        if len(group) == 1:
            return block
        return block.unflatten(2, (len(group), group.width)).transpose(1, 2).reshape(-1, t.shape[1], group.width)

    def _from_groups(self, blocks: list[Tensor]) -> Tensor:
        """(S, B, units) from each group's (S*n, B, width) block: the inverse of _by_group."""
        S = self.streams
        blocks = [b if len(g) == 1 else b.unflatten(0, (S, len(g))).transpose(1, 2).flatten(2)
                  for g, b in zip(self.groups, blocks)]
        return blocks[0] if len(blocks) == 1 else torch.cat(blocks, 2)

    def forward(self, x: Tensor) -> tuple[Tensor, tuple]:
        """Outputs (B, M, out) of every model for inputs x (B, in), or (S, B, in) with one minibatch per stream,
        and what backward needs."""
        x = self._stream_inputs(x)
        p = self._p
        h = torch.baddbmm(p.b1.unsqueeze(1), x, p.W1.transpose(1, 2))
        a = self._per_kind(lambda act, h: act.forward(h), h)
        inputs = [self._by_group(a, g) for g in self.groups]
        z = [torch.baddbmm(b2.unsqueeze(1), a_g, W2.transpose(1, 2)) for a_g, W2, b2 in zip(inputs, p.W2, p.b2)]
        pre = self._in_model_order(z).transpose(0, 1)  # (B, M, O), a view
        out = pre if self.output_activation is None else ACTIVATIONS[self.output_activation].forward(pre)
        return out, (x, h, a, inputs, pre, out)

    def backward(self, x: Tensor, cache: tuple, dout: Tensor) -> None:
        """Write d(sum of the models' losses)/d(parameters) into self.grad, given dL/d(outputs) (B, M, out)."""
        x, h, a, inputs, pre, out = cache
        if self.output_activation is not None:
            dout = dout * ACTIVATIONS[self.output_activation].derivative(pre, out)
        d = dout.transpose(0, 1)  # (M, B, O): one matrix per model
        da = []
        for g, a_g, W2, gW2, gb2 in zip(self.groups, inputs, self._p.W2, self._g.W2, self._g.b2):
            d_g = d if len(self.groups) == 1 else self._rows(d, g)
            torch.bmm(d_g.transpose(1, 2), a_g, out=gW2)
            torch.sum(d_g, 1, out=gb2)
            da.append(torch.bmm(d_g, W2))
        dh = self._per_kind(lambda act, h, a: act.derivative(h, a), h, a).mul_(self._from_groups(da))
        torch.bmm(dh.transpose(1, 2), x, out=self._g.W1)
        torch.sum(dh, 1, out=self._g.b1)

    def _in_model_order(self, z: list[Tensor]) -> Tensor:
        """(M, B, O) from each group's (S*n, B, O) outputs: every stream's models back in their order."""
        if len(self.output_runs) == 1:
            return z[0]
        runs = [z[g].unflatten(0, (self.streams, -1))[:, j0:j1] for g, j0, j1 in self.output_runs]
        return torch.cat(runs, 1).flatten(0, 1)

    def _rows(self, d: Tensor, group: _Group) -> Tensor:
        """A group's models' rows (S*n, ...) of a per-model tensor (M, ...)."""
        m = group.members
        rows = slice(m[0], m[-1] + 1) if m[-1] - m[0] == len(m) - 1 else m
        if self.streams == 1:
            return d[rows]
        return d.unflatten(0, (self.streams, self.per_stream))[:, rows].flatten(0, 1)

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


def _views(buffer: Tensor, shapes: list[tuple[int, ...]]) -> list[Tensor]:
    """Consecutive views of the given shapes into a flat buffer."""
    out, offset = [], 0
    for shape in shapes:
        n = torch.Size(shape).numel()
        out.append(buffer[offset:offset + n].view(shape))
        offset += n
    return out
