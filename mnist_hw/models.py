"""The one-hidden-layer MLPs of the assignment, and a stack that trains many of them in lockstep."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from .checks import require_choice

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh}


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
        self.activation = ACTIVATIONS[activation]()
        self.fc2 = nn.Linear(hidden, out_features)
        if output_activation is not None:
            self.activation_output = ACTIVATIONS[output_activation]()

    def forward(self, x: Tensor) -> Tensor:
        out = self.fc2(self.activation(self.fc1(x)))
        return self.activation_output(out) if hasattr(self, "activation_output") else out

    @property
    def activation_name(self) -> str:
        return _name(self.activation)

    @property
    def output_activation_name(self) -> str | None:
        return _name(self.activation_output) if hasattr(self, "activation_output") else None


class RegressionMLP(SimpleMLP):
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
    return next(k for k, cls in ACTIVATIONS.items() if type(module) is cls)


def seeded(seed: int, cls: type[nn.Module] = SimpleMLP, *args, **kwargs) -> nn.Module:
    """Build `cls(*args, **kwargs)` with PyTorch's default init drawn from `seed` alone."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return cls(*args, **kwargs)


_DERIVATIVE = {  # activation'(h) written through a = activation(h), which the forward pass keeps
    "sigmoid": lambda h, a: a * (1 - a),
    "relu": lambda h, a: (h > 0).to(a.dtype),
    "tanh": lambda h, a: 1 - a * a,
}


class MLPStack:
    """M SimpleMLPs on one input stream, trained in lockstep with hand-derived gradients.

    The hidden units of all models are concatenated into one wide first layer and the second layer is
    block-diagonal, so every model sees only its own units: each is trained exactly as it would be alone,
    but a step costs one set of matrix products instead of M. The backward pass is written out because
    autograd's per-node overhead dominates a 784-h-2 model at batch size 2 (tests check it against autograd).
    All parameters live in one flat buffer so an optimizer step is a handful of tensor operations.
    """

    def __init__(self, models: Sequence[SimpleMLP], device: torch.device | str = "cpu"):
        if not models:
            raise ValueError("MLPStack needs at least one model")
        first = models[0]
        self.in_features, self.out_features = first.fc1.in_features, first.fc2.out_features
        self.output_activation = first.output_activation_name
        if any((m.fc1.in_features, m.fc2.out_features, m.output_activation_name)
               != (self.in_features, self.out_features, self.output_activation) for m in models):
            raise ValueError("models in one stack must share input size, output size and output activation")
        self.hidden = [m.fc1.out_features for m in models]
        self.activations = [m.activation_name for m in models]
        M, O, D, U = len(models), self.out_features, self.in_features, sum(self.hidden)
        shapes = {"W1": (U, D), "b1": (U,), "W2": (M * O, U), "b2": (M * O,)}
        numel = sum(torch.Size(s).numel() for s in shapes.values())
        self.params = torch.zeros(numel, device=device)
        self.grad = torch.zeros(numel, device=device)
        self.W1, self.b1, self.W2, self.b2 = _views(self.params, shapes.values())
        self.gW1, self.gb1, self.gW2, self.gb2 = _views(self.grad, shapes.values())
        # Units are laid out grouped by activation kind (each model's units stay contiguous), so every
        # activation applies to one contiguous block instead of masking all units with every function.
        self.unit_slices: list[slice] = [slice(0)] * M
        self.kind_slices: list[tuple[str, slice]] = []
        start = 0
        for kind in sorted(set(self.activations)):
            kind_start = start
            for m in (m for m in range(M) if self.activations[m] == kind):
                self.unit_slices[m] = slice(start, start + self.hidden[m])
                start += self.hidden[m]
            self.kind_slices.append((kind, slice(kind_start, start)))
        self.block = torch.zeros(M * O, U, device=device)  # 1 where W2 connects a model's units to its outputs
        for m, s in enumerate(self.unit_slices):
            self.block[m * O:(m + 1) * O, s] = 1
        with torch.no_grad():
            for m, model, s in zip(range(M), models, self.unit_slices):
                self.W1[s] = model.fc1.weight
                self.b1[s] = model.fc1.bias
                self.W2[m * O:(m + 1) * O, s] = model.fc2.weight
                self.b2[m * O:(m + 1) * O] = model.fc2.bias

    def __len__(self) -> int:
        return len(self.hidden)

    @property
    def device(self) -> torch.device:
        return self.params.device

    def _per_kind(self, fn: Callable[[str, slice], Tensor], like: Tensor) -> Tensor:
        """Assemble fn(kind, units) over each activation kind's contiguous block of hidden units."""
        if len(self.kind_slices) == 1:
            return fn(*self.kind_slices[0])
        out = torch.empty_like(like)
        for kind, units in self.kind_slices:
            out[:, units] = fn(kind, units)
        return out

    def forward(self, x: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor, Tensor]]:
        """Outputs (B, M, out) of every model for inputs x (B, in), and what backward needs."""
        h = torch.addmm(self.b1, x, self.W1.t())
        a = self._per_kind(lambda kind, units: getattr(torch, kind)(h[:, units]), h)
        out = torch.addmm(self.b2, a, self.W2.t())
        if self.output_activation is not None:
            out = getattr(torch, self.output_activation)(out)
        return out.view(len(x), len(self), self.out_features), (h, a, out)

    def backward(self, x: Tensor, cache: tuple[Tensor, Tensor, Tensor], dout: Tensor) -> None:
        """Write d(sum of the models' losses)/d(parameters) into self.grad, given dL/d(outputs) (B, M, out)."""
        h, a, out = cache
        dz = dout.reshape(len(x), -1)
        if self.output_activation is not None:
            dz = dz * _DERIVATIVE[self.output_activation](None, out)
        torch.mm(dz.t(), a, out=self.gW2)
        if len(self) > 1:
            self.gW2.mul_(self.block)
        torch.sum(dz, 0, out=self.gb2)
        da = dz @ self.W2
        dh = self._per_kind(lambda kind, units: _DERIVATIVE[kind](h[:, units], a[:, units]), h).mul_(da)
        torch.mm(dh.t(), x, out=self.gW1)
        torch.sum(dh, 0, out=self.gb1)

    def to_models(self) -> list[SimpleMLP]:
        """The stacked models as independent SimpleMLPs (copies of the current weights)."""
        O, models = self.out_features, []
        for m, (hid, act, s) in enumerate(zip(self.hidden, self.activations, self.unit_slices)):
            model = SimpleMLP(self.in_features, hid, O, act, self.output_activation).to(self.device)
            with torch.no_grad():
                model.fc1.weight.copy_(self.W1[s])
                model.fc1.bias.copy_(self.b1[s])
                model.fc2.weight.copy_(self.W2[m * O:(m + 1) * O, s])
                model.fc2.bias.copy_(self.b2[m * O:(m + 1) * O])
            models.append(model)
        return models


def _views(buffer: Tensor, shapes) -> list[Tensor]:
    out, offset = [], 0
    for shape in shapes:
        n = torch.Size(shape).numel()
        out.append(buffer[offset:offset + n].view(shape))
        offset += n
    return out
