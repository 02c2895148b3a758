"""Execute the assignment's notebooks with papermill, each run into its own run folder, and print a summary.

usage: python -m mnist_hw.run_all [NOTEBOOK ...] [-p NAME VALUE] [-y YAML] [--batch FILE] [--jobs K] [--fresh]
       python -m mnist_hw.run_all --reference [--fresh]      (make run: regenerate the committed results)

NOTEBOOK is q1..q4 or a notebook's name or path in any form (q4, q4_autoencoder.ipynb, notebooks/q4_autoencoder.ipynb).
Every run executes into runs/<notebook>-<key>/ (see mnist_hw.runs), with the executed notebook beside its CSVs and
figures. Only --reference executes the notebooks in place with their default parameters and copies the runs'
outputs to results/<notebook>/: it is the one command that changes tracked files.
"""
from __future__ import annotations

import argparse
import ast
import concurrent.futures
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import papermill as pm
import yaml

from .runs import NOTEBOOKS, REPO, resolve_run_dir, runs_root, shown

RESULTS = REPO / "results"


@dataclass
class Job:
    """One notebook with one parameter set (overrides of its defaults)."""

    notebook: Path
    overrides: dict[str, Any] = field(default_factory=dict)
    reference: bool = False

    @property
    def name(self) -> str:
        return self.notebook.stem.split("_")[0]  # q1 .. q4: the run folder's prefix

    def parameters(self) -> dict[str, Any]:
        """The notebook's full parameter set: its defaults with the overrides applied (as the notebook sees it)."""
        declared = pm.inspect_notebook(str(self.notebook))
        unknown = sorted(set(self.overrides) - set(declared))
        if unknown:
            raise SystemExit(f"{self.notebook.name}: unknown parameter(s) {unknown}; parameters are: {', '.join(declared)}")
        return {k: self.overrides[k] if k in self.overrides else ast.literal_eval(p["default"]) for k, p in declared.items()}

    def run_dir(self) -> Path:
        from .training import resolve_device  # torch is imported only when a run folder is needed

        params = self.parameters()
        return resolve_run_dir(self.name, params, resolve_device(params["device"])).resolve()


def find_notebook(name: str) -> Path:
    """A notebook from q4, q4_autoencoder, q4_autoencoder.ipynb, notebooks/q4_autoencoder.ipynb or ./...; else exit."""
    stem = Path(name).name.removesuffix(".ipynb")
    known = sorted(NOTEBOOKS.glob("q*.ipynb"))
    matches = [p for p in known if p.stem == stem or p.stem.split("_")[0] == stem]
    if len(matches) != 1:
        raise SystemExit(f"unknown notebook {name!r}; choose from {', '.join(p.stem.split('_')[0] for p in known)} "
                         f"or {', '.join(p.name for p in known)}")
    return matches[0]


def parse_value(text: str) -> Any:
    """A `-p` value as papermill reads it: int, float, True/False, None, else the string itself."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"True": True, "False": False, "None": None}.get(text, text)


def execute(job: Job, fresh: bool, threads: int | None = None) -> dict[str, Any]:
    """Run one job with papermill in its own process (with `threads` CPU threads for torch, when given); return its
    summary row (or its failure)."""
    folder = job.run_dir()
    if fresh and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    output = job.notebook if job.reference else folder / job.notebook.name
    command = [sys.executable, "-m", "papermill", str(job.notebook), str(output), "--cwd", str(NOTEBOOKS),
               "-k", "python3", "--no-progress-bar", "--log-level", "WARNING"]
    if job.overrides:
        command += ["-y", json.dumps(job.overrides)]
    start = time.perf_counter()
    env = os.environ | ({"OMP_NUM_THREADS": str(threads)} if threads else {})
    log = subprocess.run(command, capture_output=True, text=True, env=env)
    relative_paths(output)
    row = {"notebook": job.notebook.name, "run_dir": shown(folder), "folder": folder, "wall_s": round(time.perf_counter() - start, 1),
           "notebook_out": shown(output), "error": None}
    if log.returncode != 0:
        row["error"] = failure(output) or log.stderr.strip().splitlines()[-1:] or ["papermill failed"]
        return row
    manifest = json.loads((folder / "manifest.json").read_text())
    row["headline"] = manifest.get("summary", {}).get("headline", "")
    if job.reference:
        publish(folder, RESULTS / job.notebook.stem)
    return row


def relative_paths(notebook: Path) -> None:
    """Papermill records the input and output paths as given; keep them relative to the repository, so an executed
    notebook holds no path of the machine it ran on."""
    if not notebook.exists():
        return
    nb = nbformat.read(notebook, as_version=4)
    meta = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if meta.get(key):
            meta[key] = shown(Path(meta[key]))
    nbformat.write(nb, notebook)


def failure(notebook: Path) -> str | None:
    """'cell N: Error: message' of the first failing cell of an executed notebook."""
    if not notebook.exists():
        return None
    for cell in nbformat.read(notebook, as_version=4).cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return f"cell {cell.get('execution_count')}: {out['ename']}: {out['evalue']}"
    return None


def publish(folder: Path, target: Path) -> None:
    """Copy a reference run's CSVs, figures and manifest to results/<notebook>/ (replacing the old ones)."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for path in folder.iterdir():
        if path.suffix in {".csv", ".png", ".json"}:
            shutil.copy2(path, target / path.name)


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


def load_batch(path: Path, default: list[Path]) -> list[Job]:
    """Jobs from a YAML or JSON list of parameter sets; a set may name its `notebook`, else the one given."""
    sets = yaml.safe_load(path.read_text())
    if not isinstance(sets, list) or not all(isinstance(s, dict) for s in sets):
        raise SystemExit(f"{path}: a batch file is a list of parameter sets (mappings), e.g. - {{notebook: q3, N_list: [100]}}")
    jobs = []
    for i, params in enumerate(sets):
        params = dict(params)
        name = params.pop("notebook", None)
        if name is None and len(default) != 1:
            raise SystemExit(f"{path}: set {i + 1} names no notebook; add `notebook: q1` or give one NOTEBOOK argument")
        jobs.append(Job(find_notebook(name) if name else default[0], params))
    return jobs


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
                        help="regenerate the committed results: default parameters, notebooks executed in place")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be a positive integer, got {args.jobs}")
    notebooks = [find_notebook(n) for n in args.notebooks] or sorted(NOTEBOOKS.glob("q*.ipynb"))
    overrides = {name: parse_value(value) for name, value in args.parameter}
    for text in args.yaml:
        mapping = yaml.safe_load(text)
        if not isinstance(mapping, dict):
            parser.error(f"-y takes a YAML mapping such as '{{batch_sizes: [16, 64]}}', got {text!r}")
        overrides |= mapping
    if args.reference and (overrides or args.batch):
        parser.error("--reference runs the default parameters only; drop -p/-y/--batch")
    jobs = load_batch(args.batch, notebooks) if args.batch else [Job(nb, overrides, args.reference) for nb in notebooks]
    for job in jobs:
        job.parameters()  # unknown parameter names stop here, before anything runs
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
    return 1 if failed or len(rows) < len(jobs) else 0


if __name__ == "__main__":
    sys.exit(main())
