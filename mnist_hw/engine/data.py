"""MNIST as in-memory tensors: loading with checksum verification, digit filtering, splits, minibatches."""
from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import os
import shutil
import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import filelock
import torch
from torch import Tensor

from .repository import REPO, outside

ENV_VAR = "MNIST_HW_DATA"
LOCK_NAME = ".download.lock"  # in root/MNIST/, held while files are downloaded or extracted
DEFAULT_ROOT = REPO / "data" if REPO else None  # none outside a checkout (never inside site-packages)
RAW_MD5 = {  # official checksums of the uncompressed IDX files
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
GZ_MD5 = {  # official checksums of the same files as distributed, gzip-compressed (torchvision's list)
    "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
}
CLASS_COUNTS = {  # images per digit 0..9 in the files above (tests check these against the real labels)
    "train": (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
    "test": (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
}
MEAN, STD = 0.1307, 0.3081  # MNIST training-set pixel statistics on the [0, 1] scale


def generator(seed: int, stream: str) -> torch.Generator:
    """A CPU generator for one named random stream (split, shuffle, ...) derived from one seed."""
    return torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(stream.encode()))


def mnist_root(root: str | Path | None = None) -> Path:
    """The data root: the argument, else $MNIST_HW_DATA, else data/ in the repository (outside one: an error)."""
    if not (found := root or os.environ.get(ENV_VAR) or DEFAULT_ROOT):
        raise FileNotFoundError(f"no MNIST data root: pass data_root or set {ENV_VAR}, as there is no data/ here: {outside()}")
    return Path(found).expanduser()


@functools.lru_cache(maxsize=None)
def _md5(path: Path, size: int, mtime: float) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def has_mnist(root: str | Path | None = None) -> bool:
    """Whether the four IDX files (uncompressed or .gz) are under root/MNIST/raw (checksums are not read)."""
    return _raw_layout(mnist_root(root) / "MNIST" / "raw") is not None


def _raw_layout(folder: Path) -> str | None:
    """'idx' if folder holds the four uncompressed files, 'gz' if each is there at least compressed, else None."""
    if all((folder / name).is_file() for name in RAW_MD5):
        return "idx"
    if all((folder / name).is_file() or (folder / f"{name}.gz").is_file() for name in RAW_MD5):
        return "gz"
    return None


def _misplaced(root: Path) -> str | None:
    """If the files sit one level off (root is .../MNIST/raw or .../MNIST), say where they are and what to do."""
    for folder, parent in ((root, root.parent.parent), (root / "raw", root.parent)):
        if _raw_layout(folder) is not None:
            fix = (f"set {ENV_VAR}={parent} (or pass data_root={str(parent)!r}), the folder that holds MNIST/raw/"
                   if folder.parent.name == "MNIST" and folder.name == "raw"
                   else f"move them into {root / 'MNIST' / 'raw'}")
            return f"found the MNIST files in {folder}; {fix}"
    return None


def _check_md5(path: Path, want: str) -> None:
    stat = path.stat()
    got = _md5(path, stat.st_size, stat.st_mtime)
    if got != want:
        raise ValueError(f"{path} is corrupted: md5 {got}, official {want}. Replace it with the official file.")


def _extract(raw: Path) -> None:
    """Decompress each official .gz whose IDX file is missing, next to it (checked first; written atomically)."""
    for name in RAW_MD5:
        target, packed = raw / name, raw / f"{name}.gz"
        if not target.is_file():
            _check_md5(packed, GZ_MD5[name])
            partial = raw / f"{name}.partial"
            with gzip.open(packed, "rb") as src, open(partial, "wb") as dst:
                shutil.copyfileobj(src, dst)
            partial.replace(target)


def _download(root: Path) -> None:
    """Download with torchvision into root/MNIST/raw; a failure (offline, proxy, disk...) says what to do instead."""
    from torchvision.datasets import MNIST

    try:
        for train in (True, False):
            MNIST(root, train=train, download=True)
    except Exception as err:
        raise _missing(root / "MNIST" / "raw", err) from None


def _missing(raw: Path, err: Exception) -> FileNotFoundError:
    return FileNotFoundError(
        f"MNIST is not in {raw} and could not be downloaded ({type(err).__name__}: {err}). "
        f"Put the four official IDX files ({', '.join(RAW_MD5)}; uncompressed or as the official .gz) in "
        f"<root>/MNIST/raw/ and set {ENV_VAR}=<root> (or pass data_root).")


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:  # one that another process has put something in stays
        with contextlib.suppress(OSError):
            folder.rmdir()


def _fetch(root: Path) -> None:
    """Download or extract under a lock on the data root (root/MNIST/.download.lock), so that runs started at once
    on a fresh clone do not both write the same files: the first does the work, the others wait, then find the files.
    A failure removes what this process created (files, then the lock and folders that nobody else is using)."""
    raw = root / "MNIST" / "raw"
    made = [folder for folder in (raw, root / "MNIST", root) if not folder.exists()]  # deepest first
    lock = filelock.FileLock(root / "MNIST" / LOCK_NAME)
    for attempt in range(100):
        try:
            held = lock.acquire()  # makes the missing folders
            break
        except OSError as err:  # FileNotFoundError: a failing process removed the folder while this one waited
            if not isinstance(err, FileNotFoundError) or attempt == 99:  # else: a root that cannot be written
                _remove_empty(made)
                raise _missing(raw, err) from None
    try:
        with held:  # released on leaving
            before = set(raw.iterdir()) if raw.is_dir() else set()
            try:
                if (layout := _raw_layout(raw)) == "gz":  # another process may have done it while this one waited
                    _extract(raw)
                elif layout is None:
                    _download(root)
            except BaseException:
                for path in set(raw.iterdir()) - before if raw.is_dir() else ():
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
                raise
    except BaseException:
        with contextlib.suppress(filelock.Timeout, OSError), lock.acquire(timeout=0):
            Path(lock.lock_file).unlink()
        _remove_empty(made)
        raise


def ensure_mnist(root: str | Path | None = None) -> Path:
    """Make sure the four raw IDX files are under root/MNIST/raw with official checksums; return root.

    Accepted: the uncompressed IDX files, or the official .gz files (checked, then extracted next to them, under a
    lock: see _fetch); otherwise a download is tried. Files one level off are reported without downloading anything.
    """
    root = mnist_root(root)
    raw = root / "MNIST" / "raw"
    layout = _raw_layout(raw)
    if layout is None and (hint := _misplaced(root)):
        raise FileNotFoundError(f"MNIST is not in {raw}: {hint}.")
    if layout != "idx":
        _fetch(root)
    for name, want in RAW_MD5.items():
        _check_md5(raw / name, want)
    return root


def load_mnist(train: bool, root: str | Path | None = None) -> tuple[Tensor, Tensor]:
    """Images (n, 28, 28) uint8 and labels (n,) int64 of the MNIST train or test set (read once per process)."""
    return _read(train, ensure_mnist(root))


@functools.lru_cache(maxsize=4)
def _read(train: bool, root: Path) -> tuple[Tensor, Tensor]:
    prefix = "train" if train else "t10k"
    raw = root / "MNIST" / "raw"
    return read_idx(raw / f"{prefix}-images-idx3-ubyte"), read_idx(raw / f"{prefix}-labels-idx1-ubyte").long()


def read_idx(path: Path) -> Tensor:
    """A uint8 IDX file (zero bytes, type 0x08, the number of dimensions, their big-endian int32 sizes, the data) as a
    tensor: what torchvision's MNIST reads, without importing torchvision (docs/design.md); tests compare the two."""
    data = path.read_bytes()
    if data[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path} is not a uint8 IDX file (magic {data[:4].hex()})")
    shape = struct.unpack(f">{data[3]}i", data[4:4 + 4 * data[3]])
    return torch.frombuffer(bytearray(data[4 + 4 * data[3]:]), dtype=torch.uint8).view(shape)


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


def load_splits(digits: Sequence[int] = range(10), seed: int = 0, val_fraction: float = 0.2,
                root: str | Path | None = None, standardize: bool = True, device: torch.device | str = "cpu") -> Splits:
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
    if weights is None:
        order = torch.randperm(n, generator=gen)
    else:
        order = torch.multinomial(weights.cpu().double(), n, replacement=True, generator=gen)
    return iter(order.split(batch_size))
