"""Grading: rerun the notebooks fresh into a scratch folder (or take run folders already written) and compare them
with the committed results/ (`python -m mnist_hw grade`).

Each question has a table of checks: what the assignment requires (every configuration present, F1 undefined
where it must be, the figure written) and what the committed reference says (numbers within a tolerance). A
check prints its expected value (requirement or reference), the rerun's value, the tolerance, pass/fail and
points; the same table is written to report.csv and report.json in the scratch folder. Exit status 1 when a check
fails. Tolerances come from the reference itself: the seed-to-seed spread it measured (see `tolerance`).

Reruns of the same code on another machine, thread count or device do not repeat the last digits (floating-point
sums are ordered differently and the differences grow over training), so a rerun behaves like a fresh draw of the
seeds' noise: the difference between two means of n seeds has a standard deviation of about sigma * sqrt(2 / n).
The report names the reference's machine and the rerun's (from their manifests) and says when they differ.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from ..questions.grading import Check, holds
from ..registry import QUESTIONS, Question, question
from ..runs.claim import NotARunFolder, holds_only
from ..runs.folder import RUNS_ENV, shown
from .reference import RESULTS

MACHINE = ("device_name", "cpu_model", "cpu_capability", "cpu_threads", "blas")  # what a manifest says of its machine


def grade(reference: Path, reruns: dict[str, Path | None], questions: list[Question] | None = None) -> list[Check]:
    """The checks of every chosen question (by default those `reruns` names): reference folders under `reference`,
    rerun folders by question id. A question without a rerun folder, or whose files cannot be read, is one failed
    check worth all its points, so the total stays the full total."""
    checks = []
    for q in questions or [q for q in QUESTIONS.values() if q.id in reruns]:
        folder = reruns.get(q.id)
        try:
            if folder is None:
                raise FileNotFoundError("no finished run of this question found")
            if problem := foreign(folder, q):
                checks.append(holds(q.id.upper(), "run folder is this question's run", f"a manifest.json of a {q.id} run",
                                    problem, False, points=full_points(reference, q)))
                continue
            checks += q.module.grade(reference / q.notebook, folder)
        except (OSError, KeyError, ValueError, TypeError, AttributeError) as err:  # unreadable: a failed check, not a crash
            name = "run folder found" if folder is None else "outputs readable"
            checks.append(holds(q.id.upper(), name, "the run's CSVs" if folder else f"a finished {q.id} run",
                                f"{type(err).__name__}: {err}", False, points=full_points(reference, q)))
    return checks


def foreign(folder: Path, q: Question) -> str:
    """'' when `folder` has no manifest.json (a results/-style folder) or one of this project's runs of `q`; else what
    it holds instead."""
    path = folder / "manifest.json"
    if not path.exists():
        return ""
    manifest = _manifest(folder)
    if not manifest or "parameters" not in manifest or "notebook" not in manifest:
        return "its manifest.json is not a run's manifest (no notebook and parameters)"
    return "" if manifest["notebook"] == q.id else f"its manifest.json is a {manifest['notebook']} run's"


def full_points(reference: Path, q: Question) -> int:
    """The points of all of a question's checks (what grading the reference against itself counts), at least 1."""
    try:
        return max(1, sum(c.points for c in q.module.grade(reference / q.notebook, reference / q.notebook)))
    except (FileNotFoundError, KeyError):
        return 1


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


def _manifest(folder: Path | None) -> dict[str, Any]:
    try:
        manifest = json.loads((folder / "manifest.json").read_text()) if folder else {}
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def machine(manifest: dict[str, Any]) -> str:
    """One line on the machine a manifest's run ran on (its thread count aside); what it does not record is said."""
    if not manifest:
        return "no manifest"
    said = lambda key, what: manifest.get(key) or f"{what} not recorded"  # noqa: E731
    return (f"{said('device_name', 'device')}; CPU {said('cpu_model', 'model')}, {said('cpu_capability', 'capability')}, "
            f"BLAS {said('blas', 'library')}; {manifest.get('platform', 'platform not recorded')}")


def machines(reference: Path, reruns: dict[str, Path | None], questions: list[Question]) -> list[str]:
    """Lines naming the reference's machine and the reruns', and whether exact reproduction can be expected."""
    pairs = {q.id: (_manifest(reference / q.notebook), _manifest(reruns.get(q.id))) for q in questions}
    pairs = {k: v for k, v in pairs.items() if v[1]}
    if not pairs:
        return []
    lines = []
    for role, side in (("reference", 0), ("rerun", 1)):
        each = {q: machine(p[side]) for q, p in pairs.items()}
        lines += ([f"{role} machine: {next(iter(each.values()))}"] if len(set(each.values())) == 1 else
                  [f"{role} machine ({q}): {m}" for q, m in each.items()])
    lines.append("CPU threads, reference -> rerun: " + ", ".join(
        f"{q} {p[0].get('cpu_threads', '?')} -> {p[1].get('cpu_threads', '?')}" for q, p in pairs.items()))
    unknown = sorted({k for p in pairs.values() for m in p for k in MACHINE if not m.get(k)})
    differ = sorted({k for ref, new in pairs.values() for k in MACHINE if ref.get(k) and new.get(k) and ref[k] != new[k]})
    if differ:
        lines.append(f"the machines differ ({', '.join(differ)}): exact reproduction is not expected; the tolerances apply")
    elif unknown:
        lines.append(f"whether the machines differ cannot be told ({', '.join(unknown)} not recorded in every manifest); "
                     "the tolerances apply")
    else:
        lines.append("the same kind of machine as the reference: the same code may reproduce its numbers exactly")
    return lines


def find_runs(folder: Path) -> dict[str, Path]:
    """The run folder of each question in `folder`: its subfolders (and itself) matched by the question their
    manifest.json names, the newest finished one per question; a subfolder named after a notebook without a
    manifest (a results/-style layout) counts as the oldest."""
    best: dict[str, tuple[str, Path]] = {}
    for path in [folder, *sorted(p for p in folder.iterdir() if p.is_dir())]:
        manifest = _manifest(path)
        try:
            q = question(manifest["notebook"] if manifest else path.name).id
        except (KeyError, ValueError):
            continue
        if path == folder and not manifest or manifest and not manifest.get("finished"):
            continue  # an unfinished run is no run to grade
        finished = str(manifest.get("finished") or "")
        if q not in best or finished > best[q][0]:
            best[q] = (finished, path)
    return {q: path for q, (_, path) in best.items()}


def rerun_all(scratch: Path, questions: list[Question]) -> dict[str, Path | None]:
    """Execute the chosen notebooks fresh, default parameters, into scratch/ (never into the repository)."""
    from . import batch

    os.environ[RUNS_ENV] = str(scratch / "runs")
    jobs, start = [batch.Job(batch.find_notebook(q.id)) for q in questions], time.perf_counter()
    rows = batch.run_jobs(jobs, fresh=True, parallel=None, keep_going=True)  # scheduled as `run` schedules them
    print(f"{'reruns':<24}{time.perf_counter() - start:>7.1f}s")
    return {job.name: row["folder"] for job, row in zip(jobs, rows)}


def run(args: argparse.Namespace) -> int:
    """`python -m mnist_hw grade`: rerun (or find) the chosen questions' runs, grade them, print and write the report.
    A missing --reference or --rerun folder, or a --rerun folder without run folders, raises Refused."""
    from .batch import Interrupted
    from .jobs import Refused

    try:
        chosen = {question(name).id for name in args.questions or QUESTIONS}
        questions = [q for q in QUESTIONS.values() if q.id in chosen]
    except ValueError as err:
        raise Refused(f"--questions: {err}") from None
    reference = args.reference or RESULTS
    for flag, folder in (("--reference", reference), ("--rerun", args.rerun)):
        if folder is not None and not folder.is_dir():
            raise Refused(f"{flag} {folder}: no such folder")
    if args.scratch:  # written into: report.csv, report.json and the reruns' runs/, nothing of the user's
        try:
            holds_only(args.scratch, {"report.csv", "report.json", "runs"}, f"--scratch {args.scratch}")
        except NotARunFolder as err:
            raise Refused(str(err)) from None
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="mnist_hw_grade_"))
    if args.rerun:
        reruns: dict[str, Path | None] = find_runs(args.rerun)
        if not reruns:
            raise Refused(f"--rerun {args.rerun}: holds no run folder (a folder with a finished run's manifest.json, "
                          "such as runs/q1-<key>/, or a results/-style <notebook>/ folder)")
        print("grading " + "; ".join(f"{q.id}: {shown(reruns[q.id]) if reruns.get(q.id) else 'no run found'}"
                                     for q in questions))
    else:
        try:
            reruns = rerun_all(scratch, questions)
        except Interrupted as stop:
            print(f"interrupted by {stop.signal.name}: grading stopped; nothing graded (the reruns were fresh runs "
                  f"in {shown(scratch)})")
            return 128 + stop.signal
    table = report(grade(reference, reruns, questions), scratch)
    for line in machines(reference, reruns, questions):
        print(line)
    return 0 if table.passed.all() else 1
