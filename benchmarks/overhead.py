"""The time no model trains in, per notebook: each notebook executed headless (papermill, its tiny parameters, as
the tests run it) into a scratch folder, and its wall split by papermill's per-cell timings into the kernel start,
the import cell, the cells that train (a `run.phase` other than "data"), and the rest (parameter check, data,
tables, figures, answers); beside it, from the manifests of a record (default results/), the whole notebook's
non-training time at full size (wall minus its training phases, kernel start and imports not included).

Run it as `python benchmarks/overhead.py` (about a minute); --questions q1 q3 picks some.
"""
from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRAINING = re.compile(r"run\.phase\(\"(?!data\")")  # a cell that opens a training phase


def split_cells(notebook: dict, wall: float) -> dict[str, float]:
    """Seconds of an executed notebook's parts, from papermill's per-cell durations: kernel start (the wall outside
    every cell), the first code cell (imports), the training cells, the rest."""
    cells = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    took = [c["metadata"].get("papermill", {}).get("duration") or 0.0 for c in cells]
    parts = {"kernel start": wall - sum(took), "imports": took[0], "training": 0.0, "rest": 0.0}
    for cell, seconds in zip(cells[1:], took[1:]):
        parts["training" if TRAINING.search("".join(cell["source"])) else "rest"] += seconds
    return parts


def record_rest(folder: Path) -> tuple[float, float] | None:
    """(wall, wall minus the training phases) of a record's manifest: what runs after the run folder opens."""
    path = folder / "manifest.json"
    if not path.exists():
        return None
    manifest = json.loads(path.read_text())
    training = sum(v for k, v in manifest.get("phases_s", {}).items() if k != "data")
    return manifest["wall_s"], manifest["wall_s"] - training


def main(argv: list[str] | None = None) -> None:
    from mnist_hw.registry import QUESTIONS  # after argparse: --help stays instant
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", nargs="*", default=list(QUESTIONS), choices=list(QUESTIONS))
    parser.add_argument("--record", type=Path, default=ROOT / "results", help="a folder of question folders (default results/)")
    args = parser.parse_args(argv)
    import papermill as pm
    print(f"{'notebook':<24}{'wall':>7}{'kernel start':>14}{'imports':>9}{'training':>10}{'rest':>7}"
          f"{'record: wall':>14}{'not training':>14}")
    with tempfile.TemporaryDirectory() as scratch:
        for q in args.questions:
            question = QUESTIONS[q]
            out = Path(scratch) / f"{question.notebook}.ipynb"
            start = time.perf_counter()
            pm.execute_notebook(ROOT / "notebooks" / f"{question.notebook}.ipynb", out, cwd=str(ROOT / "notebooks"),
                                parameters={**question.tiny, "run_dir": str(Path(scratch) / q)}, kernel_name="python3",
                                progress_bar=False)
            wall = time.perf_counter() - start
            parts = split_cells(json.loads(out.read_text()), wall)
            record = record_rest(args.record / question.notebook)
            print(f"{question.notebook:<24}{wall:>7.1f}" + "".join(f"{parts[k]:>{w}.1f}" for k, w in
                  (("kernel start", 14), ("imports", 9), ("training", 10), ("rest", 7)))
                  + (f"{record[0]:>14.1f}{record[1]:>14.1f}" if record else f"{'-':>14}{'-':>14}"))
    print("# seconds; the first six columns: this run at the tiny parameters; 'record': the manifest's wall and its "
          "wall minus the training phases at the record's (full) parameters")


if __name__ == "__main__":
    main()
