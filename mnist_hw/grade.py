"""Grading by rerunning: execute the four notebooks fresh into a scratch folder and compare with results/.

usage: python -m mnist_hw.grade [--scratch DIR] [--reference DIR] [--rerun DIR]

Each question has a table of checks: what the assignment requires (every configuration present, F1 undefined
where it must be, the figure written) and what the committed reference says (numbers within a tolerance). A
check prints its expected value (requirement or reference), the rerun's value, the tolerance, pass/fail and
points; the same table is written to report.csv and report.json in the scratch folder. Exit status 1 when a check
fails. Tolerances come from the reference itself: the seed-to-seed spread it measured (see `tolerance`).

Reruns of the same code on another machine, thread count or device do not repeat the last digits (floating-point
sums are ordered differently and the differences grow over training), so a rerun behaves like a fresh draw of the
seeds' noise: the difference between two means of n seeds has a standard deviation of about sigma * sqrt(2 / n).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from .runs import REPO, RUNS_ENV

RESULTS = REPO / "results"
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


def _read(folder: Path, name: str, **kw) -> pd.DataFrame:
    return pd.read_csv(folder / name, **kw)


def _params(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())["parameters"]


def grade_q1(ref: Path, new: Path) -> list[Check]:
    """Q1: every batch size with time and the three accuracies; mean test accuracy per batch size."""
    q, r, n = "Q1", _read(ref, "results.csv"), _read(new, "results.csv")
    p = _params(ref)
    want = {(b, s) for b in p["batch_sizes"] for s in p["seeds"]}
    got = set(zip(n.batch_size, n.seed))
    cols = ["time_s", "train_acc", "val_acc", "test_acc"]
    checks = [holds(q, "every batch size x seed trained", f"{len(want)} rows", f"{len(got & want)} rows", want <= got),
              holds(q, "time and train/val/test accuracy reported", "all present, time > 0",
                    "all present" if n[cols].notna().all().all() and (n.time_s > 0).all() else "missing values",
                    n[cols].notna().all().all() and (n.time_s > 0).all())]
    sigma = r.groupby("batch_size").test_acc.std().max()
    tol = tolerance(sigma, len(p["seeds"]), floor=0.1)
    for b, ref_acc in r.groupby("batch_size").test_acc.mean().items():
        checks.append(near(q, f"batch {b}: mean test accuracy", ref_acc, n[n.batch_size == b].test_acc.mean(), tol, unit=" %"))
    return checks


def grade_q2(ref: Path, new: Path) -> list[Check]:
    """Q2: all grid rows with timing; the best configuration by validation and its test accuracy."""
    q, r, n = "Q2", _read(ref, "results.csv"), _read(new, "results.csv")
    p = _params(ref)
    size = len(p["batch_sizes"]) * len(p["optimizers"]) * len(p["hidden_sizes"]) * len(p["activations"])
    config = ["batch_size", "optimizer", "lr", "hidden", "activation"]
    checks = [holds(q, "every grid configuration trained", f"{size} rows", f"{len(n.drop_duplicates(config))} rows",
                    len(n.drop_duplicates(config)) == size),
              holds(q, "training time reported", "time > 0 for every row", f"{int((n.time_s > 0).sum())} rows",
                    bool((n.time_s > 0).all()))]
    noise = _read(ref, "noise.csv") if (ref / "noise.csv").exists() else pd.DataFrame()
    sigma = noise.groupby(config).val_acc.std().max() if len(noise) else float("nan")
    sigma_test = noise.groupby(config).test_acc.std().max() if len(noise) else float("nan")
    tol_val, tol_test = tolerance(sigma, 1, floor=0.2), tolerance(sigma_test, 1, floor=0.2)
    best_ref, best_new = r.loc[r.val_acc.idxmax()], n.loc[n.val_acc.idxmax()]
    # the rerun's best must be one the reference cannot tell apart from its own best (within tol_val on validation)
    close = r[r.val_acc >= best_ref.val_acc - tol_val]
    same = ((close[config] == best_new[config].values).all(axis=1)).any()
    describe = lambda row: f"{row.optimizer} {row.lr:g}, b{row.batch_size}, {row.hidden} {row.activation}"
    checks += [holds(q, "best configuration by validation", f"{describe(best_ref)} or within {tol_val:.2f} pt on val "
                     f"({len(close)} configs)", describe(best_new), same, points=2),
               near(q, "best configuration: validation accuracy", best_ref.val_acc, best_new.val_acc, tol_val, unit=" %"),
               near(q, "best configuration: test accuracy", best_ref.test_acc, best_new.test_acc, tol_test, unit=" %")]
    return checks


def grade_q3(ref: Path, new: Path) -> list[Check]:
    """Q3: F1 undefined exactly where a split holds no "1"; every method, N and seed; the headline method's F1."""
    q = "Q3"
    r = _read(ref, "results.csv", dtype={"weight": str})
    n = _read(new, "results.csv", dtype={"weight": str})
    p = _params(ref)
    want = {(N, s, m) for N in p["N_list"] for s in p["seeds"] for m in p["methods"]}
    got = set(zip(n.N, n.seed, n.method))
    undefined_ok = all(((n[f"{split}_ones"] == 0) == n[f"f1_{col}"].isna()).all()
                       for split, col in (("val", "val"), ("test", "test")))
    checks = [holds(q, "every N x seed x method trained", f"{len(want)} combinations", f"{len(want & got)} present",
                    want <= got),
              holds(q, "F1 is NaN exactly where the split holds no '1'", "NaN iff no positives",
                    "yes" if undefined_ok else "no", undefined_ok, points=2)]
    head_ref, head_new = _read(ref, "headline.csv").iloc[0], _read(new, "headline.csv").iloc[0]
    checks.append(holds(q, "headline method (the proposal; else the validation ranking's first)", str(head_ref.method), str(head_new.method),
                        head_ref.method == head_new.method))
    tol = tolerance(float(head_ref.get("seed_std", float("nan"))), int(head_ref.get("seeds", 1)), floor=0.02)
    checks.append(near(q, f"headline: {head_ref.metric} at N={head_ref.N}", float(head_ref.value), float(head_new.value), tol))
    return checks


def grade_q4(ref: Path, new: Path) -> list[Check]:
    """Q4: MSE on train / validation / test close to the reference; the reconstruction figure written."""
    q = "Q4"
    r, n = _read(ref, "results.csv", index_col="split"), _read(new, "results.csv", index_col="split")
    checks = []
    for split in ("train", "val", "test"):
        ref_mse = r.loc[split, "autoencoder"]
        checks.append(near(q, f"{split} MSE", ref_mse, n.loc[split, "autoencoder"], 0.05 * ref_mse))
    figure = new / "reconstructions.png"
    checks.append(holds(q, "reconstruction figure written", "reconstructions.png, > 10 kB",
                        f"{figure.stat().st_size // 1000} kB" if figure.exists() else "missing",
                        figure.exists() and figure.stat().st_size > 10_000))
    return checks


QUESTIONS: dict[str, tuple[str, Callable[[Path, Path], list[Check]]]] = {
    "q1": ("q1_binary_batch_size", grade_q1), "q2": ("q2_ten_digits_grid", grade_q2),
    "q3": ("q3_imbalance", grade_q3), "q4": ("q4_autoencoder", grade_q4)}


def grade(reference: Path, reruns: dict[str, Path]) -> list[Check]:
    """Every question's checks: reference folders under `reference`, rerun folders by question."""
    checks = []
    for q, (stem, grade_one) in QUESTIONS.items():
        if q not in reruns:
            continue
        try:
            checks += grade_one(reference / stem, reruns[q])
        except (FileNotFoundError, KeyError) as err:  # a missing file or column is a failed check, not a crash
            checks.append(holds(q.upper(), "outputs readable", "the run's CSVs", f"{type(err).__name__}: {err}", False))
    return checks


def report(checks: list[Check], out: Path) -> pd.DataFrame:
    """Print one table per question and write report.csv / report.json to `out`."""
    table = pd.DataFrame([asdict(c) | {"earned": c.earned} for c in checks])
    with pd.option_context("display.max_colwidth", 60, "display.width", 200):
        for q, part in table.groupby("question", sort=False):
            print(f"\n{q}: {part.earned.sum()} / {part.points.sum()} points")
            print(part.assign(result=part.passed.map({True: "pass", False: "FAIL"}))
                  [["check", "expected", "rerun", "tolerance", "result", "points"]].to_string(index=False))
    print(f"\ntotal: {table.earned.sum()} / {table.points.sum()} points; {int((~table.passed).sum())} failed")
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "report.csv", index=False)
    (out / "report.json").write_text(table.to_json(orient="records", indent=1))
    print(f"report: {out / 'report.csv'} and report.json")
    return table


def rerun_all(scratch: Path) -> dict[str, Path]:
    """Execute the four notebooks fresh, default parameters, into scratch/ (never into the repository)."""
    from . import run_all

    os.environ[RUNS_ENV] = str(scratch / "runs")
    folders, start = {}, time.perf_counter()
    for q, (stem, _) in QUESTIONS.items():
        job = run_all.Job(run_all.find_notebook(q))
        row = run_all.execute(job, fresh=True)
        print(f"{stem:<24}{row['wall_s']:>7.1f}s  {row['run_dir']}" + (f"  FAILED: {row['error']}" if row["error"] else ""))
        folders[q] = job.run_dir()
    print(f"{'reruns':<24}{time.perf_counter() - start:>7.1f}s")
    return folders


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scratch", type=Path, help="where the reruns and the report go (default: a new temporary folder)")
    parser.add_argument("--reference", type=Path, default=RESULTS, help="the committed results (default: results/)")
    parser.add_argument("--rerun", type=Path, help="grade existing run folders <DIR>/<notebook> instead of rerunning")
    args = parser.parse_args(argv)
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="mnist_hw_grade_"))
    if args.rerun:
        reruns = {q: args.rerun / stem for q, (stem, _) in QUESTIONS.items()}
    else:
        reruns = rerun_all(scratch)
    table = report(grade(args.reference, reruns), scratch)
    return 0 if table.passed.all() else 1


if __name__ == "__main__":
    sys.exit(main())
