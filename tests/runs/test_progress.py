"""The record of a notebook keeps each progress bar's end state, never the 0 % it showed when it started."""
import json
from importlib.metadata import version

import nbformat
import pytest
from nbclient import NotebookClient

from mnist_hw.runs.progress import progress_bar


def run_cell(source: str) -> list[dict]:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    NotebookClient(notebook, kernel_name="python3", timeout=60).execute()
    return notebook.cells[0].outputs


WIDGET = "application/vnd.jupyter.widget-view+json"
AS_IN_COLAB = "import sys, types\nsys.modules['google.colab'] = types.ModuleType('google.colab')\n"


def widgets_expected(where: str) -> bool:
    """A widget bar with ipywidgets 8, or in Colab (whose frontend shows ipywidgets 7's); else the text bar."""
    return where == "colab" or int(version("ipywidgets").split(".")[0]) >= 8


def shown(outputs: list[dict]) -> list[str]:
    """The lines a reader sees: a widget's text, the streams' lines with their redraws (\\r) collapsed."""
    text = "".join(o["text"] if o["output_type"] == "stream" else f"\n{o['data']['text/plain']}\n" for o in outputs)
    return [line.split("\r")[-1] for line in text.split("\n") if line.split("\r")[-1]]


@pytest.fixture(scope="module", params=["here", "colab"])
def finished(request):
    return request.param, run_cell((AS_IN_COLAB if request.param == "colab" else "")
                                   + "from mnist_hw.runs.progress import progress_bar\n"
                                   "with progress_bar(12, 'configurations') as bar:\n"
                                   "    for _ in range(12):\n"
                                   "        bar.update()")


def test_record_shows_the_end_state(finished):
    """One widget output left at its end (ipywidgets 7 displayed it twice: its 0 % state stayed beside the end);
    where JupyterLab could not show the widget (ipywidgets 7 outside Colab), tqdm's text bar on stdout."""
    where, outputs = finished
    widgets = [o for o in outputs if WIDGET in o.get("data", {})]
    if widgets_expected(where):
        (bar,) = widgets
        assert " 0/12" not in json.dumps(outputs)
    else:
        assert not widgets and {(o["output_type"], o.get("name")) for o in outputs} == {("stream", "stdout")}
    assert "12/12" in shown(outputs)[-1] and "100%" in shown(outputs)[-1]


def test_disabled_or_empty_bars_show_nothing():
    assert run_cell("from mnist_hw.runs.progress import progress_bar\n"
                    "with progress_bar(0, 'configurations') as bar: pass\n"
                    "with progress_bar(5, 'N', enabled=False) as bar: bar.update(5)") == []


def test_resumed_steps_are_said():
    lines = shown(run_cell("from mnist_hw.runs.progress import progress_bar\n"
                           "with progress_bar(0, 'configurations', resumed=12) as bar: pass\n"
                           "with progress_bar(2, 'configurations', resumed=3) as bar: bar.update(2)"))
    assert lines[0] == ("configurations (12 done earlier): every one finished before (resumed from the run folder or "
                        "reused), none left to train")
    assert "configurations (3 done earlier): 100%" in lines[-1] and "2/2" in lines[-1]


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
