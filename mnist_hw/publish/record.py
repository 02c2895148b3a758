"""A notebook's executed record as committed: its source from the jupytext pair, and only what a rerun with the
same results reproduces (no execution timestamps, no widget ids, progress bars as their finished text)."""
from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat

from ..runs.files import shown

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
TIMINGS = ("start_time", "end_time", "duration")


def prefix(path: Path) -> str:
    """The question (q1 .. q4) a notebook or figure file belongs to: the prefix of its name."""
    return path.stem.split("_")[0]


def source_path(notebook: Path) -> Path:
    """The file a notebook is built from: its jupytext pair <name>.py when there is one, else the .ipynb."""
    pair = notebook.with_suffix(".py")
    return pair if pair.exists() else notebook


def source(notebook: Path) -> nbformat.NotebookNode:
    """The notebook to execute, built from source_path(notebook); cell ids numbered from the notebook's prefix
    (q1-00, q1-01, ...) so that they do not change between runs."""
    nb = jupytext.read(source_path(notebook))
    nb.metadata.setdefault("kernelspec", nbformat.from_dict({"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}))
    for i, cell in enumerate(nb.cells):
        cell.id = f"{prefix(notebook)}-{i:02d}"
    return nb


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop per-cell execution metadata (papermill's times, nbclient's iopub timestamps), the notebook's run times,
    papermill's empty tag lists and jupytext's per-notebook metadata, and keep a widget output as its text (a
    finished tqdm bar reads '12/12'): widget state holds random model ids that would change every regeneration,
    and a static viewer cannot show a widget anyway."""
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.metadata.get("tags") == []:  # papermill adds an empty tag list to every cell
            del cell.metadata["tags"]
        for out in cell.get("outputs", []):
            if WIDGET_VIEW in out.get("data", {}):
                out["data"] = {"text/plain": out["data"].get("text/plain", "")}
    nb.metadata.pop("widgets", None)
    nb.metadata.pop("jupytext", None)  # the pairing is configured once, in jupytext.toml
    for key in TIMINGS:
        nb.metadata.get("papermill", {}).pop(key, None)
    return nb


def recorded(nb: nbformat.NotebookNode, source: Path, output: Path) -> nbformat.NotebookNode:
    """An executed notebook as a record (clean), with papermill's input and output paths as the
    source it was built from and where it lies, relative to the repository (no machine paths)."""
    nb = clean(nb)
    nb.metadata.setdefault("papermill", {}).update(input_path=shown(source), output_path=shown(output))
    return nb


def failure(notebook: Path) -> str | None:
    """'cell N: Error: message' of the first failing cell of an executed notebook."""
    if not notebook.exists():
        return None
    for cell in nbformat.read(notebook, as_version=4).cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return f"cell {cell.get('execution_count')}: {out['ename']}: {out['evalue']}"
    return None
