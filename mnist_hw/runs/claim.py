"""Which folders a run may write into (and `--fresh` may empty): only an empty or missing folder, or this project's
run of the same notebook. Anything else (the working directory, the repository or a folder holding it, results/,
notebooks/, figures/, the home folder, a folder of other files, another notebook's run) is refused with one
sentence naming the folder, before anything is written or deleted.

A run of the same notebook with other parameters is accepted (its rows are keyed by their configuration and the
code version, so none are mixed up): JupyterLab's loop of editing a parameter and rerunning from the parameters cell
writes the same run_dir again. A folder without a manifest is accepted only when it holds nothing but what a run
writes before its manifest (its lock, progress file and executed notebook).
"""
from __future__ import annotations

import json
from pathlib import Path

import filelock

from .files import REPO, shown

ALLOWED = ("run_dir must be '' (the default: a folder under runs/, or under $MNIST_HW_RUNS) or a folder that can be "
           "written (created if missing): a new or empty one, or one of this notebook's own run folders")
OWN = (".lock", "progress.json")  # what the runner writes into a run folder before the notebook writes its manifest


class NotARunFolder(ValueError):
    """A folder that a run must not write into: the message names it and says why."""


def protected() -> dict[Path, str]:
    """The folders no run may write into, nor into any folder below them, with what they are."""
    places = {}
    if REPO is not None:
        places = {REPO / "results": "the committed results (only `make run` replaces them)",
                   REPO / "notebooks": "the notebooks' folder", REPO / "figures": "the committed figures"}
    return places


def claim(folder: Path, notebook: str, stem: str, run_dir: str = "") -> None:
    """Refuse (NotARunFolder) unless `folder` (resolved) is missing, empty, or a run of the question `notebook` (its
    id, e.g. q1) whose executed notebook is `stem`.ipynb. `run_dir` is the parameter as given, for the message."""
    folder = folder.resolve()
    given = f"run_dir: {run_dir!r}" if run_dir else f"run_dir: '' (the default folder {shown(folder)})"

    def refuse(why: str) -> NotARunFolder:
        return NotARunFolder(f"{given} is not allowed: {why}; {ALLOWED}")

    if folder.exists() and not folder.is_dir():
        raise refuse("it is a file, not a folder")
    inside = next((what for place, what in protected().items() if folder == place or place in folder.parents), None)
    if inside:
        raise refuse(f"the folder {folder} is or lies inside {inside}, not a run folder")
    if REPO is not None and (folder == REPO or folder in REPO.parents):
        raise refuse(f"the folder {folder} is the repository or a folder holding it, not a run folder")
    if folder == Path.home().resolve():
        raise refuse(f"the folder {folder} is the home folder, not a run folder")
    if not folder.exists():
        return
    names = sorted(p.name for p in folder.iterdir())
    if not names:
        return
    manifest = _manifest(folder)
    if manifest is not None:
        if manifest.get("notebook") == notebook:
            return
        raise refuse(f"the folder {folder} holds a run of {manifest.get('notebook')!r}, not of {notebook}, and a run "
                     "folder holds one notebook's run")
    foreign = [n for n in names if n not in OWN and n != f"{stem}.ipynb" and not (n.startswith(".") and n.endswith(".tmp"))]
    if foreign:
        raise refuse(f"the folder {folder} holds files that are not a run's ({_listed(foreign)}), and nothing there is deleted "
                     "or written over")


def lock_folder(folder: Path) -> filelock.FileLock:
    """Hold the lock of a run folder (created if missing): a second process gets a RuntimeError naming the folder."""
    lock = filelock.FileLock(folder / ".lock")
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        raise RuntimeError(f"run folder {shown(folder)} is in use by another process; wait for it to finish, "
                           "or give this run another run_dir") from None
    return lock


def _manifest(folder: Path) -> dict | None:
    """The folder's manifest.json when it is this project's (a mapping naming its notebook), else None."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and "notebook" in manifest and "parameters" in manifest else None


def holds_only(folder: Path, names: set[str], given: str) -> None:
    """NotARunFolder unless `folder` is missing, empty or holds only `names` (what the command itself writes there:
    grade's --scratch, report's -o), so that no file of the user's is written over."""
    if folder.exists() and not folder.is_dir():
        raise NotARunFolder(f"{given} is a file, not a folder")
    other = sorted(p.name for p in folder.iterdir() if p.name not in names) if folder.is_dir() else []
    if other:
        raise NotARunFolder(f"{given} holds files this command does not write ({_listed(other)}); give it a new or empty folder")


def _listed(names: list[str]) -> str:
    """The first three names, and how many more: for a message about a folder's files."""
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
