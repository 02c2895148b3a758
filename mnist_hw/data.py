"""MNIST as in-memory tensors: loading with checksum verification, digit filtering, splits, minibatches."""
from __future__ import annotations

import functools
import hashlib
import os
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from .params import require_positive_int

ENV_VAR = "MNIST_HW_DATA"
DEFAULT_ROOT = Path(__file__).resolve().parents[1] / "data"
RAW_MD5 = {  # official checksums of the uncompressed IDX files
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
MEAN, STD = 0.1307, 0.3081  # MNIST training-set pixel statistics on the [0, 1] scale


def generator(seed: int, stream: str) -> torch.Generator:
    """A CPU generator for one named random stream (split, shuffle, ...) derived from one seed."""
    return torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(stream.encode()))


def mnist_root(root: str | Path | None = None) -> Path:
    """The data root: the argument, else $MNIST_HW_DATA, else data/ in the repository."""
    return Path(root or os.environ.get(ENV_VAR) or DEFAULT_ROOT).expanduser()


@functools.lru_cache(maxsize=None)
def _md5(path: Path, size: int, mtime: float) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def has_mnist(root: str | Path | None = None) -> bool:
    """Whether the four raw IDX files are under root/MNIST/raw (their checksums are not read)."""
    raw = mnist_root(root) / "MNIST" / "raw"
    return all((raw / name).is_file() for name in RAW_MD5)


def ensure_mnist(root: str | Path | None = None) -> Path:
    """Make sure the four raw IDX files are under root/MNIST/raw with official checksums; return root."""
    root = mnist_root(root)
    raw = root / "MNIST" / "raw"
    if not has_mnist(root):
        from torchvision.datasets import MNIST

        try:
            for train in (True, False):
                MNIST(root, train=train, download=True)
        except Exception as err:  # offline, proxy, disk...: one message that says what to do
            raise FileNotFoundError(
                f"MNIST is not in {raw} and could not be downloaded ({type(err).__name__}: {err}). "
                f"Put the four uncompressed IDX files ({', '.join(RAW_MD5)}) in <root>/MNIST/raw/ "
                f"and set {ENV_VAR}=<root> (or pass data_root)."
            ) from None
    for name, want in RAW_MD5.items():
        path = raw / name
        stat = path.stat()
        got = _md5(path, stat.st_size, stat.st_mtime)
        if got != want:
            raise ValueError(f"{path} is corrupted: md5 {got}, official {want}. Replace it with the official file.")
    return root


def load_mnist(train: bool, root: str | Path | None = None) -> tuple[Tensor, Tensor]:
    """Images (n, 28, 28) uint8 and labels (n,) int64 of the MNIST train or test set (read once per process)."""
    return _read(train, ensure_mnist(root))


@functools.lru_cache(maxsize=4)
def _read(train: bool, root: Path) -> tuple[Tensor, Tensor]:
    from torchvision.datasets import MNIST

    ds = MNIST(root, train=train, download=False)
    return ds.data, ds.targets


def select_digits(images: Tensor, labels: Tensor, digits: Sequence[int]) -> tuple[Tensor, Tensor]:
    """Keep the samples of the given digits; labels become their index in `digits`."""
    digits = list(digits)
    if not digits or len(set(digits)) != len(digits) or not all(0 <= d <= 9 for d in digits):
        raise ValueError(f"digits must be distinct values in 0..9, got {digits}")
    lookup = torch.full((10,), -1, dtype=torch.long)
    lookup[digits] = torch.arange(len(digits))
    keep = lookup[labels] >= 0
    return images[keep], lookup[labels[keep]]


def to_inputs(images: Tensor, standardize: bool = True) -> Tensor:
    """Flatten uint8 images to float32 (n, 784): standardized, or on the [0, 1] scale."""
    x = images.reshape(len(images), -1).float().div_(255)
    return x.sub_(MEAN).div_(STD) if standardize else x


def split_indices(labels: Tensor, val_fraction: float, gen: torch.Generator, stratify: bool = False) -> tuple[Tensor, Tensor]:
    """Random train/validation indices; validation gets floor(n * val_fraction) (per class if stratify)."""
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    groups = [torch.nonzero(labels == c).flatten() for c in labels.unique()] if stratify else [torch.arange(len(labels))]
    train, val = [], []
    for idx in groups:
        idx = idx[torch.randperm(len(idx), generator=gen)]
        n_val = int(len(idx) * val_fraction)
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    return torch.cat(train).sort().values, torch.cat(val).sort().values


def pick_per_class(labels: Tensor, n: int, gen: torch.Generator) -> Tensor:
    """Indices (classes, n): n distinct samples drawn at random from each class, classes in ascending order."""
    labels = labels.cpu()
    rows = []
    for c in labels.unique():
        idx = torch.nonzero(labels == c).flatten()
        if len(idx) < n:
            raise ValueError(f"class {c.item()} has {len(idx)} samples, fewer than the {n} asked for")
        rows.append(idx[torch.randperm(len(idx), generator=gen)[:n]])
    return torch.stack(rows)


@dataclass
class Split:
    """Inputs and labels of one data split, on one device."""

    x: Tensor
    y: Tensor

    def __len__(self) -> int:
        return len(self.y)

    def to(self, device: torch.device | str) -> Split:
        return Split(self.x.to(device), self.y.to(device))

    def subset(self, index: Tensor) -> Split:
        return Split(self.x[index], self.y[index])


@dataclass
class Splits:
    """The train / validation / test splits of one experiment."""

    train: Split
    val: Split
    test: Split

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def load_splits(
    digits: Sequence[int] = range(10),
    seed: int = 0,
    val_fraction: float = 0.2,
    root: str | Path | None = None,
    standardize: bool = True,
    device: torch.device | str = "cpu",
) -> Splits:
    """MNIST restricted to `digits`, training set split at random into train/validation (seeded)."""
    train = Split(*prepare(load_mnist(True, root), digits, standardize))
    test = Split(*prepare(load_mnist(False, root), digits, standardize))
    tr, va = split_indices(train.y, val_fraction, generator(seed, "split"))
    return Splits(train.subset(tr).to(device), train.subset(va).to(device), test.to(device))


def prepare(data: tuple[Tensor, Tensor], digits: Sequence[int], standardize: bool) -> tuple[Tensor, Tensor]:
    """Model inputs and labels of the given digits from raw (images, labels)."""
    images, labels = select_digits(*data, digits)
    return to_inputs(images, standardize), labels


def minibatches(n: int, batch_size: int, gen: torch.Generator, weights: Tensor | None = None) -> Iterator[Tensor]:
    """Index batches for one epoch: a seeded permutation, or n draws with replacement ∝ weights."""
    require_positive_int("batch_size", batch_size)
    if weights is None:
        order = torch.randperm(n, generator=gen)
    else:
        order = torch.multinomial(weights.cpu().double(), n, replacement=True, generator=gen)
    return iter(order.split(batch_size))
