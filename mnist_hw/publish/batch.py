"""Execute the assignment's notebooks with papermill, each run into its own run folder, and print a summary.

usage: python -m mnist_hw.publish.batch [NOTEBOOK ...] [-p NAME VALUE] [-y YAML] [--batch FILE] [--jobs K] [--fresh]
       python -m mnist_hw.publish.batch --reference [--fresh]      (make run: regenerate the committed results)

NOTEBOOK is q1..q4 or a notebook's name or path in any form (q4, q4_autoencoder.ipynb, notebooks/q4_autoencoder.ipynb).
A notebook's source is its jupytext pair notebooks/<name>.py when there is one, else the .ipynb. Every run executes
into runs/<notebook>-<key>/ (see mnist_hw.runs.folder), with the executed notebook beside its CSVs and figures. Only
--reference (default parameters) publishes: once every notebook has run, the executed notebooks replace
notebooks/<name>.ipynb, their outputs results/<name>/ and their figures figures/, each by a rename (see publish);
it is the one command that changes tracked files.
"""
from __future__ import annotations

import argparse
import ast
import concurrent.futures
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import papermill as pm
import yaml

from . import record
from ..runs.files import write_atomic
from .record import failure, recorded
from .reference import publish, restore_reference
from ..registry import QUESTIONS, question
from ..runs.folder import NOTEBOOKS, other_checkout, resolve_run_dir, runs_root, shown



@dataclass
class Job:
    """One notebook with one parameter set (overrides of its defaults)."""

    notebook: Path  # notebooks/<name>.ipynb: the executed record (what --reference replaces)
    overrides: dict[str, Any] = field(default_factory=dict)
    origin: str = ""  # where the job was asked for: "q1", "batch.yaml set 2"

    @property
    def name(self) -> str:
        return record.question(self.notebook)

    @property
    def source_path(self) -> Path:
        """The file the notebook is built from (mnist_hw.publish.record.source_path)."""
        return record.source_path(self.notebook)

    @functools.cached_property
    def source(self) -> nbformat.NotebookNode:
        """The notebook to execute, built from its source (mnist_hw.publish.record.source)."""
        return record.source(self.notebook)

    @functools.cached_property
    def declared(self) -> dict[str, Any]:
        """The parameters the notebook declares, as papermill reads them."""
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / self.notebook.name
            nbformat.write(self.source, path)
            return pm.inspect_notebook(str(path))

    def parameters(self) -> dict[str, Any]:
        """The notebook's full parameter set: its defaults with the overrides applied (as the notebook sees it)."""
        declared = self.declared
        unknown = sorted(set(self.overrides) - set(declared))
        if unknown:
            raise SystemExit(f"{self.notebook.name}: unknown parameter(s) {unknown}; parameters are: {', '.join(declared)}")
        return {k: self.overrides[k] if k in self.overrides else ast.literal_eval(p["default"]) for k, p in declared.items()}

    def run_dir(self) -> Path:
        from ..engine.device import resolve_device  # torch is imported only when a run folder is needed

        params = self.parameters()
        return resolve_run_dir(self.name, params, resolve_device(params["device"])).resolve()


def find_notebook(name: str) -> Path:
    """A notebook from q4, q4_autoencoder, q4_autoencoder.ipynb (or .py), notebooks/q4_autoencoder.ipynb or ./...;
    else exit. Returns the path of its .ipynb record."""
    try:
        return NOTEBOOKS / f"{question(name).notebook}.ipynb"
    except ValueError as err:
        raise SystemExit(str(err)) from None


def all_notebooks() -> list[Path]:
    """Every notebook of the assignment, as the registry lists them (the .ipynb record, written or not)."""
    return [NOTEBOOKS / f"{q.notebook}.ipynb" for q in QUESTIONS.values()]


def parse_value(text: str) -> Any:
    """A `-p` value as papermill reads it: int, float, True/False, None, else the string itself."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"True": True, "False": False, "None": None}.get(text, text)


def execute(job: Job, fresh: bool, threads: int | None = None) -> dict[str, Any]:
    """Run one job with papermill in its own process (with `threads` CPU threads for torch, when given) into its run
    folder, never into a tracked notebook; return its summary row (or its failure)."""
    folder = job.run_dir()
    if fresh and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    output = folder / job.notebook.name
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / job.notebook.name
        nbformat.write(job.source, source)
        command = [sys.executable, "-m", "papermill", str(source), str(output), "--cwd", str(NOTEBOOKS),
                   "-k", "python3", "--no-progress-bar", "--log-level", "WARNING"]
        if job.overrides:
            command += ["-y", json.dumps(job.overrides)]
        env = os.environ | ({"OMP_NUM_THREADS": str(threads)} if threads else {})
        log = subprocess.run(command, capture_output=True, text=True, env=env)
    if output.exists():
        write_atomic(output, nbformat.writes(recorded(nbformat.read(output, as_version=4), job.source_path, output)) + "\n")
    row = {"notebook": job.notebook.name, "run_dir": shown(folder), "folder": folder, "wall_s": round(time.perf_counter() - start, 1),
           "notebook_out": shown(output), "error": None}
    if log.returncode != 0:
        row["error"] = failure(output) or log.stderr.strip().splitlines()[-1:] or ["papermill failed"]
        return row
    manifest = json.loads((folder / "manifest.json").read_text())
    row["headline"] = manifest.get("summary", {}).get("headline", "")
    return row


def combine(rows: list[dict[str, Any]], jobs: list[Job], batch_file: Path) -> Path:
    """One CSV across a batch: every run's results.csv with the run's parameters as columns."""
    tables = []
    for row, job in zip(rows, jobs):
        table = row["folder"] / "results.csv"
        if row["error"] is None and table.exists():
            params = {k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in job.overrides.items()}
            tables.append(pd.read_csv(table).assign(notebook=job.notebook.stem, run_dir=row["run_dir"], **params))
    digest = hashlib.sha256(batch_file.read_bytes()).hexdigest()[:10]
    out = runs_root() / f"batch-{batch_file.stem}-{digest}" / "combined.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    (pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()).to_csv(out, index=False)
    return out


def read_yaml(text: str, where: str, strict_json: bool = False) -> Any:
    """YAML text (or JSON, read strictly when `strict_json`); a syntax error stops naming the source, line and column."""
    if strict_json:
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise SystemExit(f"{where}, line {err.lineno}, column {err.colno}: not valid JSON: {err.msg}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark, context = getattr(err, "problem_mark", None), getattr(err, "context_mark", None)
        at = f"{where}, line {mark.line + 1}, column {mark.column + 1}" if mark else where
        began = f" (line {context.line + 1}, column {context.column + 1})" if context and getattr(err, "context", None) else ""
        problem = f"{err.context}{began}: {err.problem}" if began else getattr(err, "problem", None) or str(err)
        raise SystemExit(f"{at}: not valid YAML: {problem}") from None


def load_batch(path: Path, default: list[Path]) -> list[Job]:
    """Jobs from a YAML or JSON list of parameter sets; a set may name its `notebook`, else the one given."""
    if not path.is_file():
        raise SystemExit(f"{path}: no such batch file")
    sets = read_yaml(path.read_text(), str(path), strict_json=path.suffix.lower() == ".json")
    if not isinstance(sets, list) or not all(isinstance(s, dict) for s in sets):
        raise SystemExit(f"{path}: a batch file is a list of parameter sets (mappings), e.g. - {{notebook: q3, N_list: [100]}}")
    jobs = []
    for i, params in enumerate(sets, 1):
        params = dict(params)
        name = params.pop("notebook", None)
        if name is None and len(default) != 1:
            raise SystemExit(f"{path}: set {i} names no notebook; add `notebook: q1` or give one NOTEBOOK argument")
        jobs.append(Job(find_notebook(str(name)) if name else default[0], params, origin=f"{path.name} set {i}"))
    return jobs


def refuse_repeats(jobs: list[Job]) -> None:
    """Stop before anything runs when two jobs are one run (the same notebook and full parameters, or the same
    run_dir): they would write one run folder."""
    first: dict[Path, Job] = {}
    for job in jobs:
        folder = job.run_dir()
        if folder in first:
            raise SystemExit(f"{first[folder].origin} and {job.origin} are the same run ({job.notebook.stem}, "
                             f"run folder {shown(folder)}): a run folder holds one run; drop one of them")
        first[folder] = job


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("notebooks", nargs="*", help="q1 .. q4 or notebook names/paths (default: all four)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="override a parameter (papermill syntax)")
    parser.add_argument("-y", "--yaml", action="append", default=[], help="override parameters with a YAML mapping")
    parser.add_argument("--batch", type=Path, help="YAML/JSON list of parameter sets: one run each")
    parser.add_argument("--jobs", type=int, default=1, help="runs executed at once (default 1)")
    parser.add_argument("--fresh", action="store_true", help="delete each run's folder first (no resumed rows)")
    parser.add_argument("--reference", action="store_true",
                        help="regenerate the committed results: default parameters; once all have run, replace notebooks/*.ipynb, "
                             "results/ and figures/")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be a positive integer, got {args.jobs}")
    chosen = [find_notebook(n) for n in args.notebooks] or all_notebooks()
    overrides = {name: parse_value(value) for name, value in args.parameter}
    for text in args.yaml:
        mapping = read_yaml(text, f"-y {text!r}")
        if not isinstance(mapping, dict):
            parser.error(f"-y takes a YAML mapping such as '{{batch_sizes: [16, 64]}}', got {text!r}")
        overrides |= mapping
    if args.reference and (overrides or args.batch):
        parser.error("--reference runs the default parameters only; drop -p/-y/--batch")
    jobs = (load_batch(args.batch, chosen) if args.batch else
            [Job(nb, overrides, origin=f"NOTEBOOK {name}") for nb, name in zip(chosen, args.notebooks or [nb.stem for nb in chosen])])
    for job in jobs:
        job.parameters()  # unknown parameter names stop here, before anything runs
    refuse_repeats(jobs)
    if problem := other_checkout(NOTEBOOKS):  # the kernel would import another checkout's mnist_hw
        raise SystemExit(problem)
    if args.reference:
        restore_reference(job.notebook for job in jobs)  # what an earlier publish cut short
    if args.jobs == 1:
        rows = []
        for job in jobs:
            rows.append(execute(job, args.fresh))
            if rows[-1]["error"]:
                break  # a failing notebook stops the run
    else:
        # each job is its own papermill process; the cores are shared out, since K jobs each using every core
        # would oversubscribe the CPU (measured here: two 2-thread Q1 runs at once, each 5x slower than alone)
        threads = max(1, (os.cpu_count() or 1) // args.jobs)
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            rows = list(pool.map(lambda j: execute(j, args.fresh, threads), jobs))
    print(f"\n{'notebook':<28}{'wall':>8}  run folder / headline")
    for row in rows:
        print(f"{row['notebook']:<28}{row['wall_s']:>7.1f}s  {row['run_dir']}")
        print(f"{'':<38}{row.get('headline') or ''}" if not row["error"] else
              f"{'':<38}FAILED in {row['error']} (executed notebook: {row['notebook_out']})")
    print(f"{'total':<28}{sum(r['wall_s'] for r in rows):>7.1f}s")
    if args.batch:
        print(f"combined results of the batch: {shown(combine(rows, jobs, args.batch))}")
    failed = [r for r in rows if r["error"]]
    for row in failed:
        print(f"{row['notebook']} failed in {row['error']}", file=sys.stderr)
    if args.reference:
        if failed or len(rows) < len(jobs):
            print("reference not replaced: notebooks/, results/ and figures/ are as they were "
                  "(the finished runs' rows stay in their run folders, so a rerun resumes them)")
        else:
            print("replaced " + "; ".join(publish(jobs, rows)))
    return 1 if failed or len(rows) < len(jobs) else 0


if __name__ == "__main__":
    sys.exit(main())
