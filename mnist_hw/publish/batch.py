"""The batch runner behind `python -m mnist_hw run` (and `grade`'s reruns): execute jobs (mnist_hw.publish.jobs)
with papermill, each run into its own run folder, show their progress while they run (mnist_hw.publish.live) and
print a summary; a SIGTERM, SIGHUP or Ctrl-C stops them all.

Every run executes into runs/<notebook>-<key>/ (see mnist_hw.runs.folder), with the executed notebook beside its
CSVs and figures. Only --reference (default parameters) publishes: once every notebook has run, the executed
notebooks replace notebooks/<name>.ipynb, their outputs results/<name>/ and their figures figures/, each by a
rename (see mnist_hw.publish.reference); it is the one command that changes tracked files.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import hashlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import yaml

from .jobs import Job, Refused, Unable, all_notebooks, find_notebook, load_batch, overrides, refuse_repeats
from .live import Board, Stopped, Watched, start, stopping
from .record import failure, recorded
from .reference import publish, restore_reference
from ..runs.files import write_atomic
from ..runs.claim import NotARunFolder
from ..runs.folder import CLAIMED_ENV, NOTEBOOKS, lock_folder, other_checkout, runs_root, shown
from ..runs.progress import PROGRESS_ENV

__all__ = ["Interrupted", "Refused", "execute", "run", "run_jobs"]


class Interrupted(Exception):
    """The runner was stopped: `rows` of the runs that ended (the stopped ones marked), `signal` that stopped it."""

    def __init__(self, rows: list[dict[str, Any]], stopped: Stopped):
        super().__init__(stopped.signal.name)
        self.rows, self.signal = rows, stopped.signal


def execute(job: Job, fresh: bool, threads: int | None = None, board: Board | None = None, key: int = 0) -> dict[str, Any]:
    """Run one job with papermill in its own process group (with `threads` CPU threads for torch, when given) into
    its run folder, never into a tracked notebook, shown on `board`; return its summary row (or its failure)."""
    board = board or Board()
    folder = job.run_dir()
    board.begin(key, Watched(job.label, folder / "progress.json", job.expected()), f"started, run folder {shown(folder)}")
    start_time = time.perf_counter()
    try:  # the folder's lock first: a second copy of this run is refused before it writes anything
        folder.mkdir(parents=True, exist_ok=True)
        lock = lock_folder(folder)
    except (OSError, RuntimeError) as err:
        return _not_run(job, folder, key, board, f"{folder}: {err.strerror}" if isinstance(err, OSError) else str(err))
    try:
        return _execute(job, folder, fresh, threads, board, key, start_time)
    finally:
        lock.release()


def _not_run(job: Job, folder: Path, key: int, board: Board, said: str) -> dict[str, Any]:
    """The row of a job refused before it wrote anything (its folder in use, or no longer a run folder)."""
    board.end(key, f"not run: {said}")
    return {"notebook": job.notebook.name, "run_dir": shown(folder), "folder": folder, "notebook_out": None,
            "wall_s": 0.0, "error": said, "headline": "", "index": key, "refused": True}


def _execute(job: Job, folder: Path, fresh: bool, threads: int | None, board: Board, key: int,
             start_time: float) -> dict[str, Any]:
    """execute's work once the run folder's lock is held."""
    try:
        job.claim()  # checked before anything ran; again now that the lock is held
    except Refused as err:
        return _not_run(job, folder, key, board, str(err))
    if fresh:  # everything but the lock this process holds
        for path in folder.iterdir():
            if path.name != ".lock":
                shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    output, progress = folder / job.notebook.name, folder / "progress.json"
    progress.unlink(missing_ok=True)
    try:
        returncode, said = _papermill(job, output, progress, threads, board, key, folder)
    except BaseException as err:
        board.end(key, f"FAILED to run: {type(err).__name__}: {err}")
        raise
    progress.unlink(missing_ok=True)  # the runner's alone: never published with the run's files
    with contextlib.suppress(OSError, ValueError):  # a notebook cut short by a stop may be half written
        write_atomic(output, nbformat.writes(recorded(nbformat.read(output, as_version=4), job.source_path, output)) + "\n")
    row = {"notebook": job.notebook.name, "run_dir": shown(folder), "folder": folder, "notebook_out": shown(output),
           "wall_s": round(time.perf_counter() - start_time, 1), "error": None, "headline": "", "index": key}
    manifest = folder / "manifest.json"
    if returncode != 0 and board.stopped is not None:
        row["error"] = row["stopped"] = f"stopped by {board.stopped.signal.name} after {row['wall_s']:.1f} s"
    elif returncode != 0:
        row["error"] = failure(output) or (said[-1:] or ["papermill failed"])[0]
    elif not manifest.exists():
        row["error"] = f"its run folder {shown(folder)}: no manifest.json (the notebook ran but wrote its run elsewhere)"
    else:
        row["headline"] = json.loads(manifest.read_text()).get("summary", {}).get("headline", "")
    board.end(key, f"{row['error']}; its finished rows stay in its run folder" if row.get("stopped") else
              f"FAILED after {row['wall_s']:.1f} s in {row['error']}" if row["error"] else
              f"finished in {row['wall_s']:.1f} s: {row['headline']}")
    return row


def _papermill(job: Job, output: Path, progress: Path, threads: int | None, board: Board, key: int,
              folder: Path) -> tuple[int, list[str]]:
    """Execute the job's notebook into `output` in a papermill process of its own group (see live.start); its
    kernel reports progress to `progress` and opens `folder` without taking its lock (this process holds it). The
    parameters go as YAML written from their values, so papermill reads back the same values (1e-05, inf, 2**70).
    Its temporary files (jupyter_client's kernel connection file among them) go to a scratch folder that is removed
    however the run ends."""
    with tempfile.TemporaryDirectory(prefix="mnist_hw_run_", ignore_cleanup_errors=True) as scratch:
        source = Path(scratch) / job.notebook.name
        nbformat.write(job.source, source)
        command = [sys.executable, "-m", "mnist_hw.publish.papermill_cli", str(source), str(output),
                   "--cwd", str(NOTEBOOKS), "-k", "python3", "--no-progress-bar", "--log-level", "WARNING"]
        command += papermill_parameters(job.overrides)
        env = os.environ | {PROGRESS_ENV: str(progress), CLAIMED_ENV: str(folder), "JUPYTER_RUNTIME_DIR": scratch,
                             "TMPDIR": scratch, "TEMP": scratch, "TMP": scratch} | \
            ({"OMP_NUM_THREADS": str(threads)} if threads else {})
        with open(Path(scratch) / "papermill.log", "w+b") as log:
            proc = start(command, env, log)
            board.attach(key, proc)
            returncode = proc.wait()
            log.seek(0)
            return returncode, log.read().decode(errors="replace").strip().splitlines()


def papermill_parameters(overrides: dict[str, Any]) -> list[str]:
    """papermill's arguments for these parameter values: one -y of YAML written from the values themselves (JSON
    would spell 1e-05 and Infinity, which papermill's YAML reader takes for strings)."""
    if not overrides:
        return []
    return ["-y", yaml.safe_dump(overrides, default_flow_style=True, width=float("inf"), allow_unicode=True).strip()]


def run_jobs(jobs: list[Job], fresh: bool, parallel: int | None = 1, keep_going: bool = False) -> list[dict[str, Any]]:
    """Execute the jobs, `parallel` at a time (None: in turns, see _run_in_turns), showing their progress; return
    their rows in job order. Unless they run K > 1 at a time, a failing notebook stops the ones not started yet
    unless `keep_going`. A SIGTERM, SIGHUP or Ctrl-C stops every running notebook (papermill and its kernel) and
    raises Interrupted with the rows so far."""
    board = Board()
    futures: dict[int, concurrent.futures.Future] = {}
    with stopping():
        try:
            if parallel is None:
                _run_in_turns(jobs, fresh, board, futures, keep_going)
            else:
                _run_at_once(jobs, parallel, fresh, board, futures, keep_going)
        except Stopped as stopped:
            board.stop_all(stopped)
            for future in futures.values():
                future.cancel()
            concurrent.futures.wait(futures.values())
            ended = [f.result() for f in futures.values() if f.done() and not f.cancelled() and f.exception() is None]
            raise Interrupted(ended, stopped) from None
    return [futures[i].result() for i in sorted(futures)]


def _run_in_turns(jobs: list[Job], fresh: bool, board: Board, futures: dict[int, concurrent.futures.Future],
                  keep_going: bool) -> None:
    """One notebook trains at a time, on every core, with nothing else running: job i+1 starts (papermill, kernel,
    imports, data) once job i has trained (the end of its last training phase, registry.Question.trained_after) or
    ended, while job i draws its tables and figures. Unless `keep_going`, a failed job stops the rest."""
    pool = concurrent.futures.ThreadPoolExecutor(max(1, len(jobs)))
    try:
        for i, job in enumerate(jobs):
            if i:
                board.wait_until(lambda: futures[i - 1].done() or board.trained(i - 1))
                if not keep_going and any(f.done() and f.result()["error"] for f in futures.values()):
                    break
            futures[i] = pool.submit(execute, job, fresh, None, board, i)
        board.wait(list(futures.values()))
    finally:  # on a stop, run_jobs ends the running notebooks and waits for them; nothing queued starts
        pool.shutdown(wait=False, cancel_futures=True)


def _run_at_once(jobs: list[Job], at_once: int, fresh: bool, board: Board,
                 futures: dict[int, concurrent.futures.Future], keep_going: bool) -> None:
    """Run the jobs `at_once` at a time into `futures`; one at a time, a failed job stops the rest unless
    `keep_going`."""
    # each job is its own papermill process; the cores are shared out, since K jobs each using every core
    # would oversubscribe the CPU (measured here: two 2-thread Q1 runs at once, each 5x slower than alone)
    threads = max(1, (os.cpu_count() or 1) // at_once) if at_once > 1 else None
    pool = concurrent.futures.ThreadPoolExecutor(at_once)
    try:
        for i, job in enumerate(jobs):
            futures[i] = pool.submit(execute, job, fresh, threads, board, i)
            if at_once == 1:
                board.wait([futures[i]])
                if futures[i].result()["error"] and not keep_going:
                    return
        board.wait(list(futures.values()))
    finally:  # on a stop, run_jobs ends the running notebooks and waits for them; nothing queued starts
        pool.shutdown(wait=False, cancel_futures=True)


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


def writable(folder: Path) -> None:
    """Unable (exit status 1) when the run folder, or the nearest folder above it that exists, cannot be written."""
    probe = next(p for p in (folder, *folder.parents) if p.exists())
    try:
        with tempfile.TemporaryDirectory(dir=probe):
            pass
    except OSError as err:
        raise Unable(f"run folder {shown(folder)}: {probe} cannot be written ({err.strerror or err}); give run_dir "
                     f"or $MNIST_HW_RUNS a folder that can") from None


def run(args: argparse.Namespace) -> int:
    """`python -m mnist_hw run`: the jobs the arguments ask for, checked, executed, summarised (and, with
    --reference, published). Problems found before anything runs raise Refused."""
    chosen = [find_notebook(n) for n in args.notebooks] or all_notebooks()
    params = overrides(args.parameters_file, args.yaml, args.parameter)
    if args.reference and (params or args.batch):
        raise Refused("--reference runs the default parameters only; drop -p/-y/-f/--batch")
    jobs = (load_batch(args.batch, chosen) if args.batch else
            [Job(nb, params, origin=f"NOTEBOOK {name}") for nb, name in zip(chosen, args.notebooks or [nb.stem for nb in chosen])])
    for job in jobs:
        job.parameters()  # unknown parameter names stop here, before anything runs
    refuse_repeats(jobs)
    for job in jobs:  # nothing is written or deleted in a folder that is not a run folder, nor where nothing can be
        writable(job.claim())
    if problem := other_checkout(NOTEBOOKS):  # the kernel would import another checkout's mnist_hw
        raise SystemExit(problem)
    if args.reference:
        restore_reference(job.notebook for job in jobs)  # what an earlier publish cut short
    start = time.perf_counter()
    try:
        rows = run_jobs(jobs, args.fresh, args.jobs if args.jobs is not None else 1 if args.batch else None)
    except Interrupted as stop:
        rows, status = stop.rows, 128 + stop.signal
    else:
        status = 1 if any(r["error"] for r in rows) or len(rows) < len(jobs) else 0
    print(f"\n{'notebook':<28}{'wall':>8}  run folder / headline")
    for row in rows:
        print(f"{row['notebook']:<28}{row['wall_s']:>7.1f}s  {row['run_dir']}")
        print(f"{'':<38}{row['headline']}" if not row["error"] else f"{'':<38}{row['error']}" if row.get("stopped") else
              f"{'':<38}not run: {row['error']}" if row.get("refused") else
              f"{'':<38}FAILED in {row['error']} (executed notebook: {row['notebook_out']})")
    print(f"{'total':<28}{time.perf_counter() - start:>7.1f}s")  # the batch's wall time (runs overlap with --jobs)
    if status > 128:
        ran = {r["index"] for r in rows}
        print(f"interrupted by {signal.Signals(status - 128).name}: "
              + "; ".join([f"{r['notebook']} stopped, its finished rows kept in {r['run_dir']}" for r in rows if r.get("stopped")]
                          + [f"{j.label} not started" for i, j in enumerate(jobs) if i not in ran])
              + ". The same command resumes them.", file=sys.stderr)
    elif args.batch:
        print(f"combined results of the batch: {shown(combine(rows, jobs, args.batch))}")
    for row in rows:
        if row["error"] and status < 128:
            print(f"{row['notebook']} failed in {row['error']}", file=sys.stderr)
    if args.reference:
        if status:
            print("reference not replaced: notebooks/, results/ and figures/ are as they were "
                  "(the finished runs' rows stay in their run folders, so a rerun resumes them)")
        else:
            print("replaced " + "; ".join(publish(jobs, rows)))
    return status
