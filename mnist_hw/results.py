"""Result tables: the row store that saves and resumes runs, mean ± std formatting, validation-only choices."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd


class RowStore:
    """Rows of one table in a CSV, appended as each finishes, so an interrupted run keeps them.

    A row is identified by its `key` columns plus a fixed `context` (code version, device) stored with it:
    resuming reuses only rows of the same identity and context, and appending a row that is already there is
    an error, so a table can never hold a row twice. Rows of another context stay in the file, unused.
    """

    def __init__(self, path: str | Path, key: Sequence[str], context: Mapping[str, Any] | None = None):
        self.path, self.key, self.context = Path(path), list(key), dict(context or {})

    def __repr__(self) -> str:
        return f"RowStore({self.path.name}, key={self.key})"

    def _read(self) -> pd.DataFrame:
        if not self.path.exists():
            return pd.DataFrame(columns=[*self.key, *self.context])
        table = pd.read_csv(self.path)
        same = pd.Series(True, index=table.index)
        for name, value in self.context.items():
            same &= table[name].astype(str) == str(value) if name in table else False
        return table[same]

    def done(self) -> pd.DataFrame:
        """The finished rows of this context, without the context columns."""
        return self._read().drop(columns=list(self.context)).reset_index(drop=True)

    def keys(self) -> set[tuple[str, ...]]:
        """Identities of the finished rows (key values as text, so 0.001 read back from CSV matches 1e-3)."""
        return set(identities(self._read(), self.key))

    def missing(self, candidates: pd.DataFrame) -> pd.DataFrame:
        """The rows of `candidates` (with the key columns) that are not finished yet."""
        done = self.keys()
        return candidates[[k not in done for k in identities(candidates, self.key)]]

    def append(self, rows: pd.DataFrame) -> None:
        """Add finished rows to the CSV at once; refuse rows that are already there."""
        again = self.keys() & set(identities(rows, self.key))
        if again:
            raise ValueError(f"{self.path.name} already holds rows {sorted(again)[:3]}: a row is stored once")
        rows = rows.assign(**self.context)
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            rows.to_csv(self.path, index=False)
            return
        header = pd.read_csv(self.path, nrows=0).columns.tolist()
        if set(rows.columns) <= set(header):
            rows.reindex(columns=header).to_csv(self.path, mode="a", header=False, index=False)
        else:  # rows with a column the file lacks: rewrite it with the union of columns, every row kept
            pd.concat([pd.read_csv(self.path), rows], ignore_index=True).to_csv(self.path, index=False)


def identities(table: pd.DataFrame, key: Sequence[str]) -> list[tuple[str, ...]]:
    """Each row's key values as text (see key_text): how rows are matched across a CSV round trip."""
    return [tuple(map(key_text, values)) for values in table[list(key)].itertuples(index=False)]


def key_text(value: Any) -> str:
    """One spelling per value: 64 and 64.0, 0.001 and 1e-3 compare equal after a CSV round trip."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


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
