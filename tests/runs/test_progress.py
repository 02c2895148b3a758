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
