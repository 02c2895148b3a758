"""Grading by rerunning: execute the four notebooks fresh into a scratch folder and compare with results/.

usage: python -m mnist_hw.publish.grade [--scratch DIR] [--reference DIR] [--rerun DIR]

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
import os
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from ..questions.grading import Check, holds
from ..registry import QUESTIONS
from ..runs.folder import RUNS_ENV
from .reference import RESULTS


def grade(reference: Path, reruns: dict[str, Path]) -> list[Check]:
    """Every question's checks: reference folders under `reference`, rerun folders by question."""
    checks = []
    for q in QUESTIONS.values():
        if q.id not in reruns:
            continue
        try:
            checks += q.module.grade(reference / q.notebook, reruns[q.id])
        except (FileNotFoundError, KeyError) as err:  # a missing file or column is a failed check, not a crash
            checks.append(holds(q.id.upper(), "outputs readable", "the run's CSVs", f"{type(err).__name__}: {err}", False))
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
    from . import batch

    os.environ[RUNS_ENV] = str(scratch / "runs")
    folders, start = {}, time.perf_counter()
    for q in QUESTIONS.values():
        job = batch.Job(batch.find_notebook(q.id))
        row = batch.execute(job, fresh=True)
        print(f"{q.notebook:<24}{row['wall_s']:>7.1f}s  {row['run_dir']}" + (f"  FAILED: {row['error']}" if row["error"] else ""))
        folders[q.id] = job.run_dir()
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
        reruns = {q.id: args.rerun / q.notebook for q in QUESTIONS.values()}
    else:
        reruns = rerun_all(scratch)
    table = report(grade(args.reference, reruns), scratch)
    return 0 if table.passed.all() else 1


if __name__ == "__main__":
    sys.exit(main())
