"""The record of a notebook keeps each progress bar's end state, never the 0 % it showed when it started."""
import json

import nbformat
import pytest
from nbclient import NotebookClient

from mnist_hw.runs.progress import progress_bar


def run_cell(source: str) -> list[dict]:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    NotebookClient(notebook, kernel_name="python3", timeout=60).execute()
    return notebook.cells[0].outputs


@pytest.fixture(scope="module")
def finished():
    return run_cell("from mnist_hw.runs.progress import progress_bar\n"
                    "with progress_bar(12, 'configurations') as bar:\n"
                    "    for _ in range(12):\n"
                    "        bar.update()")


def test_record_shows_the_end_state(finished):
    (bar,) = [o for o in finished if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert "12/12" in bar["data"]["text/plain"] and "100%" in bar["data"]["text/plain"]
    assert " 0/12" not in json.dumps(finished)


def test_disabled_or_empty_bars_show_nothing():
    assert run_cell("from mnist_hw.runs.progress import progress_bar\n"
                    "with progress_bar(0, 'configurations') as bar: pass\n"
                    "with progress_bar(5, 'N', enabled=False) as bar: bar.update(5)") == []


def test_resumed_steps_are_said():
    outputs = run_cell("from mnist_hw.runs.progress import progress_bar\n"
                       "with progress_bar(0, 'configurations', resumed=12) as bar: pass\n"
                       "with progress_bar(2, 'configurations', resumed=3) as bar: bar.update(2)")
    assert outputs[0]["text"] == "configurations (12 done earlier): every one finished before (resumed from the run folder or reused), none left to train\n"
    assert "configurations (3 done earlier): 100%" in outputs[1]["data"]["text/plain"] and "2/2" in outputs[1]["data"]["text/plain"]


def test_terminal_bar_counts(capsys):
    with progress_bar(3, "steps") as bar:
        bar.update(3)
    assert bar.n == 3 and "3/3" in capsys.readouterr().err


# ---- what a kernel reports to the batch runner: progress.json, written whole on every update ----------------

@pytest.fixture
def reported(tmp_path, monkeypatch):
    """Progress reported to tmp_path/progress.json, as under the runner; the state starts empty."""
    from mnist_hw.runs import progress

    monkeypatch.setenv(progress.PROGRESS_ENV, str(tmp_path / "progress.json"))
    monkeypatch.setattr(progress, "_STATE", {})
    return lambda: progress.read_progress(tmp_path / "progress.json")


def test_each_update_is_reported_with_the_resumed_steps(reported, capsys):
    with progress_bar(3, "configurations", resumed=2) as bar:
        assert reported() | {"updated": 0, "bar_started": 0} == {
            "desc": "configurations", "done": 2, "total": 5, "resumed": 2, "bar_started": 0, "updated": 0}
        bar.update(2)
        assert reported()["done"] == 4
    with progress_bar(4, "models", enabled=False) as bar:  # a hidden bar is still reported
        bar.update(1)
    assert {k: reported()[k] for k in ("desc", "done", "total")} == {"desc": "models", "done": 1, "total": 4}


def test_a_run_reports_its_phases(reported, tmp_path, monkeypatch):
    import torch
    from mnist_hw.runs import folder

    monkeypatch.setenv(folder.RUNS_ENV, str(tmp_path / "runs"))
    run = folder.open_run("q4", {"epochs": 1, "run_dir": ""}, torch.device("cpu"))
    assert reported()["notebook"] == "q4" and "phase" not in reported()
    with run.phase("train"):
        assert reported()["phase"] == "train"
    assert reported()["phase"] is None and reported()["last_phase"] == "train"
    folder._LOCKS.pop(run.dir).release()


def test_without_the_runner_nothing_is_written(tmp_path, monkeypatch):
    from mnist_hw.runs import progress

    monkeypatch.delenv(progress.PROGRESS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    with progress_bar(2, "steps") as bar:
        bar.update(2)
    assert list(tmp_path.iterdir()) == []


def test_an_unreadable_progress_file_reads_as_no_progress(tmp_path):
    from mnist_hw.runs.progress import read_progress

    (tmp_path / "p.json").write_text('{"done": ')
    assert read_progress(tmp_path / "p.json") == {} == read_progress(tmp_path / "missing.json")
