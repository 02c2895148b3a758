"""What a graded check is: a requirement that holds, or a number near the reference within a tolerance taken
from the reference's own seed spread (each question's `grade` builds its checks from these)."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

Z = 3.0  # tolerances are Z standard deviations of the rerun-minus-reference difference


@dataclass
class Check:
    """One graded check: what was expected, what the rerun gave, and whether it is within tolerance."""

    question: str
    check: str
    expected: str
    rerun: str
    tolerance: str
    passed: bool
    points: int

    @property
    def earned(self) -> int:
        return self.points if self.passed else 0


def tolerance(seed_std: float, n: int, floor: float) -> float:
    """Z * sigma * sqrt(2 / n): how far a rerun's mean of n seeds may move from the reference's, at least `floor`."""
    if not math.isfinite(seed_std):
        return floor
    return max(floor, Z * seed_std * math.sqrt(2 / max(n, 1)))


def near(question: str, name: str, reference: float, rerun: float | None, tol: float, points: int = 2, unit: str = "",
         missing: str = "") -> Check:
    """A numeric check: |rerun - reference| <= tol; a rerun value that is missing (None: `missing` says what) or not
    finite fails."""
    ok = rerun is not None and math.isfinite(rerun) and abs(rerun - reference) <= tol
    shown = missing or "missing" if rerun is None else f"{rerun:.4g}{unit}"
    return Check(question, name, f"{reference:.4g}{unit} (reference)", shown, f"± {tol:.3g}{unit}", ok, points)


def holds(question: str, name: str, requirement: str, observed: str, ok: bool, points: int = 1) -> Check:
    """A requirement check: the rerun shows what the assignment asks for."""
    return Check(question, name, requirement, observed, "exact", bool(ok), points)


def coverage(question: str, name: str, table: pd.DataFrame, want: set[tuple], key: list[str], unique: list[str],
             points: int = 1) -> Check:
    """Every combination in `want` (of the `key` columns) present, and no row twice (by the `unique` columns): the
    observed value names what is missing and how many rows are repeated."""
    got = set(table[key].itertuples(index=False, name=None))
    try:
        missing = sorted(want - got)
    except TypeError:  # values of mixed types
        missing = sorted(want - got, key=str)
    repeated = int(table.duplicated(unique).sum())
    said = f"{len(want & got)} of {len(want)} present"
    if missing:
        said += f"; missing {', '.join(_combination(key, m) for m in missing[:3])}" + (" ..." if len(missing) > 3 else "")
    if repeated:
        said += f"; {repeated} rows repeated"
    return holds(question, name, f"{len(want)} {' x '.join(key)}, each once", said, not missing and not repeated, points)


def _combination(key: list[str], values: tuple) -> str:
    return "(" + ", ".join(f"{k}={v}" for k, v in zip(key, values)) + ")"


def finite(table: pd.DataFrame, columns: list[str]) -> str:
    """'' when every value of `columns` is a finite number, else what is not (column and count)."""
    bad = {c: int((~pd.Series(pd.to_numeric(table[c], errors="coerce")).apply(math.isfinite)).sum()) for c in columns}
    return "; ".join(f"{c}: {k} rows missing or not finite" for c, k in bad.items() if k)


def read(folder: Path, name: str, columns: list[str] = (), numeric: list[str] = (), **kw) -> pd.DataFrame:
    """folder/name, a CSV that must hold `columns` (an index column counts) with numbers in `numeric`; else a
    ValueError or FileNotFoundError naming the file and what is wrong (a missing file, a folder, an empty file, a
    missing column, text where a number belongs)."""
    path = folder / name
    if path.exists() and not path.is_file():
        raise ValueError(f"{name} is not a file")
    try:
        table = pd.read_csv(path, **kw)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{name} is empty") from None
    except UnicodeDecodeError:
        raise ValueError(f"{name} is not UTF-8 text") from None
    absent = [c for c in columns if c not in table.columns and c != table.index.name]
    if absent:
        raise ValueError(f"{name} has no column {', '.join(absent)}")
    for column in numeric:
        values = pd.to_numeric(table[column], errors="coerce")
        text = table[column][table[column].notna() & values.isna()]
        if len(text):
            raise ValueError(f"{name}: column {column} holds {text.iloc[0]!r}, not a number")
        table[column] = values
    return table


def parameters(folder: Path) -> dict:
    """The parameters a run's manifest.json records."""
    return json.loads((folder / "manifest.json").read_text())["parameters"]
