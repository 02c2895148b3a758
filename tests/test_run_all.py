"""The batch runner: notebook names in any form, overrides, failures with their location, batches."""
import json
import subprocess

import nbformat
import pandas as pd
import pytest

from mnist_hw import run_all


@pytest.mark.parametrize("name", ["q4", "q4_autoencoder", "q4_autoencoder.ipynb", "notebooks/q4_autoencoder.ipynb",
                                  "./q4_autoencoder.ipynb"])
def test_notebook_names_in_any_form(name):
    assert run_all.find_notebook(name).name == "q4_autoencoder.ipynb"


def test_an_unknown_notebook_is_refused_with_the_choices():
    with pytest.raises(SystemExit, match="unknown notebook 'q5'; choose from q1, q2, q3, q4"):
        run_all.find_notebook("q5")


def test_parameter_values_are_read_like_papermill():
    assert [run_all.parse_value(v) for v in ("3", "1e-3", "True", "None", "relu")] == [3, 0.001, True, None, "relu"]


def test_an_unknown_override_stops_before_anything_runs(capsys):
    with pytest.raises(SystemExit, match="unknown parameter"):
        run_all.main(["q1", "-p", "batch_size", "16"])


def test_a_failing_notebook_stops_the_run_with_its_location(tmp_path, monkeypatch, capsys):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("device: str = 'cpu'\nrun_dir: str = ''"),
                                         nbformat.v4.new_code_cell("1 / 0")])
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "q9_bad.ipynb")
    monkeypatch.setattr(run_all, "NOTEBOOKS", tmp_path)
    monkeypatch.setenv("MNIST_HW_RUNS", str(tmp_path / "runs"))
    assert run_all.main(["q9"]) == 1
    err = capsys.readouterr().err
    assert "q9_bad.ipynb failed in cell 2: ZeroDivisionError" in err
    executed = next((tmp_path / "runs").glob("q9-*/q9_bad.ipynb"))  # not the source notebook: it stays untouched
    outputs = [o for c in nbformat.read(executed, 4).cells for o in c.get("outputs", [])]
    assert any(o.get("ename") == "ZeroDivisionError" for o in outputs)
    assert not any(c.get("outputs") for c in nbformat.read(tmp_path / "q9_bad.ipynb", 4).cells)


def test_a_batch_runs_each_set_in_its_own_folder_and_combines_them(mnist_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MNIST_HW_RUNS", str(tmp_path / "runs"))
    batch = tmp_path / "hidden.yaml"
    tiny = {"epochs": 1, "batch_sizes": [1024], "seeds": [0]}
    batch.write_text(json.dumps([{"notebook": "q1", "hidden": 4, **tiny}, {"notebook": "q1", "hidden": 8, **tiny}]))
    assert run_all.main(["--batch", str(batch), "--jobs", "2"]) == 0
    folders = sorted((tmp_path / "runs").glob("q1-*"))
    assert len(folders) == 2 and all((f / "manifest.json").exists() and (f / "q1_binary_batch_size.ipynb").exists() for f in folders)
    combined = pd.read_csv(next((tmp_path / "runs").glob("batch-hidden-*/combined.csv")))
    assert sorted(combined.hidden.unique()) == [4, 8] and combined.run_dir.nunique() == 2
    assert "combined results of the batch" in capsys.readouterr().out


def test_readme_style_runs_leave_tracked_files_alone(mnist_dir, run_notebook):
    before = subprocess.run(["git", "status", "--porcelain"], cwd=run_all.REPO, capture_output=True, text=True).stdout
    folder = run_notebook("q1_binary_batch_size.ipynb", epochs=1, batch_sizes=[1024], seeds=[0], hidden=4)
    after = subprocess.run(["git", "status", "--porcelain"], cwd=run_all.REPO, capture_output=True, text=True).stdout
    assert before == after and (folder / "results.csv").exists()
