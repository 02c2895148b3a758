"""Closing the terminal (SIGHUP) stops a run as SIGTERM does, and nothing is left behind: no papermill or kernel
still working, no temporary folder or kernel connection file. One run started twice: the second copy is refused
before it writes anything, so a finished run is never replaced. The closing total of a batch is its wall time."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import filelock
import nbformat
import pytest

from mnist_hw.__main__ import main
from mnist_hw.publish import batch as runner
from mnist_hw.registry import Question

from .test_batch import notebooks, register

ROOT = Path(__file__).resolve().parents[2]
SLEEPER = """
import sys
from pathlib import Path
from mnist_hw import registry
from mnist_hw.publish import batch, jobs
from mnist_hw.registry import Question
registry.QUESTIONS = jobs.QUESTIONS = {"q9": Question("q9", "q9_sleep")}
jobs.NOTEBOOKS = batch.NOTEBOOKS = Path(sys.argv[1])
from mnist_hw.__main__ import main
sys.exit(main(["run", "q9"]))
"""


def sleeper(folder: Path) -> None:
    """<folder>/notebooks/q9_sleep.ipynb: a notebook that says it started, then sleeps a minute."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("device: str = 'cpu'\nrun_dir: str = ''"),
                                         nbformat.v4.new_code_cell("import time\nprint('asleep', flush=True)\ntime.sleep(60)")])
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (folder / "notebooks").mkdir(parents=True)
    nbformat.write(nb, folder / "notebooks" / "q9_sleep.ipynb")


@pytest.mark.skipif(os.name != "posix", reason="SIGHUP is POSIX")
def test_a_hang_up_stops_papermill_and_the_kernel_and_leaves_no_temporary_files(tmp_path):
    psutil = pytest.importorskip("psutil")
    sleeper(tmp_path)
    scratch, runtime = tmp_path / "tmp", tmp_path / "runtime"
    scratch.mkdir()
    runtime.mkdir()
    env = os.environ | {"MNIST_HW_RUNS": str(tmp_path / "runs"), "TMPDIR": str(scratch), "JUPYTER_RUNTIME_DIR": str(runtime),
                        "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", SLEEPER, str(tmp_path / "notebooks")], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    below = []
    try:
        start = time.time()
        while not any("ipykernel_launcher" in part for p in below for part in p.cmdline()):
            assert proc.poll() is None and time.time() - start < 90, proc.stdout.read()
            time.sleep(0.5)
            below = psutil.Process(proc.pid).children(recursive=True)
        time.sleep(1)  # the kernel at work
        proc.send_signal(signal.SIGHUP)
        assert proc.wait(15) == 128 + signal.SIGHUP
    except BaseException:
        proc.kill()
        for p in below:
            p.kill() if p.is_running() else None
        raise
    time.sleep(0.5)
    left = [p for p in below if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    for p in left:
        p.kill()
    assert not left, [p.cmdline() for p in left]
    assert "interrupted by SIGHUP" in proc.stdout.read()
    assert list(scratch.iterdir()) == [] and list(runtime.glob("kernel-*.json")) == []


def test_a_second_copy_of_a_run_is_refused_before_it_writes_anything(tmp_path, monkeypatch, capsys):
    sleeper(tmp_path)
    notebooks(monkeypatch, tmp_path / "notebooks")
    register(monkeypatch, Question("q9", "q9_sleep"))
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "q9_sleep.ipynb").write_text("the finished run's notebook")
    (folder / "manifest.json").write_text('{"notebook": "q9", "parameters": {}, "finished": "t"}')
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with filelock.FileLock(folder / ".lock"):  # the first copy, still running
        assert main(["run", "q9", "--fresh", "-p", "run_dir", str(folder)]) == 1
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.name != ".lock"} == before
    assert "is in use by another process" in capsys.readouterr().out


def test_the_total_of_a_batch_is_its_wall_time(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("MNIST_HW_RUNS", str(tmp_path / "runs"))

    def two_runs_side_by_side(jobs, fresh, parallel):
        return [{"notebook": j.notebook.name, "run_dir": "r", "folder": tmp_path, "notebook_out": "n", "wall_s": 50.0,
                 "error": None, "headline": "h", "index": i} for i, j in enumerate(jobs)]

    monkeypatch.setattr(runner, "run_jobs", two_runs_side_by_side)
    monkeypatch.setattr(runner, "other_checkout", lambda folder: None)
    assert main(["run", "q3", "q4", "--jobs", "2"]) == 0
    total = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("total"))
    assert float(total.split()[1].rstrip("s")) < 50, total  # not 100.0 s, the sum of two runs that overlapped
