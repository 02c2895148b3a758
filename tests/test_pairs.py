"""Each notebook is a jupytext pair: the py:percent source and the executed .ipynb record hold the same cells."""
import shutil
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def cells(notebook) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(c.cell_type, c.source, tuple(c.metadata.get("tags", ()))) for c in notebook.cells]


def test_every_notebook_has_its_source():
    assert NOTEBOOKS and all(p.with_suffix(".py").exists() for p in NOTEBOOKS)


@pytest.mark.parametrize("record", NOTEBOOKS, ids=lambda p: p.stem)
def test_pair_in_sync(record):
    source, executed = jupytext.read(record.with_suffix(".py")), jupytext.read(record)
    assert cells(source) == cells(executed), f"{record.name} and its .py differ: run `jupytext --sync {record.with_suffix('.py').name}`"
    assert source.metadata["kernelspec"]["name"] == "python3"


def test_code_cells_stay_short():
    """cs231n-sized cells: none over 25 lines, at least 80 % at 15 or fewer (the package holds the rest)."""
    sizes = [len(c.source.splitlines()) for p in NOTEBOOKS for c in jupytext.read(p.with_suffix(".py")).cells
             if c.cell_type == "code"]
    assert max(sizes) <= 25 and sum(n <= 15 for n in sizes) >= 0.8 * len(sizes)


def test_saving_from_jupyterlab_writes_both_files(tmp_path):
    """Lab saves through jupytext's contents manager: with the repository's jupytext.toml, saving the .ipynb also
    rewrites its .py source (the pair stays in sync without a manual step)."""
    from jupytext import TextFileContentsManager

    (tmp_path / "jupytext.toml").write_text((ROOT / "jupytext.toml").read_text())
    shutil.copy(NOTEBOOKS[0], tmp_path / NOTEBOOKS[0].name)
    manager = TextFileContentsManager(root_dir=str(tmp_path))
    model = manager.get(NOTEBOOKS[0].name)
    cell = next(c for c in model["content"].cells if "parameters" in c.metadata.get("tags", []))
    cell.source = cell.source.replace("epochs: int = 5", "epochs: int = 7")
    manager.save(model, NOTEBOOKS[0].name)
    source = (tmp_path / NOTEBOOKS[0].with_suffix(".py").name).read_text()
    assert "epochs: int = 7" in source and cells(jupytext.read(tmp_path / NOTEBOOKS[0].name)) == cells(jupytext.reads(source, "py:percent"))


def test_jupytext_sync_after_editing_the_source(tmp_path):
    """The README's editor path: edit the .py, `jupytext --sync` it, and the .ipynb takes the new input and keeps
    its outputs."""
    import os
    import subprocess
    import sys

    (tmp_path / "jupytext.toml").write_text((ROOT / "jupytext.toml").read_text())
    record = tmp_path / NOTEBOOKS[0].name
    shutil.copy(NOTEBOOKS[0], record)
    source = record.with_suffix(".py")
    source.write_text(NOTEBOOKS[0].with_suffix(".py").read_text().replace("epochs: int = 5", "epochs: int = 7"))
    os.utime(source, (record.stat().st_mtime + 10,) * 2)  # edited after the record was written
    jupytext_cli = Path(sys.executable).with_name("jupytext")
    subprocess.run([str(jupytext_cli), "--sync", str(source)], check=True, capture_output=True, cwd=tmp_path)
    synced = jupytext.read(record)
    assert cells(synced) == cells(jupytext.read(source)) and "epochs: int = 7" in synced.cells[2].source
    assert sum(len(c.get("outputs", [])) for c in synced.cells) == sum(len(c.get("outputs", [])) for c in jupytext.read(NOTEBOOKS[0]).cells)
