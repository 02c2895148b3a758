"""Imbalanced 0-vs-1 data: all "0"s, a seeded random 1/N of the "1"s, split 80/20 per class; and random
distortions that turn the few "1"s into many."""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor

from ...engine.data import CLASS_COUNTS, MEAN, STD, Split, Splits, generator, load_mnist, mnist_root, prepare, split_indices


@dataclass
class Imbalanced:
    """One N: train / validation / sparse test splits, and the full (original) 0-vs-1 test set."""

    N: int
    splits: Splits
    full_test: Split

    @property
    def prior(self) -> float:
        """Share of "1"s in the training split: the class prior the model learns from."""
        return self.splits.train.y.float().mean().item()

    def counts(self) -> pd.DataFrame:
        """Number of "0"s and "1"s in every split."""
        parts = {**{k: getattr(self.splits, k) for k in ("train", "val")}, "test (sparse)": self.splits.test,
                 "test (full)": self.full_test}
        return pd.DataFrame({name: {'"0"s': int((s.y == 0).sum()), '"1"s': int((s.y == 1).sum())}
                             for name, s in parts.items()}).T


def max_N(labels: Tensor, val_fraction: float = 0.2) -> int:
    """The largest N that leaves at least one "1" in the training split."""
    n1 = int((labels == 1).sum())
    return next((N for N in range(n1, 0, -1) if _train_ones(n1 // N, val_fraction) > 0), 0)


def largest_N() -> int:
    """The largest N that leaves a "1" in the training split, from MNIST's official class counts."""
    return max_N(torch.ones(CLASS_COUNTS["train"][1]))  # max_N only counts the "1"s among the labels


def _train_ones(kept: int, val_fraction: float) -> int:
    return kept - int(kept * val_fraction)


def sparsify(labels: Tensor, N: int, gen: torch.Generator) -> Tensor:
    """Indices of every "0" followed by a random floor(n1 / N) of the "1"s (the "0"s never depend on N)."""
    ones = torch.nonzero(labels == 1).flatten()
    keep = ones[torch.randperm(len(ones), generator=gen)[:len(ones) // N]].sort().values
    return torch.cat([torch.nonzero(labels == 0).flatten(), keep])


def kept_index(labels: Tensor, N: int, seed: int) -> Tensor:
    """Indices of the training images that build keeps for this N and seed (see sparsify)."""
    return sparsify(labels, N, generator(seed, "sparsify"))


def build(train: Split, test: Split, N: int, seed: int, val_fraction: float = 0.2) -> Imbalanced:
    """Keep 1/N of the "1"s of train and test (seeded), split the kept training data per class into
    train / validation. N must leave at least one "1" for training."""
    largest = max_N(train.y, val_fraction)
    if isinstance(N, bool) or not isinstance(N, int) or not 1 <= N <= largest:
        raise ValueError(f'N must be an integer in 1..{largest} (larger N leaves no "1" to train on), got N={N!r}')
    kept = train.subset(kept_index(train.y, N, seed))
    # stratified: the "0"s come first and are permuted first, so their split is the same for every N
    tr, va = split_indices(kept.y, val_fraction, generator(seed, "split"), stratify=True)
    sparse_test = test.subset(sparsify(test.y, N, generator(seed, "sparsify-test")))
    return Imbalanced(N, Splits(kept.subset(tr), kept.subset(va), sparse_test), test)


def load_imbalanced(N: int, seed: int, root: str | Path | None = None, device: torch.device | str = "cpu") -> Imbalanced:
    """MNIST 0-vs-1 made imbalanced by N (see build), moved to `device`."""
    data = build(*_zeros_and_ones(mnist_root(root)), N, seed)
    return Imbalanced(N, Splits(*(getattr(data.splits, k).to(device) for k in ("train", "val", "test"))),
                      data.full_test.to(device))


def dropped_ones(N: int, seed: int, root: str | Path | None = None, device: torch.device | str = "cpu") -> Tensor:
    """The MNIST training "1"s that load_imbalanced(N, seed) leaves out: no method ever sees them, so they can tune
    a method without touching the test set."""
    train, _ = _zeros_and_ones(mnist_root(root))
    dropped = torch.ones(len(train), dtype=torch.bool)
    dropped[kept_index(train.y, N, seed)] = False  # every "0" is kept, so only "1"s remain
    return train.x[dropped].to(device)


@functools.lru_cache(maxsize=2)
def _zeros_and_ones(root: Path) -> tuple[Split, Split]:
    """The standardised 0-vs-1 train and test sets (prepared once per process: every N and seed reuses them)."""
    return tuple(Split(*prepare(load_mnist(t, root), (0, 1), True)) for t in (True, False))


def distort(x: Tensor, copies: int, gen: torch.Generator, degrees: float = 25.0, scale: float = 0.2,
            shear: float = 0.3, shift: float = 0.12) -> Tensor:
    """`copies` random distortions of randomly chosen rows of standardised 28x28 images x: a random affine map
    (rotation, scale, shear, shift) and a random stroke width (thinner, same or thicker by one pixel)."""
    if len(x) == 0 or copies <= 0:
        return x.new_zeros(0, x.shape[1])
    u = lambda lo, hi: lo + (hi - lo) * torch.rand(copies, generator=gen, dtype=torch.float64)
    image = (x.cpu()[torch.randint(len(x), (copies,), generator=gen)] * STD + MEAN).view(-1, 1, 28, 28)
    angle, size, skew = u(-degrees, degrees) * math.pi / 180, u(1 - scale, 1 + scale), u(-shear, shear)
    cos, sin = angle.cos(), angle.sin()
    # affine_grid maps output to input coordinates (in [-1, 1]): the inverse of rotate . shear . scale, then shift
    theta = torch.zeros(copies, 2, 3, dtype=torch.float64)
    theta[:, 0, 0], theta[:, 0, 1] = cos / size, (skew * cos - sin) / size
    theta[:, 1, 0], theta[:, 1, 1] = sin / size, (cos + skew * sin) / size
    theta[:, :, 2] = torch.stack([u(-shift, shift), u(-shift, shift)], 1) * 2  # a shift of `shift` image widths
    out = F.grid_sample(image, F.affine_grid(theta.float(), list(image.shape), align_corners=False), align_corners=False)
    width = torch.randint(3, (copies, 1, 1, 1), generator=gen)  # 0 thinner, 1 as drawn, 2 thicker
    # grey dilation / erosion over 3x3: one pixel thicker or thinner on each side (chosen over 2x2, which helped
    # less, by the recall on training-set "1"s that the sparsification had dropped: never the test set)
    thick, thin = F.max_pool2d(out, 3, 1, 1), -F.max_pool2d(-out, 3, 1, 1)
    out = torch.where(width == 2, thick, torch.where(width == 0, thin, out))
    return ((out.reshape(copies, -1) - MEAN) / STD).to(x.device)
