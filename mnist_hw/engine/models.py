"""The one-hidden-layer MLPs of the assignment as torch modules (the reference the stack is built from), and PCA."""
from __future__ import annotations

import threading

import torch
from torch import Tensor, nn

from .activations import ACTIVATION, ACTIVATIONS
from .rules import HIDDEN


class SimpleMLP(nn.Module):
    """in -> hidden -> out, one hidden activation and an optional output activation."""

    def __init__(self, in_features: int, hidden: int, out_features: int, activation: str = "relu",
                 output_activation: str | None = None):
        super().__init__()
        ACTIVATION.check("activation", activation)
        if output_activation is not None:
            ACTIVATION.check("output_activation", output_activation)
        HIDDEN.check("hidden", hidden)
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
        # Eigenvectors of the d x d scatter matrix instead of an SVD of the n x d data: the same subspace from a
        # much smaller problem when n >> d (docs/benchmark.md). eigh sorts eigenvalues ascending.
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


_GLOBAL_RNG = threading.Lock()


def seeded(seed: int, cls: type[nn.Module] = SimpleMLP, *args, **kwargs) -> nn.Module:
    """Build `cls(*args, **kwargs)` with PyTorch's default init drawn from `seed` alone."""
    with _GLOBAL_RNG, torch.random.fork_rng(devices=[]):  # the global generator is shared by every thread
        torch.manual_seed(seed)
        return cls(*args, **kwargs)
