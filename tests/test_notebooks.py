"""Q1 headless (papermill, tiny parameters), a Lab-like kernel session (nbclient), and the committed records."""
import json
import re

import nbformat
import pandas as pd
import papermill as pm
import pytest
from nbclient import NotebookClient

from mnist_hw.runs.folder import NOTEBOOKS
from mnist_hw.registry import QUESTIONS



def test_q1_run_writes_results_and_manifest_resumes_and_reproduces(run_notebook, tmp_path, notebook_text):
    """A run, the same run again after its curves were cut mid-line (a kill during a write: the last stack's
    results row is not finished either, so that stack trains again instead of stopping on 'already holds rows'),
    and a fresh run: the resumed run ends with the CSVs of the clean one, the fresh run reproduces them."""
    tiny = QUESTIONS["q1"].tiny
    out = run_notebook("q1_binary_batch_size.ipynb", run="a", **tiny)
    first = pd.read_csv(out / "results.csv")
    assert sorted(zip(first.seed, first.batch_size)) == [(0, 64), (0, 512), (1, 64), (1, 512)]
    assert (first.test_acc > 97).all() and (first.time_s > 0).all() and not first.diverged.any()
    assert (first.models_in_step == 2).all()  # the two seeds of a batch size train as one stack
    assert (out / "batch_size.png").stat().st_size > 10_000 and len(pd.read_csv(out / "summary.csv")) == 2
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parameters"]["seeds"] == [0, 1] and manifest["finished"] and "train" in manifest["phases_s"]
    assert "best by validation" in manifest["summary"]["headline"]
    timing = ["time_s", "time_share_s"]
    curves = pd.read_csv(out / "curves.csv")
    (out / "curves.csv").write_bytes((out / "curves.csv").read_bytes()[:-20])
    again = run_notebook("q1_binary_batch_size.ipynb", run="a", **tiny)
    assert "curves.csv: dropped a torn last line" in notebook_text(tmp_path / "a.ipynb")
    for name, clean in (("results.csv", first), ("curves.csv", curves)):  # resumed: nothing doubled or lost
        pd.testing.assert_frame_equal(pd.read_csv(again / name).drop(columns=timing, errors="ignore"),
                                      clean.drop(columns=timing, errors="ignore"))
    fresh = pd.read_csv(run_notebook("q1_binary_batch_size.ipynb", run="b", **tiny) / "results.csv")
    pd.testing.assert_frame_equal(first.drop(columns=timing), fresh.drop(columns=timing))


def test_q1_diverging_models_are_marked_not_summarised(run_notebook, tmp_path, notebook_text):
    out = run_notebook("q1_binary_batch_size.ipynb", epochs=1, batch_sizes=[512], seeds=[0], optimizer="sgd", lr=1e6)
    assert pd.read_csv(out / "results.csv").diverged.all()
    text = notebook_text(tmp_path / "run.ipynb")
    assert "Diverged (non-finite loss)" in text and "Every model diverged" in text and "little overfitting" not in text


def test_q1_a_misspelled_parameter_fails_in_the_check_cell(run_notebook, tmp_path):
    """Through a real kernel (its input history): every other refusal is checked in-process in
    tests/questions/test_rules.py, and in a kernel for Q4 (there) and for run_dir (tests/runs/test_folder.py)."""
    error = "unknown parameter 'batch_size' (did you mean 'batch_sizes'?)"
    with pytest.raises(pm.PapermillExecutionError, match=re.escape(error)):
        run_notebook("q1_binary_batch_size.ipynb", batch_size=[16])
    assert not (tmp_path / "run").exists()  # stopped before the run folder was even opened


def test_lab_session_edit_a_parameter_and_rerun_from_the_parameters_cell(mnist_dir, tmp_path):
    """What a student does in JupyterLab: Run All, change a parameter, rerun from the parameters cell down."""
    nb = nbformat.read(NOTEBOOKS / "q1_binary_batch_size.ipynb", 4)
    p = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    edits = {"epochs: int = 5": "epochs: int = 1", "[2, 16, 128, 1024]": "[1024]", "seeds: list[int] = [0, 1, 2]": "seeds: list[int] = [0]",
             'run_dir: str = ""': f'run_dir: str = "{tmp_path / "lab"}"'}
    for old, new in edits.items():
        assert old in nb.cells[p].source
        nb.cells[p].source = nb.cells[p].source.replace(old, new)
    client = NotebookClient(nb, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}})
    with client.setup_kernel():
        for i, cell in enumerate(nb.cells):  # Run All
            client.execute_cell(cell, i)
        nb.cells[p].source = nb.cells[p].source.replace("epochs: int = 1", "epochs: int = 2")  # the edit
        for i in range(p, len(nb.cells)):  # rerun from the parameters cell
            client.execute_cell(nb.cells[i], i)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    results = pd.read_csv(tmp_path / "lab" / "results.csv")
    assert sorted(results.epochs) == [1, 2]  # the edit trained a new row; the first run's row is kept


COMMITTED = sorted(NOTEBOOKS.glob("q*.ipynb"))


@pytest.mark.parametrize("path", COMMITTED, ids=[p.stem for p in COMMITTED])
def test_committed_notebooks_are_clean_records(path):
    """No machine paths, no warnings, no injected cell, no progress-bar redraws or bars short of their end, no
    per-cell timestamps; exactly one parameters cell."""
    nb = nbformat.read(path, 4)
    text = json.dumps(nb)
    assert not re.search(r"\b0%\||\s0/\d+ \[", text), "a progress bar is recorded at 0 %"
    assert not re.search(r'"(start_time|end_time|duration|iopub\.[a-z_.]+)"', text), "execution timings are recorded"
    assert not re.search(r"/(home|root|work|tmp|Users)/", text), "an absolute path is stored"
    assert "Warning" not in text and "\\r" not in text
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert sum("parameters" in t for t in tags) == 1 and not any("injected-parameters" in t for t in tags)
    assert nb.metadata.kernelspec.name == "python3"
    for cell in nb.cells:
        assert all(o.get("name") != "stderr" for o in cell.get("outputs", [])), "stderr output stored"
