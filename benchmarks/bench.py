"""Classic PyTorch pipeline vs mnist_hw, side by side in one process, on the same data and device.

classic : torchvision MNIST + ToTensor/Normalize transforms + Subset + DataLoader, nn.Module, torch.optim, autograd
mnist_hw: in-memory tensors, hand-derived backward, fused optimizer kernels (and lockstep stacks for grids)

Prints seconds per epoch for each case and the speed-up ratio. Example: python benchmarks/bench.py --dry-run
"""
from __future__ import annotations

import argparse
import platform
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms

from mnist_hw.data import MEAN, STD, ensure_mnist, generator, load_splits
from mnist_hw.models import MLPStack, SimpleMLP, seeded
from mnist_hw.training import fit, resolve_device, synchronize


def classic_epoch(root, digits, batch_size: int, model: torch.nn.Module, device, max_steps: int | None) -> float:
    """Seconds for one epoch of the textbook loop (extrapolated from max_steps when given)."""
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))])
    ds = datasets.MNIST(root, train=True, transform=tf)
    keep = torch.isin(ds.targets, torch.tensor(digits)).nonzero().flatten().tolist()
    loader = DataLoader(Subset(ds, keep[: int(0.8 * len(keep))]), batch_size=batch_size, shuffle=True,
                        generator=generator(0, "shuffle"))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    steps = len(loader) if max_steps is None else min(max_steps, len(loader))
    synchronize(device)
    start = time.perf_counter()
    for step, (x, y) in enumerate(loader):
        if step == steps:
            break
        x, y = x.to(device).flatten(1), y.to(device)
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    synchronize(device)
    return (time.perf_counter() - start) * len(loader) / steps


def ours_epoch(train, batch_size: int, stack: MLPStack) -> float:
    """Seconds for one epoch of mnist_hw's fit."""
    return fit(stack, train, epochs=1, batch_size=batch_size).seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="auto | cpu | cuda | mps (default: cpu)")
    parser.add_argument("--hidden", type=int, default=16, help="hidden units of the Q1 model (default: 16)")
    parser.add_argument("--dry-run", action="store_true", help="a few steps per case, to check that it runs")
    args = parser.parse_args()
    device, root = resolve_device(args.device), ensure_mnist()
    max_steps = 20 if args.dry_run else None
    print(f"# {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
          f"device {device}")
    splits = load_splits((0, 1), seed=0, root=root, device=device)
    train = splits.train if not args.dry_run else splits.train.subset(torch.arange(40 * 128, device=device))
    print(f"{'case':<28}{'classic s/epoch':>16}{'mnist_hw s/epoch':>18}{'speed-up':>10}")
    for batch_size in (2, 128):
        model = seeded(0, SimpleMLP, 784, args.hidden, 2).to(device)
        classic = classic_epoch(root, [0, 1], batch_size, model, device, max_steps)
        ours = ours_epoch(train, batch_size, MLPStack([seeded(0, SimpleMLP, 784, args.hidden, 2)], device))
        ours *= len(splits.train) / len(train)
        print(f"{f'Q1 0-vs-1, batch {batch_size}':<28}{classic:>16.3f}{ours:>18.3f}{classic / ours:>9.1f}x")


if __name__ == "__main__":
    main()
