"""Imbalanced 0-vs-1 data: all "0"s, a seeded random 1/N of the "1"s, split 80/20 per class."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from torch import Tensor

from .data import Split, Splits, generator, load_mnist, mnist_root, prepare, split_indices


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

    def notes(self) -> list[str]:
        """Plain-language warnings about splits too small to score."""
        counts, out = self.counts()['"1"s'], []
        if counts["val"] == 0:
            out.append(f'N={self.N}: the validation split holds no "1"s (all {counts["train"]} kept went to training), '
                       "so validation F1 is undefined (n/a) and nothing positive can be tuned on it.")
        if counts["test (sparse)"] == 0:
            out.append(f'N={self.N}: the sparse test set holds no "1"s, so its F1 is undefined (n/a); '
                       "use the full test set or the prior-adjusted F1.")
        return out


def max_N(labels: Tensor, val_fraction: float = 0.2) -> int:
    """The largest N that leaves at least one "1" in the training split."""
    n1 = int((labels == 1).sum())
    return next((N for N in range(n1, 0, -1) if _train_ones(n1 // N, val_fraction) > 0), 0)


def _train_ones(kept: int, val_fraction: float) -> int:
    return kept - int(kept * val_fraction)


def sparsify(labels: Tensor, N: int, gen: torch.Generator) -> Tensor:
    """Indices of every "0" followed by a random floor(n1 / N) of the "1"s (the "0"s never depend on N)."""
    ones = torch.nonzero(labels == 1).flatten()
    keep = ones[torch.randperm(len(ones), generator=gen)[:len(ones) // N]].sort().values
    return torch.cat([torch.nonzero(labels == 0).flatten(), keep])


def build(train: Split, test: Split, N: int, seed: int, val_fraction: float = 0.2) -> Imbalanced:
    """Keep 1/N of the "1"s of train and test (seeded), split the kept training data per class into
    train / validation. N must leave at least one "1" for training."""
    largest = max_N(train.y, val_fraction)
    if isinstance(N, bool) or not isinstance(N, int) or not 1 <= N <= largest:
        raise ValueError(f'N must be an integer in 1..{largest} (larger N leaves no "1" to train on), got N={N!r}')
    kept = train.subset(sparsify(train.y, N, generator(seed, "sparsify")))
    # stratified: the "0"s come first and are permuted first, so their split is the same for every N
    tr, va = split_indices(kept.y, val_fraction, generator(seed, "split"), stratify=True)
    sparse_test = test.subset(sparsify(test.y, N, generator(seed, "sparsify-test")))
    return Imbalanced(N, Splits(kept.subset(tr), kept.subset(va), sparse_test), test)


def load_imbalanced(N: int, seed: int, root: str | Path | None = None, device: torch.device | str = "cpu") -> Imbalanced:
    """MNIST 0-vs-1 made imbalanced by N (see build), moved to `device`."""
    data = build(*_zeros_and_ones(mnist_root(root)), N, seed)
    return Imbalanced(N, Splits(*(getattr(data.splits, k).to(device) for k in ("train", "val", "test"))),
                      data.full_test.to(device))


@functools.lru_cache(maxsize=2)
def _zeros_and_ones(root: Path) -> tuple[Split, Split]:
    """The standardised 0-vs-1 train and test sets (prepared once per process: every N and seed reuses them)."""
    return tuple(Split(*prepare(load_mnist(t, root), (0, 1), True)) for t in (True, False))
