"""Run folders, the row store and resume: rows belong to their parameters, are stored once, and survive."""
import json
import subprocess
import sys

import pandas as pd
import pytest
import torch

from mnist_hw import runs
from mnist_hw.results import RowStore, best_by_validation, highlight_best, mean_std


@pytest.fixture
def runs_root(tmp_path, monkeypatch):
    monkeypatch.setenv(runs.RUNS_ENV, str(tmp_path / "runs"))
    return tmp_path / "runs"


def test_run_folders_differ_by_parameters_and_device(runs_root):
    base = {"lockstep": True, "epochs": 3, "run_dir": ""}
    a = runs.default_run_dir("q2", base, "cpu")
    assert a.parent == runs_root and a.name.startswith("q2-")
    assert runs.default_run_dir("q2", dict(base), "cpu") == a
    assert runs.default_run_dir("q2", {**base, "lockstep": False}, "cpu") != a
    assert runs.default_run_dir("q2", base, "cuda") != a
    assert runs.default_run_dir("q2", {**base, "run_dir": "elsewhere"}, "cpu") == a  # where, not what


def test_an_explicit_run_dir_wins(tmp_path):
    assert runs.resolve_run_dir("q1", {"run_dir": str(tmp_path / "mine")}, "cpu") == tmp_path / "mine"


def test_open_run_writes_a_manifest_and_phases(runs_root):
    run = runs.open_run("q1", {"epochs": 1, "run_dir": ""}, torch.device("cpu"))
    with run.phase("train"):
        pass
    run.finish(headline="ok")
    manifest = json.loads((run.dir / "manifest.json").read_text())
    assert manifest["parameters"] == {"epochs": 1, "run_dir": ""} and manifest["summary"] == {"headline": "ok"}
    assert set(manifest["mnist_md5"]) == {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                          "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}
    assert "train" in manifest["phases_s"] and manifest["wall_s"] >= 0 and manifest["versions"]["torch"]
    assert manifest["code_version"] == runs.code_version() and manifest["cpu_threads"] >= 1
    runs.release(run)


def test_a_second_process_cannot_open_the_same_run(tmp_path):
    folder = tmp_path / "shared"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time, torch; from mnist_hw.runs import open_run; "
        f"open_run('q1', {{'run_dir': {str(folder)!r}}}, torch.device('cpu')); print('open', flush=True); time.sleep(30)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(RuntimeError, match="is in use by another process"):
            runs.open_run("q1", {"run_dir": str(folder)}, torch.device("cpu"))
    finally:
        holder.kill()
        holder.wait()
    run = runs.open_run("q1", {"run_dir": str(folder)}, torch.device("cpu"))  # free again once the holder is gone
    runs.release(run)


def test_reopening_in_the_same_process_is_allowed(tmp_path):
    params = {"run_dir": str(tmp_path / "lab")}
    first = runs.open_run("q1", params, torch.device("cpu"))
    assert runs.open_run("q1", params, torch.device("cpu")).dir == first.dir  # a Lab user rerunning the cells
    runs.release(first)


def store(tmp_path, code="c1"):
    return RowStore(tmp_path / "rows.csv", ["method", "lr"], {"code_version": code, "device": "cpu"})


def test_row_store_resumes_by_identity_and_never_doubles(tmp_path):
    s = store(tmp_path)
    s.append(pd.DataFrame({"method": ["a", "b"], "lr": [1e-3, 0.01], "f1": [0.5, 0.6]}))
    todo = s.missing(pd.DataFrame({"method": ["a", "b", "c"], "lr": [0.001, 0.01, 0.01]}))
    assert todo.method.tolist() == ["c"]  # 1e-3 read back from the CSV as 0.001 is the same row
    with pytest.raises(ValueError, match="stored once"):
        s.append(pd.DataFrame({"method": ["a"], "lr": [0.001], "f1": [0.9]}))
    s.append(pd.DataFrame({"method": ["c"], "lr": [0.01], "f1": [0.7], "extra": [1]}))  # a new column widens the file
    assert s.done().method.tolist() == ["a", "b", "c"] and len(pd.read_csv(s.path)) == 3


def test_rows_of_other_code_are_neither_reused_nor_deleted(tmp_path):
    store(tmp_path, "old").append(pd.DataFrame({"method": ["a"], "lr": [0.1], "f1": [0.5]}))
    new = store(tmp_path, "new")
    assert new.done().empty and len(new.missing(pd.DataFrame({"method": ["a"], "lr": [0.1]}))) == 1
    new.append(pd.DataFrame({"method": ["a"], "lr": [0.1], "f1": [0.6]}))
    assert len(pd.read_csv(new.path)) == 2 and new.done().f1.tolist() == [0.6]


def test_choices_are_made_on_validation_columns_only():
    table = pd.DataFrame({"opt": ["a", "a", "b"], "val_acc": [90.0, 95.0, 80.0], "test_acc": [99.0, 90.0, 70.0]})
    assert best_by_validation(table).val_acc.tolist() == [95.0]
    assert best_by_validation(table, by=["opt"]).opt.tolist() == ["a", "b"]
    for bad in ("test_acc", "f1_full"):
        with pytest.raises(ValueError, match="validation data only"):
            best_by_validation(table, bad)
        with pytest.raises(ValueError, match="validation data only"):
            highlight_best(table, "opt", bad)
    css = highlight_best(table, "opt")
    assert css.loc[1].str.contains("#fff3a0").all() and css.loc[2].str.contains("#ffb3b3").all()


def test_mean_std_formats_undefined_as_na():
    table = pd.DataFrame({"g": [1, 1, 2, 3], "v": [1.0, 3.0, 5.0, float("nan")]})
    assert mean_std(table, ["g"], ["v"], digits=2).v.tolist() == ["2.00 ± 1.41", "5.00", "n/a"]
