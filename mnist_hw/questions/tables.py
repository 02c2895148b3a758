"""Result tables as the answers show them: mean ± std over seeds, and choices made on validation columns only."""
from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

# How a result column reads in a printed table: human headers, units stated once.
HEADERS = {"batch_size": "batch size", "seed": "seed", "optimizer": "optimizer", "lr": "learning rate",
           "hidden": "hidden units", "activation": "activation", "schedule": "schedule", "epochs": "epochs",
           "time_s": "training time (s)", "time_share_s": "time per model (s)", "train_acc": "train acc (%)",
           "val_acc": "val acc (%)", "test_acc": "test acc (%)", "N": "N", "method": "method", "weight": "weight",
           "epoch": "epoch", "train_loss": "train loss", "val_loss": "validation loss"}

def mean_std(table: pd.DataFrame, by: Sequence[str], columns: Sequence[str], digits: int = 3) -> pd.DataFrame:
    """'mean ± std' of each column over the rows of every `by` group (e.g. over seeds); 'n/a' when undefined."""
    stats = table.groupby(list(by))[list(columns)].agg(["mean", "std"])
    return pd.DataFrame({c: [plus_minus(m, s, digits) for m, s in zip(stats[c]["mean"], stats[c]["std"])] for c in columns},
                        index=stats.index)


def plus_minus(mean: float, std: float, digits: int = 2) -> str:
    """'mean ± std', 'mean' for a single value (std undefined), 'n/a' when the mean itself is undefined."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "n/a"
    return f"{mean:.{digits}f}" if std is None or math.isnan(std) else f"{mean:.{digits}f} ± {std:.{digits}f}"


def require_validation(score: str) -> None:
    """Choices are made on validation data only: refuse to rank, pick or highlight by any other column."""
    if not score.startswith("val_"):
        raise ValueError(f"choices are made on validation data only; {score!r} is not a validation column (val_...)")


def best_by_validation(table: pd.DataFrame, score: str = "val_acc", by: Sequence[str] = (), n: int = 1) -> pd.DataFrame:
    """The n rows with the highest validation score (n per `by` group), best first."""
    require_validation(score)
    ranked = table.sort_values(score, ascending=False, kind="stable")
    return (ranked.groupby(list(by), sort=False).head(n) if by else ranked.head(n)).reset_index(drop=True)


def highlight_best(table: pd.DataFrame, by: str, score: str = "val_acc") -> pd.DataFrame:
    """CSS for a Styler: the best row by validation score per `by` group (yellow for the first group, orange
    after) and the worst row overall (red)."""
    require_validation(score)
    css = pd.DataFrame("", index=table.index, columns=table.columns)
    for i, (_, group) in enumerate(table.groupby(by, sort=False)):
        css.loc[group[score].idxmax(), :] = "background-color: " + ("#fff3a0" if i == 0 else "#ffd199")
    css.loc[table[score].idxmin(), :] = "background-color: #ffb3b3"
    return css


def readable(table: pd.DataFrame, columns: Sequence[str], index: Sequence[str] = (), digits: int = 2) -> pd.DataFrame:
    """A result table for print: `columns` only (keys first, as the index), human headers (HEADERS), numbers to
    `digits` places, a learning rate as given (0.001, never 0.00), and no flag that holds one value throughout
    (a 'diverged' that is False everywhere says nothing)."""
    keep = [c for c in columns if table[c].dtype != bool or table[c].nunique() > 1]
    shown = table[list(index) + [c for c in keep if c not in index]].copy()
    if "lr" in shown:
        shown["lr"] = shown.lr.map("{:g}".format)
    shown = shown.round(digits).rename(columns=HEADERS)
    return shown.set_index([HEADERS.get(c, c) for c in index]) if index else shown
