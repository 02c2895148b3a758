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


def near(question: str, name: str, reference: float, rerun: float, tol: float, points: int = 2, unit: str = "") -> Check:
    """A numeric check: |rerun - reference| <= tol."""
    ok = math.isfinite(rerun) and abs(rerun - reference) <= tol
    return Check(question, name, f"{reference:.4g}{unit} (reference)", f"{rerun:.4g}{unit}", f"± {tol:.3g}{unit}", ok, points)


def holds(question: str, name: str, requirement: str, observed: str, ok: bool, points: int = 1) -> Check:
    """A requirement check: the rerun shows what the assignment asks for."""
    return Check(question, name, requirement, observed, "exact", bool(ok), points)


def read(folder: Path, name: str, **kw) -> pd.DataFrame:
    return pd.read_csv(folder / name, **kw)


def parameters(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())["parameters"]
