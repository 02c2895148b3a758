"""The committed reference: finished runs published as notebooks/<name>.ipynb, results/<name>/ and figures/, each
replaced whole by a rename so that a kill leaves it old or new (what `make run` writes, and nothing else does)."""
from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import nbformat

from ..runs.files import REPO, beside, replace_folder, restore, shown, sync_folder, write_atomic
from .record import prefix, recorded

RESULTS = REPO / "results"
FIGURES = REPO / "figures"


def publish(jobs: list, rows: list[dict[str, Any]]) -> list[str]:
    """Replace the committed reference by these finished runs; return what was replaced.

    Everything new is first written in full beside what it replaces (results/.<name>.new/, .figures.new/), then
    each is put in place by a rename: the executed notebook over notebooks/<name>.ipynb, the run's CSVs, figures
    and manifest as results/<name>/, and every figure of every reference notebook as figures/<q>_<figure>.png
    (other files there, and the figures of notebooks not run now, are kept). A kill leaves each of them old or new;
    one cut between a folder swap's two renames is undone when --reference next starts (restore).
    """
    staged = []
    for job, row in zip(jobs, rows):
        folder, target = row["folder"], RESULTS / job.notebook.stem
        new = _stage_folder(target, [(p, p.name) for p in sorted(folder.iterdir()) if p.suffix in {".csv", ".png", ".json"}])
        nb = recorded(nbformat.read(folder / job.notebook.name, as_version=4), job.source_path, job.notebook)
        staged.append((job, new, target, nbformat.writes(nb) + "\n"))
    names = {job.name for job in jobs}
    kept = [(p, p.name) for p in sorted(FIGURES.iterdir()) if p.is_file() and prefix(p) not in names] \
        if FIGURES.exists() else []
    figures = _stage_folder(FIGURES, kept + [(p, f"{job.name}_{p.name}") for job, row in zip(jobs, rows)
                                             for p in sorted(row["folder"].glob("*.png"))])
    replaced = []
    for job, new, target, text in staged:
        replace_folder(new, target)
        write_atomic(job.notebook, text)
        replaced.append(f"{shown(job.notebook)} and {shown(target)}/")
    replace_folder(figures, FIGURES)
    count = len(list(FIGURES.glob("*.png")))
    replaced.append(f"{shown(FIGURES)}/ ({count} figure{'s' * (count != 1)})")
    return replaced


def _stage_folder(target: Path, files: list[tuple[Path, str]]) -> Path:
    """A complete new version of `target` beside it (.<name>.new): each (file, name) copied there as name, every file
    flushed to disk."""
    new = beside(target, "new")
    if new.exists():
        shutil.rmtree(new)
    new.mkdir(parents=True)
    for path, name in files:
        write_atomic(new / name, path.read_bytes())
    sync_folder(new)
    return new


def restore_reference(notebooks: Iterable[Path]) -> None:
    """Undo what an earlier publish cut short for these notebooks' records, results folders and figures/."""
    for notebook in notebooks:
        restore(RESULTS / notebook.stem)
        restore(notebook)
    restore(FIGURES)
