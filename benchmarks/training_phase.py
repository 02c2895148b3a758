"""Q3's or Q4's training phase (data loaded beforehand) in this checkout against another checkout of the repository,
alternately, each in a fresh process on one thread (the code compared, not the schedule: `python -m mnist_hw run`
now trains each notebook on every core, 3ba9085's runner trained Q3 and Q4 side by side on one each): wall and CPU
seconds, and the ratios. Q3: its sweep, every N x seed x method; Q4: the autoencoder at the notebook's
parameters.

Run it as `python benchmarks/training_phase.py q3 --against /path/to/other/checkout --N 100 5000 --repeats 2` (or
`q4 --against ...`); the other checkout runs on this venv (its mnist_hw first on PYTHONPATH).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def once(question: str, N_list: list[int], seeds: list[int]) -> None:
    """Train the question's training phase once in this process and print 'wall CPU' seconds (the child's side)."""
    import time
    import torch
    torch.set_num_threads(1)
    from mnist_hw.engine.train import TrainConfig
    if question == "q3":
        from mnist_hw.questions.q3.data import load_imbalanced
        from mnist_hw.questions.q3.remedies import METHODS
        from mnist_hw.questions.q3.sweep import sweep
        for N in N_list:
            load_imbalanced(N, seeds[0])  # the prepared 0-vs-1 data, as the notebook's data phase leaves it
        cfg = TrainConfig(hidden=4, activation="relu", optimizer="adam", lr=1e-3, epochs=5, batch_size=64)
        train = lambda: sweep(N_list, seeds, list(METHODS), cfg, progress=False)  # noqa: E731
    else:
        from mnist_hw.engine.data import Split, load_splits
        from mnist_hw.engine.losses import MSE
        from mnist_hw.engine.models import Autoencoder, seeded
        from mnist_hw.engine.stack import MLPStack
        from mnist_hw.engine.train import fit
        s = load_splits(standardize=False)
        cfg = TrainConfig(hidden=50, activation="relu", optimizer="adam", lr=5e-4, epochs=30, batch_size=64, seed=0)
        stack = MLPStack([seeded(0, Autoencoder, 50, "relu", "sigmoid")])
        # the notebook's training cell, through the engine's API that every checkout has (fit took options before)
        train = lambda: fit(stack, Split(s.train.x, s.train.x), getattr(cfg, "options", cfg), loss=MSE(),  # noqa: E731
                            val=Split(s.val.x, s.val.x))
    wall, cpu = time.perf_counter(), time.process_time()
    train()
    print(f"{time.perf_counter() - wall:.2f} {time.process_time() - cpu:.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("question", choices=["q3", "q4"], help="whose training phase")
    parser.add_argument("--against", type=Path, help="another checkout of the repository (e.g. a git worktree)")
    parser.add_argument("--N", type=int, nargs="+", default=[100, 5000], help="N values (default: 100 5000)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="seeds (default: 0-4)")
    parser.add_argument("--repeats", type=int, default=2, help="alternations (default: 2)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return once(args.question, args.N, args.seeds)
    if args.against is None:
        parser.error("--against CHECKOUT is required")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    child = [sys.executable, __file__, args.question, "--child", "--N", *map(str, args.N), "--seeds", *map(str, args.seeds)]
    print(f"# {args.question.upper()} training phase" + (f", N {args.N}, seeds {args.seeds}" if args.question == "q3" else "")
          + ", one thread; seconds wall / CPU")
    for repeat in range(1, args.repeats + 1):
        times = {}
        for side, checkout in (("other", args.against.resolve()), ("this", ROOT)):
            out = subprocess.run(child, env={**env, "PYTHONPATH": str(checkout)}, capture_output=True, text=True,
                                 check=True).stdout.split()
            times[side] = [float(v) for v in out[-2:]]
        (ow, oc), (tw, tc) = times["other"], times["this"]
        print(f"run {repeat}: other {ow:.2f} / {oc:.2f}, this {tw:.2f} / {tc:.2f}, this/other {tw / ow:.2f}x wall, "
              f"{tc / oc:.2f}x CPU")


if __name__ == "__main__":
    main()
