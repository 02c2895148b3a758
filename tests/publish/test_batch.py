"""The batch runner (`python -m mnist_hw run`): notebook names in any form, overrides, failures with their location,
batches; whatever cannot run is refused before anything runs, with the usage and exit status 2."""
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pandas as pd
import pytest

from mnist_hw.runs import files
from mnist_hw.publish import record
from mnist_hw.publish import reference
from mnist_hw import registry
from mnist_hw.__main__ import main
from mnist_hw.publish import batch as runner
from mnist_hw.publish import jobs
from mnist_hw.registry import Question


def run(*argv: str) -> int:
    return main(["run", *argv])


def refused(capsys, *argv: str) -> str:
    """What `run ARGV` prints when it refuses: the usage, then the error (exit status 2)."""
    with pytest.raises(SystemExit) as exit:
        run(*argv)
    err = capsys.readouterr().err
    assert exit.value.code == 2 and err.startswith("usage: python -m mnist_hw run"), err
    return err


@pytest.mark.parametrize("name", ["q4", "q4_autoencoder", "q4_autoencoder.ipynb", "notebooks/q4_autoencoder.ipynb",
                                  "./q4_autoencoder.ipynb"])
def test_notebook_names_in_any_form(name):
    assert jobs.find_notebook(name).name == "q4_autoencoder.ipynb"


def test_an_unknown_notebook_is_refused_with_the_choices(capsys):
    with pytest.raises(jobs.Refused, match="unknown notebook 'q5'; choose from q1, q2, q3, q4"):
        jobs.find_notebook("q5")
    assert "error: unknown notebook 'q5'; choose from q1, q2, q3, q4" in refused(capsys, "q1", "q5")


def test_parameter_values_are_read_like_papermill():
    assert [jobs.parse_value(v) for v in ("3", "1e-3", "True", "None", "relu")] == [3, 0.001, True, None, "relu"]


def test_parameters_merge_as_papermill_merges_them(tmp_path):
    (tmp_path / "a.yaml").write_text("epochs: 1\nhidden: 4\nseeds: [0]\n")
    merged = jobs.overrides([str(tmp_path / "a.yaml")], ["{hidden: 8, lr: 0.01}"], [("lr", "0.1")])
    assert merged == {"epochs": 1, "hidden": 8, "seeds": [0], "lr": 0.1}  # -f, then -y, then -p


def test_an_unknown_override_stops_before_anything_runs(capsys, tmp_path):
    assert "q1_binary_batch_size.ipynb: unknown parameter(s) ['batch_size']" in refused(capsys, "q1", "-p", "batch_size", "16")
    (tmp_path / "p.yaml").write_text("[1, 2]\n")
    assert f"-f {tmp_path / 'p.yaml'}: parameters are a YAML mapping" in refused(capsys, "q1", "-f", str(tmp_path / "p.yaml"))
    assert "-f nowhere.yaml: cannot be read" in refused(capsys, "q1", "-f", "nowhere.yaml")


def test_an_unknown_option_is_refused_by_argparse(capsys):
    assert "error: unrecognized arguments: --epochs" in refused(capsys, "q1", "--epochs", "3")
    assert "--jobs must be a positive integer, got 0" in refused(capsys, "q1", "--jobs", "0")


def register(monkeypatch, *questions: Question) -> dict[str, Question]:
    """Make the registry list these questions instead of the assignment's four (the same dict everywhere)."""
    listed = {q.id: q for q in questions}
    monkeypatch.setattr(registry, "QUESTIONS", listed)
    monkeypatch.setattr(jobs, "QUESTIONS", listed)
    return listed


def notebooks(monkeypatch, folder):
    """Take the notebooks from `folder` (where jobs are found and where papermill runs them)."""
    monkeypatch.setattr(jobs, "NOTEBOOKS", folder)
    monkeypatch.setattr(runner, "NOTEBOOKS", folder)


def tiny_notebook(monkeypatch, folder, name: str, parameters: str, *body: str) -> None:
    """Write notebook `name` (a parameters cell, then one code cell per `body`) into `folder`, and register it as
    question q9, its runs under folder/runs."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(parameters),
                                         *map(nbformat.v4.new_code_cell, body)])
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / f"{name}.ipynb")
    notebooks(monkeypatch, folder)
    register(monkeypatch, Question("q9", name))
    monkeypatch.setenv("MNIST_HW_RUNS", str(folder / "runs"))


def test_a_failing_notebook_stops_the_run_with_its_location(tmp_path, monkeypatch, capsys):
    tiny_notebook(monkeypatch, tmp_path, "q9_bad", "device: str = 'cpu'\nrun_dir: str = ''", "1 / 0")
    assert run("q9") == 1
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
    assert run("--batch", str(batch), "--jobs", "2") == 0
    folders = sorted((tmp_path / "runs").glob("q1-*"))
    assert len(folders) == 2 and all((f / "manifest.json").exists() and (f / "q1_binary_batch_size.ipynb").exists() for f in folders)
    combined = pd.read_csv(next((tmp_path / "runs").glob("batch-hidden-*/combined.csv")))
    assert sorted(combined.hidden.unique()) == [4, 8] and combined.run_dir.nunique() == 2
    out = capsys.readouterr().out
    assert "combined results of the batch" in out
    for i in (1, 2):  # each job said when it started and how it ended, with its headline
        label = f"q1_binary_batch_size (hidden.yaml set {i})"
        assert f"{label}: started, run folder " in out
        assert re.search(rf"{re.escape(label)}: finished in [\d.]+ s: test acc \(mean over seeds\) b1024: ", out), out


def write_batch(tmp_path, text, name="batch.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("name,text,where", [
    ("batch.yaml", "- notebook: q1\n  epochs: [1\n- notebook: q2\n", "line 3, column 11: not valid YAML: while parsing "
                                                                       "a flow sequence (line 2, column 11)"),
])
def test_a_batch_file_that_does_not_parse_is_named_with_line_and_column(tmp_path, monkeypatch, capsys, name, text, where):
    monkeypatch.setenv("MNIST_HW_RUNS", str(tmp_path / "runs"))
    batch = write_batch(tmp_path, text, name)
    assert f"{batch}, {where}" in refused(capsys, "--batch", str(batch))
    assert not (tmp_path / "runs").exists()


def test_a_json_batch_file_that_does_not_parse_is_named_with_the_line_and_column_of_the_fault(tmp_path, monkeypatch,
                                                                                             capsys):
    """The column is where Python's json stops, which moved between versions (3.11: the '}' after a trailing comma;
    3.13: the comma itself); either way it points into the fault on the right line."""
    monkeypatch.setenv("MNIST_HW_RUNS", str(tmp_path / "runs"))
    lines = ['[', '  {"notebook": "q1", "epochs": 1,}', ']']
    batch = write_batch(tmp_path, "\n".join(lines), "batch.json")
    found = re.search(rf"{re.escape(str(batch))}, line 2, column (\d+): not valid JSON: \S",
                      refused(capsys, "--batch", str(batch)))
    assert found, "no 'line 2, column N: not valid JSON: <reason>' naming the file"
    assert lines[1][int(found[1]) - 1] in ",}", f"column {found[1]} of {lines[1]!r} is not the trailing comma"
    assert not (tmp_path / "runs").exists()


def test_a_y_mapping_that_does_not_parse_is_named_with_line_and_column(capsys):
    assert "-y '{epochs: [1}', line 1, column 12: not valid YAML" in refused(capsys, "q1", "-y", "{epochs: [1}")


@pytest.mark.parametrize("text,error", [
    ("- {notebook: q1, epochs: 1}\n- {notebook: q1, epochs: 2}\n- {notebook: q1, epochs: 1}\n",
     "batch.yaml set 1 and batch.yaml set 3 are the same run (q1_binary_batch_size, run folder "),
    ("- {notebook: q1}\n- {notebook: q1, hidden: 16}\n",  # 16 is the default: the same full parameter set
     "batch.yaml set 1 and batch.yaml set 2 are the same run"),
    ("- {notebook: q1, epochs: 1, run_dir: /tmp/one}\n- {notebook: q1, epochs: 2, run_dir: /tmp/one}\n",
     "batch.yaml set 1 and batch.yaml set 2 are the same run (q1_binary_batch_size, run folder /tmp/one)"),
    ("- {notebook: q1, epochs: 1}\n- {notebook: q4, epohcs: 2}\n", "q4_autoencoder.ipynb: unknown parameter(s) ['epohcs']"),
    ("- {notebook: q1, epochs: 1}\n- {notebook: q5}\n", "unknown notebook 'q5'"),
])
def test_a_bad_or_repeated_set_anywhere_stops_the_batch_before_anything_runs(tmp_path, monkeypatch, capsys, text, error):
    monkeypatch.setenv("MNIST_HW_RUNS", str(tmp_path / "runs"))
    assert error in refused(capsys, "--batch", str(write_batch(tmp_path, text)), "--jobs", "2")
    assert not (tmp_path / "runs").exists() and not Path("/tmp/one").exists()


def test_the_same_notebook_twice_on_the_command_line_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MNIST_HW_RUNS", str(tmp_path / "runs"))
    assert "NOTEBOOK q4 and NOTEBOOK q4_autoencoder are the same run" in refused(capsys, "q4", "q4_autoencoder", "-p", "epochs", "1")


# ---- make run: the committed reference is replaced only whole, only once every notebook has run ----------------

OK_SOURCE = '''# %% tags=["parameters"]
device: str = "cpu"  # where it runs
run_dir: str = ""  # its folder

# %%
import json, pathlib
folder = pathlib.Path({folder!r})
(folder / "results.csv").write_text("x,y\\n1,{value}\\n")
(folder / "plot.png").write_bytes(b"png {value}")
(folder / "manifest.json").write_text(json.dumps({{"summary": {{"headline": "fake {value}"}}}}))
print("ran", {value})
'''


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A repository with a committed reference: q8 (source q8_ok.py, record q8_ok.ipynb), q9 failing."""
    root = tmp_path / "repo"
    for sub in ("notebooks", "results/q8_ok", "figures"):
        (root / sub).mkdir(parents=True)
    notebooks(monkeypatch, root / "notebooks")
    questions = register(monkeypatch, Question("q8", "q8_ok"), Question("q9", "q9_bad"))
    monkeypatch.setattr(reference, "RESULTS", root / "results")
    monkeypatch.setattr(reference, "FIGURES", root / "figures")
    monkeypatch.setenv("MNIST_HW_RUNS", str(tmp_path / "runs"))
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("the old record")]),
                   root / "notebooks" / "q8_ok.ipynb")
    (root / "results" / "q8_ok" / "results.csv").write_text("x,y\n1,0\n")
    (root / "results" / "q8_ok" / "stale.csv").write_text("a file the new run does not write\n")
    (root / "figures" / "q8_old.png").write_bytes(b"old q8 figure")
    (root / "figures" / "q5_other.png").write_bytes(b"another notebook's figure")
    bad = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("device: str = 'cpu'\nrun_dir: str = ''"),
                                          nbformat.v4.new_code_cell("1 / 0")])
    bad.cells[0].metadata["tags"] = ["parameters"]
    bad.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(bad, root / "notebooks" / "q9_bad.ipynb")

    def write_source(value):
        source = root / "notebooks" / "q8_ok.py"
        source.write_text(OK_SOURCE.format(folder="", value=value))  # the run folder depends on the parameters only
        source.write_text(OK_SOURCE.format(folder=str(jobs.Job(source.with_suffix(".ipynb")).run_dir()), value=value))

    write_source(1)
    return SimpleNamespace(root=root, write_source=write_source, questions=questions)


def snapshot(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_failing_reference_run_leaves_every_tracked_file_as_it_was(repo, capsys):
    before = snapshot(repo.root)
    assert run("--reference") == 1  # q8 runs, then q9 fails
    assert snapshot(repo.root) == before  # byte for byte, and nothing added (no staging left behind)
    out = capsys.readouterr()
    assert "q9_bad.ipynb failed in cell 2: ZeroDivisionError" in out.err and "reference not replaced" in out.out


def test_a_finished_reference_run_replaces_notebook_results_and_figures(repo, capsys):
    (repo.root / "notebooks" / "q9_bad.ipynb").unlink()
    del repo.questions["q9"]
    repo.write_source(2)
    assert run("--reference") == 0
    out = capsys.readouterr().out
    assert f"replaced {repo.root}/notebooks/q8_ok.ipynb and {repo.root}/results/q8_ok/; {repo.root}/figures/ (2 figures)" in out
    assert snapshot(repo.root / "results") == {"q8_ok/manifest.json": b'{"summary": {"headline": "fake 2"}}',
                                          "q8_ok/plot.png": b"png 2", "q8_ok/results.csv": b"x,y\n1,2\n"}
    assert snapshot(repo.root / "figures") == {"q5_other.png": b"another notebook's figure", "q8_plot.png": b"png 2"}
    text = (repo.root / "notebooks" / "q8_ok.ipynb").read_text()
    for key in ('"start_time"', '"end_time"', '"duration"', '"iopub.', '"execution":'):
        assert key not in text
    nb = nbformat.read(repo.root / "notebooks" / "q8_ok.ipynb", 4)
    assert nb.cells[1].outputs[0]["text"] == "ran 2\n" and nb.metadata.kernelspec.name == "python3"
    assert nb.metadata.papermill.input_path.endswith("notebooks/q8_ok.py")
    assert nb.metadata.papermill.output_path.endswith("notebooks/q8_ok.ipynb")
    assert sorted(p.name for p in repo.root.rglob(".*")) == []  # no staging folder or temporary file left


@pytest.mark.parametrize("kill_at", ["rename old away", "rename new in", "delete old"])
def test_a_folder_swap_killed_at_any_step_leaves_the_old_or_the_new_folder(tmp_path, monkeypatch, kill_at):
    target, staged = tmp_path / "results", tmp_path / ".results.new"
    for folder, version in ((target, "old"), (staged, "new")):
        folder.mkdir()
        for name in ("a.csv", "b.png"):
            (folder / name).write_text(f"{version} {name}")
    rename, rmtree = files.os.rename, files.shutil.rmtree
    renames = []

    def rename_until_killed(src, dst):
        renames.append(src)
        if kill_at == ("rename old away", "rename new in")[min(len(renames), 2) - 1] and len(renames) <= 2:
            raise KeyboardInterrupt
        rename(src, dst)

    def rmtree_until_killed(path, ignore_errors=False):
        (Path(path) / "a.csv").unlink()  # half deleted, then killed
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "rename", rename_until_killed)
    if kill_at == "delete old":
        monkeypatch.setattr(files.shutil, "rmtree", rmtree_until_killed)
    with pytest.raises(KeyboardInterrupt):
        files.replace_folder(staged, target)
    monkeypatch.undo()
    files.restore(target)  # what the next make run does first
    version = "new" if kill_at == "delete old" else "old"
    assert snapshot(tmp_path) == {"results/a.csv": f"{version} a.csv".encode(), "results/b.png": f"{version} b.png".encode()}


def test_executed_notebooks_are_recorded_with_relative_paths_and_no_clock_readings():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    nb.cells[0].metadata.update(papermill={"start_time": "t", "duration": 1.0}, tags=["x"])
    nb.metadata["papermill"] = {"start_time": "t", "end_time": "t", "duration": 2.0, "parameters": {"a": 1},
                                "input_path": "/tmp/scratch/q1.ipynb", "output_path": "/tmp/x/q1.ipynb"}
    out = record.recorded(nb, jobs.NOTEBOOKS / "q1.py", jobs.NOTEBOOKS / "q1.ipynb")
    assert out.cells[0].metadata == {"tags": ["x"]}
    assert out.metadata.papermill == {"parameters": {"a": 1}, "input_path": "notebooks/q1.py", "output_path": "notebooks/q1.ipynb"}


def fake_kernels(monkeypatch, fails: frozenset[int] = frozenset()) -> list[tuple[str, int, float]]:
    """Replace papermill by threads that act as the kernels do under the runner: start, train 0.4 s, say so in the
    progress file, draw for 1 s and end (a job in `fails` fails while it trains); the events as (event, job, time).
    Each finds a progress file of an earlier run that was killed after training: it must not count."""
    events: list[tuple[str, int, float]] = []

    def execute(job, fresh, threads, board, key):
        progress = job.run_dir() / "progress.json"
        progress.parent.mkdir(parents=True, exist_ok=True)
        progress.write_text(json.dumps({"trained": True, "updated": time.time() - 60}))  # an earlier run's, killed
        board.begin(key, runner.Watched(job.label, progress), "started")
        events.append(("start", key, time.time()))
        time.sleep(0.4)
        if key in fails:
            board.end(key, "failed")
            return {"error": "boom", "index": key}
        progress.write_text(json.dumps({"trained": True, "updated": time.time()}))
        events.append(("trained", key, time.time()))
        time.sleep(1.0)  # well over the runner's poll of 0.25 s
        events.append(("end", key, time.time()))
        board.end(key, "finished")
        return {"error": None, "index": key}
    monkeypatch.setattr(runner, "execute", execute)
    return events


def test_by_default_one_notebook_trains_at_a_time_and_the_next_starts_while_it_draws(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_HW_RUNS", str(tmp_path / "runs"))
    events = fake_kernels(monkeypatch)
    jobs = [runner.Job(runner.find_notebook(q)) for q in ("q1", "q2", "q3", "q4")]
    rows = runner.run_jobs(jobs, fresh=False, parallel=None)
    assert [r["index"] for r in rows] == [0, 1, 2, 3] and not any(r["error"] for r in rows)
    at = {(event, key): t for event, key, t in events}
    for k in range(3):
        assert at["trained", k] <= at["start", k + 1] < at["end", k]  # the next starts once this one has trained


def test_in_turns_a_failed_notebook_stops_the_rest_unless_told_to_keep_going(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_HW_RUNS", str(tmp_path / "runs"))
    fake_kernels(monkeypatch, fails=frozenset({0}))
    jobs = [runner.Job(runner.find_notebook(q)) for q in ("q1", "q2", "q3")]
    assert [r["error"] for r in runner.run_jobs(jobs, fresh=False, parallel=None)] == ["boom"]
    rows = runner.run_jobs(jobs, fresh=False, parallel=None, keep_going=True)  # grade's reruns: every one runs
    assert [r["error"] for r in rows] == ["boom", None, None]


def test_the_runner_and_its_papermill_processes_start_without_a_grammar_they_never_use():
    """jsonschema imports rfc3987_syntax, when installed, for format checks nothing here makes (1.5 s per process):
    the runner's process leaves it out, and so does each papermill process it starts (papermill's own CLI)."""
    code = "import sys, mnist_hw.publish.batch, jsonschema; print(sys.modules['rfc3987_syntax'])"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "None\n"
    shown = subprocess.run([sys.executable, "-m", "mnist_hw.publish.papermill_cli", "--help"], capture_output=True,
                           text=True)
    assert shown.returncode == 0 and "papermill_cli [OPTIONS] NOTEBOOK_PATH" in shown.stdout
