"""What the runner shows while notebooks run (read from the progress their kernels report), and how it stops them."""
import json
import os
import subprocess
import sys
import time

import pytest

from mnist_hw.publish import live

NOW = 1_000_000.0


@pytest.mark.parametrize("state,shown", [
    ({}, ("starting the kernel", None, None, None)),
    ({"notebook": "q2"}, ("preparing", None, None, None)),
    ({"phase": "data", "phase_changed": NOW - 5}, ("data", None, None, None)),
    # a bar begun in this phase: units done of the total, and the time left at the rate so far
    ({"phase": "grid", "phase_changed": NOW - 30, "desc": "configurations", "bar_started": NOW - 20, "done": 12,
      "total": 48, "resumed": 0}, ("grid: configurations", 12, 48, 60.0)),
    # resumed units do not count in the rate
    ({"phase": "grid", "phase_changed": NOW - 30, "desc": "configurations", "bar_started": NOW - 20, "done": 12,
      "total": 48, "resumed": 8}, ("grid: configurations", 12, 48, 180.0)),
    # the bar of an earlier phase is not the current step
    ({"phase": None, "last_phase": "grid", "phase_changed": NOW - 2, "desc": "configurations", "bar_started": NOW - 20,
      "done": 48, "total": 48}, ("after grid", None, None, None)),
])
def test_a_kernels_progress_reads_as_its_step(state, shown):
    assert live.step(state, NOW) == shown


def write(path, **state):
    path.write_text(json.dumps(state))


def test_plain_lines_say_the_step_elapsed_and_left(tmp_path):
    progress = tmp_path / "progress.json"
    watched = live.Watched("q2_ten_digits_grid", progress, started=NOW - 75)
    write(progress, phase="grid", phase_changed=NOW - 30, desc="configurations", bar_started=NOW - 20, done=12, total=48)
    assert watched.status(NOW) == ("grid: configurations 12/48, 1:15 elapsed, about 1:00 left", 12, 48)
    write(progress, phase="train", phase_changed=NOW - 30)  # no bar (Q4): the committed record's time, when known
    assert watched.status(NOW)[0] == "train, 1:15 elapsed"
    watched.expected = 100.0
    assert watched.status(NOW)[0] == "train, 1:15 elapsed, about 0:25 left by the committed record's 1:40"
    watched.expected = 60.0
    assert watched.status(NOW)[0] == "train, 1:15 elapsed, longer than the committed record's 1:00"


def test_plain_lines_come_on_each_new_step_and_every_few_seconds_one_per_job(tmp_path, capsys):
    board = live.Board(tty=False, every=0.2)
    for key, name in enumerate(("a", "b")):
        write(tmp_path / f"{name}.json", phase="data", phase_changed=time.time())
        board.begin(key, live.Watched(name, tmp_path / f"{name}.json"), "started")
    board.tick()
    board.tick()  # nothing new and too soon: silent
    time.sleep(0.25)
    board.tick()
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines] == ["a: started", "b: started", "a: data", "b: data", "a: data", "b: data"]
    board.end(0, "finished in 1.0 s: headline")
    assert capsys.readouterr().out == "a: finished in 1.0 s: headline\n" and list(board.running) == [1]


def test_in_a_terminal_each_job_has_a_bar(tmp_path, capsys):
    board = live.Board(tty=True)
    write(tmp_path / "p.json", phase="grid", phase_changed=NOW, desc="configurations", bar_started=NOW + 1, done=3, total=8)
    board.begin(0, live.Watched("q2", tmp_path / "p.json"), "started")
    board.tick()
    bar = board.running[0].bar
    assert (bar.n, bar.total) == (3, 8) and bar.desc.startswith("q2: grid: configurations 3/8, ")
    board.end(0, "finished")
    assert "finished" in capsys.readouterr().out


@pytest.mark.skipif(os.name != "posix", reason="process groups and sessions are POSIX; Windows stops the tree with taskkill")
def test_stop_ends_the_process_and_a_child_in_a_session_of_its_own(tmp_path):
    psutil = pytest.importorskip("psutil")
    child = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], " \
            "start_new_session=True); print('ok', flush=True); time.sleep(60)"  # as jupyter_client starts a kernel
    with open(tmp_path / "log", "w+b") as log:
        proc = live.start([sys.executable, "-c", child], dict(os.environ), log)
        deadline = time.time() + 20
        while b"ok" not in (tmp_path / "log").read_bytes() and time.time() < deadline:
            time.sleep(0.05)
        below = [psutil.Process(pid) for pid in live.descendants(proc.pid)]
        assert len(below) == 1
        start = time.time()
        live.stop(proc)
    assert time.time() - start < 5 and proc.returncode is not None
    time.sleep(0.2)
    assert not [p for p in below if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_clock():
    assert [live.clock(s) for s in (7, 83, 3723)] == ["0:07", "1:23", "1:02:03"]
