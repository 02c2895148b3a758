"""Q1, binary 0 vs 1 over batch sizes: the notebook's parameter rules, its written answer, and its grader."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..engine.activations import ACTIVATION
from ..engine.optim import OPTIMIZER
from ..engine.rules import HIDDEN, LR, POSITIVE, SEED, Each, Rules
from ..runs.guard import RUN, device_present
from .grading import Check, coverage, finite, holds, near, parameters, read, tolerance
from .text import bullets, listing, steps_per_training

def rules() -> Rules:
    """Q1's parameter table: one rule per parameter of the notebook, then the cross-checks."""
    return Rules({"batch_sizes": Each(POSITIVE), "seeds": Each(SEED), "hidden": HIDDEN, "activation": ACTIVATION,
                  "optimizer": OPTIMIZER, "lr": LR, "epochs": POSITIVE, **RUN}, [device_present])
PER_BATCH = ["time_share_s", "train_acc", "val_acc", "test_acc"]  # averaged over seeds per batch size


def per_batch(trained: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds per batch size of one model's time and its accuracies (trained, i.e. not diverged, rows)."""
    return trained.groupby("batch_size")[PER_BATCH].mean().rename(columns={"time_share_s": "time_s"})


def best_batch(trained: pd.DataFrame) -> int:
    """The batch size with the highest mean validation accuracy (validation only: test never chooses)."""
    return int(per_batch(trained).val_acc.idxmax())


def findings(trained: pd.DataFrame, epochs: int, train_size: int, setting: str) -> str:
    """The findings as Markdown bullets; trained holds the rows that did not diverge, setting names the optimizer
    and learning rate (for the case where every model diverged)."""
    if trained.empty:
        return f"Every model diverged (non-finite loss) with {setting}: nothing to analyse; try a smaller learning rate."
    m = per_batch(trained)
    fast, slow, best = m.time_s.idxmin(), m.time_s.idxmax(), best_batch(trained)
    spread = trained.groupby("batch_size").val_acc.std().fillna(0).max()
    lines = [f"**Time.** Per model, batch {slow} is the slowest ({m.time_s[slow]:.2f} s) and batch {fast} the fastest "
             f"({m.time_s[fast]:.2f} s), {m.time_s[slow] / m.time_s[fast]:.0f}x apart for the same {epochs} epochs.",
             f"**Best by validation.** Batch {best} has the highest mean validation accuracy ({m.val_acc[best]:.2f} %); "
             f"its test accuracy is {m.test_acc[best]:.2f} %."]
    if len(m) > 1:
        lead = m.val_acc[best] - m.val_acc.drop(best).max()
        lines.append(f"It leads the next batch size by {lead:.2f} points of validation accuracy; the largest seed std of "
                     f"one batch size is {spread:.2f} points, so the lead is "
                     + ("within seed noise." if lead <= spread else "larger than that noise."))
    lines.append(f"**Fit.** Train minus validation accuracy: {listing(m.train_acc - m.val_acc, '{:+.2f}')} points.")
    steps = pd.Series({b: steps_per_training(epochs, train_size, b) for b in m.index})
    lines.append(f"**Steps.** Optimizer steps over training: {listing(steps, '{:d}')}.")
    return bullets(lines)


def headline(trained: pd.DataFrame) -> str:
    """One line for the run's manifest."""
    if trained.empty:
        return "every model diverged"
    m = per_batch(trained)
    return ("test acc (mean over seeds) " + ", ".join(f"b{b}: {a:.2f}%" for b, a in m.test_acc.items())
            + f"; best by validation: batch {best_batch(trained)}")


def grade(ref: Path, new: Path) -> list[Check]:
    """Q1: every batch size x seed once, with finite time and the three accuracies; mean test accuracy per batch size."""
    q, key, cols = "Q1", ["batch_size", "seed"], ["time_s", "train_acc", "val_acc", "test_acc"]
    r, n = read(ref, "results.csv"), read(new, "results.csv", key + cols, key + cols)
    p = parameters(ref)
    want = {(b, s) for b in p["batch_sizes"] for s in p["seeds"]}
    bad = finite(n, cols) or ("time_s <= 0 in some rows" if (n.time_s <= 0).any() else "")
    checks = [coverage(q, "every batch size x seed trained", n, want, key, key),
              holds(q, "time and train/val/test accuracy reported", "all present and finite, time > 0",
                    bad or "all present", not bad)]
    sigma = r.groupby("batch_size").test_acc.std().max()
    tol = tolerance(sigma, len(p["seeds"]), floor=0.1)
    for b, ref_acc in r.groupby("batch_size").test_acc.mean().items():
        rows = n[n.batch_size == b].test_acc
        checks.append(near(q, f"batch {b}: mean test accuracy", ref_acc, rows.mean() if len(rows) else None, tol,
                           unit=" %", missing=f"no batch {b} rows"))
    return checks
