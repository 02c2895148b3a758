"""Check and time mnist_hw's engine on an accelerator against the CPU: gradients against autograd on the device,
the same sweeps on both devices (accuracies must agree to float tolerance, not to the last digit), and seconds
per epoch of the Q1 and Q2 training on each.

usage: python benchmarks/device_check.py [--device cuda] [--dry-run]
"""
from __future__ import annotations

import argparse
import time

import torch

from mnist_hw.engine.data import load_splits
from mnist_hw.engine.losses import CrossEntropy
from mnist_hw.engine.activations import ACTIVATIONS
from mnist_hw.engine.stack import MLPStack
from mnist_hw.engine.models import SimpleMLP, seeded
from mnist_hw.runs.sweep import sweep_configs
from mnist_hw.engine.train import TrainConfig, fit
from mnist_hw.engine.device import resolve_device, synchronize

Q2_GRID = [(h, a) for h in (4, 32, 64, 128) for a in ("sigmoid", "relu")]


def gradient_check(device: torch.device) -> float:
    """Largest relative gradient error of a 2-stream stack against autograd, over every output activation."""
    worst = 0.0
    x = torch.randn(2, 16, 784, device=device)
    y = torch.randint(0, 10, (16,), device=device)
    for out_act in (None, *ACTIVATIONS):
        models = [seeded(s, SimpleMLP, 784, h, 10, a, out_act) for s in (0, 1) for h, a in Q2_GRID[:4]]
        stack = MLPStack(models, device, streams=2)
        out, cache = stack.forward(x)
        losses, dout = CrossEntropy()(out, y)
        stack.backward(x, cache, dout)
        for i, (mine, ref) in enumerate(zip(stack.to_models(), models)):
            ref = ref.to(device)
            torch.nn.functional.cross_entropy(ref(x[i // 4]), y).backward()
            for p, q in zip(mine.parameters(), ref.parameters()):
                worst = max(worst, ((p.grad - q.grad).abs().max() / q.grad.abs().max().clamp_min(1e-12)).item())
    return worst


def epoch_seconds(device: torch.device, splits, models, batch_size: int, streams: int = 1, repeats: int = 2) -> float:
    """Best of `repeats` one-epoch trainings of a fresh stack."""
    best = float("inf")
    for _ in range(repeats):
        stack = MLPStack([m for m in models], device, streams=streams)
        train = [splits.train] * streams
        synchronize(device)
        start = time.perf_counter()
        fit(stack, train, TrainConfig(epochs=1, batch_size=batch_size), seeds=list(range(streams)))
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="the accelerator to check against cpu (default: cuda)")
    parser.add_argument("--dry-run", action="store_true", help="one epoch on a few batches, to check that it runs")
    args = parser.parse_args()
    device = resolve_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
    print(f"# {name}, torch {torch.__version__}, CPU threads {torch.get_num_threads()}")
    print(f"gradient check on {device.type}: largest relative error against autograd {gradient_check(device):.1e}")

    q1 = {d: load_splits((0, 1), seed=0, device=d) for d in ("cpu", device.type)}
    q2 = {d: load_splits(range(10), seed=0, device=d) for d in ("cpu", device.type)}
    if args.dry_run:
        for s in (q1, q2):
            for d, sp in s.items():
                sp.train = sp.train.subset(torch.arange(2048, device=sp.train.x.device))

    # the same Q1 sweep (3 seeds as streams) on both devices: accuracies agree to float tolerance
    configs = [TrainConfig(hidden=16, epochs=1 if args.dry_run else 5, batch_size=b, seed=s) for s in (0, 1, 2) for b in (16, 128)]
    acc = {d: sweep_configs(configs, lambda seed, d=d: load_splits((0, 1), seed=seed, device=d), 2, progress=False)[0]
           for d in ("cpu", device.type)}
    diff = (acc["cpu"].test_acc - acc[device.type].test_acc).abs()
    print(f"Q1 sweep (batch 16/128 x 3 seeds), test accuracy {device.type} vs cpu: largest difference {diff.max():.2f} "
          f"points, mean {diff.mean():.3f}")

    print(f"{'seconds per epoch':<40}{'cpu':>10}{device.type:>10}{'ratio':>8}")
    cases = [("Q1 batch 2, 3 seeds as streams", q1, [seeded(s, SimpleMLP, 784, 16, 2) for s in range(3)], 2, 3),
             ("Q1 batch 128, 1 model", q1, [seeded(0, SimpleMLP, 784, 16, 2)], 128, 1)]
    cases += [(f"Q2 grid stack, batch {b} (8 models)", q2, [seeded(0, SimpleMLP, 784, h, 10, a) for h, a in Q2_GRID], b, 1)
              for b in (64, 1024)]
    for label, splits, models, batch, streams in cases:
        if args.dry_run and batch == 2:
            continue
        t = {d: epoch_seconds(torch.device(d), splits[d], models, batch, streams) for d in ("cpu", device.type)}
        print(f"{label:<40}{t['cpu']:>10.3f}{t[device.type]:>10.3f}{t['cpu'] / t[device.type]:>7.1f}x")


if __name__ == "__main__":
    main()
