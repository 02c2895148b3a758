"""Q1's answer: what the batch-size sweep shows, from its results table."""
from __future__ import annotations

import pandas as pd

from .text import bullets, listing, steps_per_training

MEANS = ["time_share_s", "train_acc", "val_acc", "test_acc"]


def per_batch(trained: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds per batch size of one model's time and its accuracies (trained, i.e. not diverged, rows)."""
    return trained.groupby("batch_size")[MEANS].mean().rename(columns={"time_share_s": "time_s"})


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
