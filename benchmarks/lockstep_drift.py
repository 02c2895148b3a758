"""How far a model trained inside a lockstep stack drifts from the same model trained alone, and from itself on
another thread count: the measurement behind docs/floating-point.md.

The stacked model sees exactly the same initial weights, minibatches and update rule as the lone one, so in exact
arithmetic the two are identical. In floating point the stack's matrix products sum in another order (the hidden
layer is one wide product; BLAS blocks it differently), so rounding differs in the last bit and training, being
chaotic, amplifies it. Printed: relative L2 distance of all weights, and how many test predictions differ.

usage: python benchmarks/lockstep_drift.py [--epochs 1] [--dry-run]
"""
from __future__ import annotations

import argparse

import torch

from mnist_hw.engine.data import Split, load_splits
from mnist_hw.engine.stack import MLPStack
from mnist_hw.engine.models import SimpleMLP, seeded
from mnist_hw.engine.train import TrainConfig, fit, predict

COMPANIONS = [(4, "sigmoid"), (32, "relu"), (64, "sigmoid")]  # other grid models sharing the stack


def train(dtype: torch.dtype, stacked: bool, threads: int, splits, steps_data, epochs: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights (flattened) and test predictions of the 784-128-10 ReLU model of seed 0, alone or in a stack."""
    torch.set_num_threads(threads)
    models = [seeded(0, SimpleMLP, 784, 128, 10, "relu")]
    if stacked:
        models += [seeded(0, SimpleMLP, 784, h, 10, a) for h, a in COMPANIONS]
    stack = MLPStack([m.to(dtype) for m in models])
    fit(stack, Split(steps_data.x.to(dtype), steps_data.y), TrainConfig(epochs=epochs, batch_size=64, optimizer="adam", lr=1e-3, schedule="cosine", seed=0))
    model = stack.to_models()[0]
    weights = torch.cat([p.detach().flatten() for p in model.parameters()])
    return weights, predict(stack, splits.test.x.to(dtype))[:, 0].argmax(-1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1, help="epochs of the long comparison (default 1)")
    parser.add_argument("--dry-run", action="store_true", help="a few hundred images, to check that it runs")
    args = parser.parse_args()
    splits = load_splits(range(10), seed=0)
    first = splits.train.subset(torch.arange(6400))  # 100 steps of batch 64
    full = splits.train.subset(torch.arange(640)) if args.dry_run else splits.train
    print(f"{'comparison':<52}{'rel. L2 of weights':>20}{'test predictions differing':>28}")

    def compare(name, a, b):
        (wa, pa), (wb, pb) = a, b
        rel = ((wa.double() - wb.double()).norm() / wb.double().norm()).item()
        print(f"{name:<52}{rel:>20.1e}{int((pa != pb).sum()):>28}")

    for dtype in (torch.float64, torch.float32):
        compare(f"stacked vs alone, {str(dtype)[6:]}, 100 steps", train(dtype, True, 2, splits, first, 1),
                train(dtype, False, 2, splits, first, 1))
    label = f"{args.epochs} epoch{'s' if args.epochs > 1 else ''}"
    alone = train(torch.float32, False, 2, splits, full, args.epochs)
    compare(f"stacked vs alone, float32, {label}", train(torch.float32, True, 2, splits, full, args.epochs), alone)
    compare(f"alone, 1 thread vs 2 threads, float32, {label}", train(torch.float32, False, 1, splits, full, args.epochs), alone)


if __name__ == "__main__":
    main()
