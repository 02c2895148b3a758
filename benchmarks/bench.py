"""mnist_hw against two peers, side by side in one process, on the same data and device.

DataLoader: torchvision MNIST + ToTensor/Normalize transforms + Subset + DataLoader, nn.Module, torch.optim,
            autograd, one model at a time
in-memory : what a careful student writes: MNIST kept as tensors, a shuffled index per epoch, x[idx], nn.Module,
            torch.optim, autograd, one model at a time (the textbook loop over tensors)
mnist_hw  : in-memory tensors, hand-derived backward, the fused Adam kernel, lockstep stacks for the Q2 grid,
            seeds as the minibatch streams of one stack (Q1, Q3)

Prints seconds per epoch of each case under each peer, mnist_hw's speed-up over both, and mnist_hw's achieved
GFLOP/s against a measured matrix-multiply peak of the same machine (the share of the limit each question
reaches); the Adam step through torch.optim against the fused kernel called
directly; with --scaling, the cost per model of stacks of 1 to 240 models; with --workers, the Q2 grid's stacks
one at a time on every thread vs two at a time on a share each.
Run it as `python -m mnist_hw bench` (or `python benchmarks/bench.py`), e.g. with --dry-run.
"""
from __future__ import annotations

import argparse
import itertools
import math
import platform
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms

from mnist_hw.engine.data import MEAN, STD, Split, ensure_mnist, generator, load_splits
from mnist_hw.engine.losses import MSE, CrossEntropy
from mnist_hw.engine.stack import MLPStack
from mnist_hw.engine.models import Autoencoder, SimpleMLP, seeded
from mnist_hw.runs.sweep import sweep_configs
from mnist_hw.engine.optim import Adam
from mnist_hw.engine.train import TrainConfig, fit
from mnist_hw.engine.device import resolve_device, synchronize
from mnist_hw.questions.q3.data import load_imbalanced
from mnist_hw.questions.q3.remedies import STACKED, train_stacked_seeds

Q2_GRID = [(b, o, lr, h, a) for b in (64, 128, 1024) for o, lr in (("adam", 1e-3), ("sgd", 1e-2))
           for h in (4, 32, 64, 128) for a in ("sigmoid", "relu")]


def classic_epoch(ds, batch_size: int, model: torch.nn.Module, optimizer: str, lr: float, device,
                  max_steps: int | None, autoencoder: bool = False) -> float:
    """Seconds for one epoch of the textbook loop over ds (extrapolated from max_steps steps when given)."""
    loader = DataLoader(ds, batch_size=batch_size, shuffle=True, generator=generator(0, "shuffle"))
    opt = (torch.optim.Adam if optimizer == "adam" else torch.optim.SGD)(model.parameters(), lr=lr)
    steps = len(loader) if max_steps is None else min(max_steps, len(loader))
    synchronize(device)
    start = time.perf_counter()
    for x, y in itertools.islice(loader, steps):
        x, y = x.to(device).flatten(1), y.to(device)
        opt.zero_grad()
        out = model(x)
        (F.mse_loss(out, x) if autoencoder else F.cross_entropy(out, y)).backward()
        opt.step()
    synchronize(device)
    return (time.perf_counter() - start) * len(loader) / steps


def inmemory_epoch(data: Split, batch_size: int, model: torch.nn.Module, optimizer: str, lr: float,
                   max_steps: int | None, autoencoder: bool = False, seed: int = 0) -> float:
    """Seconds for one epoch of the textbook loop over in-memory tensors (extrapolated from max_steps steps)."""
    opt = (torch.optim.Adam if optimizer == "adam" else torch.optim.SGD)(model.parameters(), lr=lr)
    order = torch.randperm(len(data), generator=generator(seed, "shuffle")).to(data.x.device)
    batches = order.split(batch_size)
    steps = len(batches) if max_steps is None else min(max_steps, len(batches))
    synchronize(data.x.device)
    start = time.perf_counter()
    for idx in batches[:steps]:
        x, y = data.x[idx], data.y[idx]
        opt.zero_grad()
        out = model(x)
        (F.mse_loss(out, x) if autoencoder else F.cross_entropy(out, y)).backward()
        opt.step()
    synchronize(data.x.device)
    return (time.perf_counter() - start) * len(batches) / steps


def torchvision_split(root, digits, normalize: bool) -> Subset:
    """The classic dataset: per-item PIL -> ToTensor (-> Normalize), restricted to digits, first 80 %."""
    tf = [transforms.ToTensor()] + ([transforms.Normalize((MEAN,), (STD,))] if normalize else [])
    ds = datasets.MNIST(root, train=True, transform=transforms.Compose(tf))
    keep = torch.isin(ds.targets, torch.tensor(digits)).nonzero().flatten().tolist()
    return Subset(ds, keep[: int(0.8 * len(keep))])


def stack_flops(stack: MLPStack, samples: int) -> float:
    """Useful floating-point operations of one training pass over `samples` inputs per stream: the forward,
    loss-gradient and backward matrix products of every model."""
    units = sum(stack.hidden)
    return samples * (4 * stack.in_features * units + 6 * units * stack.out_features)


def matmul_peak(device, n: int = 2048, reps: int = 10) -> float:
    """GFLOP/s of a large float32 matrix multiply on this device (the machine's practical ceiling)."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    a @ b
    synchronize(device)
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    synchronize(device)
    return 2 * n**3 * reps / (time.perf_counter() - start) / 1e9


def adam_step_us(device, numel: int = 784 * 16 + 16 + 17 * 2, reps: int = 2000) -> dict[str, float]:
    """Microseconds per Adam step on a flat buffer the size of a 784-16-2 model, through torch.optim.Adam and
    through the fused kernel called directly (the best of 5 runs each)."""
    params = torch.zeros(numel, device=device)
    grad = torch.randn(numel, device=device)
    times = {}
    for name, direct in (("torch.optim.Adam", False), ("fused kernel", True)):
        opt, best = Adam(params, grad, 1e-3, direct=direct), float("inf")
        for _ in range(5):
            synchronize(device)
            start = time.perf_counter()
            for _ in range(reps):
                opt.step()
            synchronize(device)
            best = min(best, (time.perf_counter() - start) / reps * 1e6)
        times[name] = best
    return times


def q3_case(device, root, report, ours_epoch, dataloader_ds, steps: int) -> None:
    """Q3's unit: one N (100) with its 5 seeds, the cross-entropy family's 7 784-4-2 models per seed (baseline,
    4 class weightings, logit adjustment, focal) as one stack with a stream per seed; the peers train the 35
    models one at a time (one model timed, times 35; the DataLoader over the 0-vs-1 set, its steps scaled to N=100's
    training split)."""
    seeds, N, b = range(5), 100, 64
    data = [load_imbalanced(N, s, root, device) for s in seeds]
    train = data[0].splits.train
    cfg = TrainConfig(hidden=4, activation="relu", epochs=1, batch_size=b)
    per_step = classic_epoch(dataloader_ds, b, seeded(0, SimpleMLP, 784, 4, 2).to(device), "adam", 1e-3, device,
                             steps) / math.ceil(len(dataloader_ds) / b)
    loader = per_step * math.ceil(len(train) / b)
    memory = inmemory_epoch(train, b, seeded(0, SimpleMLP, 784, 4, 2).to(device), "adam", 1e-3, steps)
    scored = train_stacked_seeds(data, cfg, seeds, STACKED)
    models = len(seeds) * (len(scored[0].names) - 1)  # 'threshold' reuses the baseline's model
    stack = MLPStack([seeded(0, SimpleMLP, 784, 4, 2)] * models, device, streams=len(seeds))
    report(f"Q3 N={N}, {len(seeds)} seeds x {models // len(seeds)} models", loader * models, memory * models,
           sum(s.seconds for s in scored), stack_flops(stack, len(train)))


def scaling(device, root, steps_budget: int) -> None:
    """Seconds per epoch and ms per model of stacks of 784-128-10 ReLU models at batch 128 on 10-digit MNIST."""
    train = load_splits(range(10), seed=0, root=root, device=device).train
    batch = 128
    steps_per_epoch = -(-len(train) // batch)
    print(f"\n# scaling: 784-128-10 relu, batch {batch}, adam; each count timed over a fraction of an epoch "
          f"(after 2 warm-up steps) and extrapolated to the {steps_per_epoch} steps of one epoch")
    print(f"{'models':>8}{'steps timed':>13}{'s/epoch':>10}{'ms/model':>10}")
    per_model = {}
    for count in (1, 4, 16, 48, 96, 240):
        steps = max(2, min(steps_per_epoch, steps_budget // count))
        stack = MLPStack([seeded(i, SimpleMLP, 784, 128, 10) for i in range(count)], device)
        fit(stack, train.subset(torch.arange(2 * batch, device=device)), TrainConfig(epochs=1, batch_size=batch))  # warm-up
        part = train.subset(torch.arange(steps * batch, device=device))
        seconds = fit(stack, part, TrainConfig(epochs=1, batch_size=batch)).seconds * steps_per_epoch / steps
        per_model[count] = seconds / count * 1e3
        print(f"{count:>8}{steps:>13}{seconds:>10.2f}{per_model[count]:>10.1f}")
    best = min(per_model.values())
    print(f"# ms/model relative to the best count: " + ", ".join(f"{c}: {v / best:.2f}x" for c, v in per_model.items()))


def workers(device, root, epochs: int, repeats: int) -> None:
    """Wall time of the Q2 grid's six stacks (with per-epoch validation and the final evaluation, as in the
    notebook) trained one at a time on every thread, and two at a time on one thread each (sweep_configs' workers),
    alternately `repeats` times."""
    splits = load_splits(range(10), seed=0, root=root, device=device)
    configs = [TrainConfig(hidden=h, activation=a, optimizer=o, lr=lr, epochs=epochs, batch_size=b, schedule="cosine")
               for b, o, lr, h, a in Q2_GRID]
    threads = torch.get_num_threads()
    print(f"\n# Q2 grid, {epochs} epoch(s), 6 stacks: wall seconds, one at a time on {threads} threads vs "
          f"2 at a time on {max(1, threads // 2)} thread(s) each")
    walls = {1: [], 2: []}
    for _ in range(repeats):
        for n in walls:
            start = time.perf_counter()
            sweep_configs(configs, lambda seed: splits, 10, progress=False, workers=n)
            walls[n].append(time.perf_counter() - start)
    print("  " + "; ".join(f"workers {n}: " + ", ".join(f"{w:.1f}" for w in ws) + " s" for n, ws in walls.items())
          + "; ratio per repeat " + ", ".join(f"{a / b:.2f}x" for a, b in zip(walls[1], walls[2])))


def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    examples = ("examples:\n  %(prog)s --dry-run              a few steps per case, to check that it runs\n"
                "  %(prog)s                        the full comparison (make bench)\n"
                "  %(prog)s --scaling --workers    also stack-size scaling and workers (about two minutes more)")
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0], epilog=examples,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="auto | cpu | cuda | mps (default: cpu)")
    parser.add_argument("--classic-steps", type=int, default=40,
                        help="steps timed per classic Q2/Q4 configuration, extrapolated to an epoch (default: 40)")
    parser.add_argument("--repeats", type=int, default=3, help="timings per Q1 case, fastest kept (default: 3)")
    parser.add_argument("--dry-run", action="store_true", help="a few steps per case, to check that it runs")
    parser.add_argument("--scaling", action="store_true", help="also time stacks of 1 to 240 models (about a minute)")
    parser.add_argument("--workers", action="store_true",
                        help="also time the Q2 grid's stacks one at a time vs two at a time (about a minute)")
    args = parser.parse_args(argv)
    device, root = resolve_device(args.device), ensure_mnist()
    few = 10 if args.dry_run else None
    print(f"# {platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}, device {device}")
    peak = matmul_peak(device)
    print(f"# float32 matmul peak (2048^3): {peak:.0f} GFLOP/s")
    print(f"# s/epoch; 'x DL' and 'x mem': mnist_hw's speed-up over the DataLoader and the in-memory loop")
    print(f"{'case':<34}{'DataLoader':>11}{'in-memory':>11}{'mnist_hw':>10}{'x DL':>7}{'x mem':>7}{'GFLOP/s':>9}"
          f"{'of peak':>9}")
    share: dict[str, list[float]] = {}  # question -> the share of the peak of each of its cases

    def report(case, loader, memory, ours, flops):
        share.setdefault(case[:2], []).append(flops / ours / 1e9 / peak)
        print(f"{case:<34}{loader:>11.2f}{memory:>11.2f}{ours:>10.3f}{loader / ours:>6.1f}x{memory / ours:>6.1f}x"
              f"{flops / ours / 1e9:>9.1f}{flops / ours / 1e9 / peak:>9.1%}")

    def ours_epoch(stack, train, loss=CrossEntropy(), seeds=None, **kw):
        """Seconds for one epoch of the stack (one Split, or one per stream shuffled by seeds)."""
        first = train if isinstance(train, Split) else train[0]
        keep = torch.arange(min(len(first), 64 * kw["batch_size"]), device=device)
        part = (first.subset(keep) if isinstance(train, Split) else [t.subset(keep) for t in train]) if args.dry_run else train
        return fit(stack, part, TrainConfig(epochs=1, **kw), loss=loss, seeds=seeds).seconds * len(first) / len(keep if args.dry_run else first)

    # The overhead-bound Q1 cases are short and suffer most from other processes: each side is timed
    # `repeats` times, alternately, and the fastest epoch of each is reported.
    repeats = 1 if args.dry_run else args.repeats
    best_of = lambda epoch: min(epoch() for _ in range(repeats))
    q1, q1_ds = load_splits((0, 1), seed=0, root=root, device=device), torchvision_split(root, [0, 1], True)
    seeds = (0, 1, 2)  # Q1's seeds as the streams of one stack, each on its own split and shuffling
    trains = [load_splits((0, 1), seed=s, root=root, device=device).train for s in seeds]
    loader, memory = {}, {}
    for b in (2, 128):
        loader[b] = best_of(lambda: classic_epoch(q1_ds, b, seeded(0, SimpleMLP, 784, 16, 2).to(device), "adam", 1e-3,
                                                  device, few))
        memory[b] = best_of(lambda: inmemory_epoch(q1.train, b, seeded(0, SimpleMLP, 784, 16, 2).to(device), "adam",
                                                   1e-3, few))
        stack = MLPStack([seeded(0, SimpleMLP, 784, 16, 2)], device)
        report(f"Q1 0-vs-1, batch {b}", loader[b], memory[b], best_of(lambda: ours_epoch(stack, q1.train, batch_size=b)),
               stack_flops(stack, len(q1.train)))
    stack = MLPStack([seeded(s, SimpleMLP, 784, 16, 2) for s in seeds], device, streams=len(seeds))
    ours = best_of(lambda: ours_epoch(stack, trains, batch_size=2, seeds=list(seeds)))
    report("Q1 b2, 3 seeds as streams", loader[2], memory[2], ours / len(seeds),
           stack_flops(stack, len(q1.train)) / len(seeds))
    print(f"{'':<34}(per model: the 3-stream stack's epoch / 3; the peers: one model at batch 2, as above)")

    q2, q2_ds = load_splits(range(10), seed=0, root=root, device=device), torchvision_split(root, list(range(10)), True)
    steps = min(few or args.classic_steps, args.classic_steps)
    model = lambda h, a: seeded(0, SimpleMLP, 784, h, 10, a).to(device)
    loader = sum(classic_epoch(q2_ds, b, model(h, a), o, lr, device, steps) for b, o, lr, h, a in Q2_GRID)
    memory = sum(inmemory_epoch(q2.train, b, model(h, a), o, lr, steps) for b, o, lr, h, a in Q2_GRID)
    ours = flops = 0.0
    for (b, o, lr), group in itertools.groupby(Q2_GRID, key=lambda c: c[:3]):
        stack = MLPStack([seeded(0, SimpleMLP, 784, h, 10, a) for *_, h, a in group], device)
        ours += ours_epoch(stack, q2.train, batch_size=b, optimizer=o, lr=lr)
        flops += stack_flops(stack, len(q2.train))
    report("Q2 grid (48 models)", loader, memory, ours, flops)

    q3_case(device, root, report, ours_epoch, q1_ds, steps)

    q4 = load_splits(range(10), seed=0, root=root, standardize=False, device=device)
    b, lr = 64, 5e-4  # the Q4 notebook's defaults
    loader = classic_epoch(torchvision_split(root, list(range(10)), False), b, seeded(0, Autoencoder).to(device),
                           "adam", lr, device, steps, autoencoder=True)
    memory = inmemory_epoch(q4.train, b, seeded(0, Autoencoder).to(device), "adam", lr, steps, autoencoder=True)
    stack = MLPStack([seeded(0, Autoencoder)], device)
    report(f"Q4 autoencoder, batch {b}", loader, memory,
           ours_epoch(stack, Split(q4.train.x, q4.train.x), batch_size=b, lr=lr, loss=MSE()),
           stack_flops(stack, len(q4.train)))
    print("\n# share of the float32 matmul peak each question's training reaches: "
          + ", ".join(f"{q} {min(v):.1%}" + (f" to {max(v):.1%}" if len(v) > 1 else "") for q, v in share.items()))

    adam = adam_step_us(device, reps=200 if args.dry_run else 2000)
    print("\n# Adam step on a 784-16-2 flat buffer: " + ", ".join(f"{k} {v:.1f} us" for k, v in adam.items())
          + f" ({adam['torch.optim.Adam'] / adam['fused kernel']:.1f}x)")
    if args.scaling:
        scaling(device, root, steps_budget=40 if args.dry_run else 2400)
    if args.workers:
        workers(device, root, epochs=1 if args.dry_run else 2, repeats=1 if args.dry_run else 3)


if __name__ == "__main__":
    main()
