"""Result tables: mean ± std over seeds as text, and finished rows kept on disk."""
from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd


def mean_std(table: pd.DataFrame, by: Sequence[str], columns: Sequence[str], digits: int = 3) -> pd.DataFrame:
    """'mean ± std' of each column over the rows of every `by` group (e.g. over seeds), ignoring undefined (NaN)
    values: just the mean when one value is defined, 'n/a' when none is."""
    stats = table.groupby(list(by))[list(columns)].agg(["mean", "std"])
    return pd.DataFrame({c: [_show(m, s, digits) for m, s in zip(stats[c]["mean"], stats[c]["std"])] for c in columns},
                        index=stats.index)


def _show(mean: float, std: float, digits: int) -> str:
    if math.isnan(mean):
        return "n/a"
    return f"{mean:.{digits}f}" if math.isnan(std) else f"{mean:.{digits}f} ± {std:.{digits}f}"


class CsvRows:
    """Finished rows in one CSV: done() reads them, append() adds rows at once (an interrupted run keeps them).
    A stand-in with the interface of the shared row store (results.RowStore) until that store lands."""

    def __init__(self, path: Path, resume: bool = True):
        self.path = Path(path)
        if not resume:
            self.path.unlink(missing_ok=True)

    def done(self) -> pd.DataFrame:
        return pd.read_csv(self.path, dtype={"weight": str}) if self.path.exists() else pd.DataFrame()

    def append(self, rows: pd.DataFrame) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        rows.to_csv(self.path, mode="a", header=not self.path.exists(), index=False)
