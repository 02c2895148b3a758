"""The report's inputs: each question's executed notebook and the manifest of its run, from the committed record or
from run folders, checked before anything is built."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .record import failure
from .reference import RESULTS
from ..registry import QUESTIONS
from ..runs.folder import NOTEBOOKS, shown


@dataclass
class Source:
    """One question's executed notebook and the manifest of the run that executed it."""

    question: str
    notebook: Path
    manifest: dict[str, Any]
    folder: Path | None = None  # the run folder, when the report is built from one


def committed_sources() -> list[Source]:
    """The committed record of every question in the registry: notebooks/<notebook>.ipynb with
    results/<notebook>/manifest.json."""
    sources = []
    for q in QUESTIONS.values():
        notebook, manifest = NOTEBOOKS / f"{q.notebook}.ipynb", RESULTS / q.notebook / "manifest.json"
        if not (notebook.is_file() and manifest.is_file()):
            raise SystemExit(f"report: {shown(manifest if notebook.is_file() else notebook)} is missing: the committed "
                             f"record of {q.notebook} is incomplete (make run writes it)")
        sources.append(Source(q.id, notebook, json.loads(manifest.read_text())))
    return sources


def run_folder_sources(folders: list[str]) -> list[Source]:
    """The run folders given, checked (each exists, holds one executed notebook and a finished manifest, at most
    one per question) before anything is built; in question order."""
    sources: dict[str, Source] = {}
    for name in folders:
        folder = Path(name).expanduser().resolve()
        if not folder.is_dir():
            raise SystemExit(f"report: run folder {name!r} is not a folder")
        notebooks, manifest = sorted(folder.glob("q*.ipynb")), folder / "manifest.json"
        if len(notebooks) != 1 or not manifest.is_file():
            raise SystemExit(f"report: run folder {name!r} must hold one executed notebook q*.ipynb and manifest.json "
                             f"(found {[p.name for p in notebooks]}{'' if manifest.is_file() else ', no manifest.json'})")
        meta = json.loads(manifest.read_text())
        question = meta.get("notebook")
        if question not in QUESTIONS:
            raise SystemExit(f"report: run folder {name!r}: manifest names notebook {question!r}; "
                             f"expected one of {', '.join(QUESTIONS)}")
        if not meta.get("finished"):
            raise SystemExit(f"report: run folder {name!r} holds an unfinished run (its manifest has no end time)")
        if question in sources:
            raise SystemExit(f"report: two run folders for {question}: {shown(sources[question].folder)} and {name}")
        sources[question] = Source(question, notebooks[0], meta, folder)
    return [sources[q] for q in QUESTIONS if q in sources]


def find_sources(folders: list[str]) -> list[Source]:
    """The run folders given, else the committed record; refused if a notebook holds an error."""
    sources = run_folder_sources(folders) if folders else committed_sources()
    for source in sources:
        if error := failure(source.notebook):
            raise SystemExit(f"report: {shown(source.notebook)} failed ({error}); rerun it before building the report")
    return sources
