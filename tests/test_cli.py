"""The command line `python -m mnist_hw`: its help, its usage errors, every command the README and the Makefile give,
and, as a user sees it, a run that talks while it works and stops, whole, on a SIGTERM."""
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mnist_hw import __main__ as cli
from mnist_hw.publish.lab import ENABLE
from mnist_hw.publish import batch

ROOT = Path(__file__).parents[1]
COMMANDS = ["run", "grade", "report", "bench", "lab"]


def test_python_m_mnist_hw_help_lists_every_command():
    done = subprocess.run([sys.executable, "-m", "mnist_hw", "--help"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("usage: python -m mnist_hw [-h] COMMAND ...")
    listed = re.findall(r"^    (\w+) ", done.stdout, re.M)
    assert listed == COMMANDS
    assert done.stdout.count("One-hidden-layer MLPs on MNIST") == 1  # the description, once


def help_of(capsys, *argv):
    with pytest.raises(SystemExit) as exit:
        cli.main([*argv, "--help"])
    assert exit.value.code in (0, None)
    return capsys.readouterr().out


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_a_purpose_examples_and_its_program_name(command, capsys):
    out = help_of(capsys, command)
    assert out.startswith(f"usage: python -m mnist_hw {command} ")
    description = out.split("\n\n")[1]
    assert len(description.splitlines()) <= 2 and description.rstrip().endswith((".", ")"))  # one sentence of purpose
    examples = out.split("examples:\n", 1)[1].splitlines()
    assert len(examples) >= 2 and all(line.startswith(f"  python -m mnist_hw {command}") for line in examples if line)


@pytest.mark.parametrize("command", COMMANDS)
def test_the_console_script_shows_its_own_name(command, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["/somewhere/bin/mnist-hw", command, "--help"])
    out = help_of(capsys, command)
    assert out.startswith(f"usage: mnist-hw {command}") and f"  mnist-hw {command}" in out


@pytest.mark.parametrize("argv,error", [
    ([], "error: choose a command: run, grade, report, bench, lab"),
    (["rnu"], "error: argument COMMAND: invalid choice: 'rnu' (choose from run, grade, report, bench, lab)"),
    (["grade", "--quiet"], "python -m mnist_hw grade: error: unrecognized arguments: --quiet"),
    (["run", "q1", "q7"], "python -m mnist_hw run: error: unknown notebook 'q7'; choose from q1, q2, q3, q4 or "
                          "q1_binary_batch_size"),
    (["report", "--colour"], "python -m mnist_hw report: error: unrecognized arguments: --colour"),
])
def test_a_usage_error_prints_the_usage_what_was_wrong_and_exits_2(argv, error, capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main(argv)
    err = capsys.readouterr().err
    assert exit.value.code == 2 and err.startswith("usage: ") and error.replace("'", "") in err.replace("'", ""), err


def test_lab_starts_jupyter_lab_on_the_notebooks_with_the_extension_that_keeps_them(monkeypatch):
    started = []
    monkeypatch.setattr(cli.subprocess, "call", lambda command: started.append(command) or 0)
    assert cli.main(["lab", "--no-browser"]) == 0
    assert started == [[sys.executable, "-m", "jupyterlab", ENABLE, str(ROOT / "notebooks"), "--no-browser"]]


def test_the_benchmark_stays_a_script_of_its_own():
    """`python benchmarks/bench.py` runs main() too (its imports and --help are checked through `bench --help`)."""
    assert (ROOT / "benchmarks" / "bench.py").read_text().rstrip().endswith('if __name__ == "__main__":\n    main()')


# ---- every command the README and the Makefile give parses, names what exists, and (run) passes its checks -----

def readme_commands() -> list[list[str]]:
    """The arguments of every `python -m mnist_hw ...` line in the README's code blocks."""
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [shlex.split(line)[3:] for line in lines if re.match(r"(\.venv/bin/)?python -m mnist_hw\b", line)]


def makefile_commands() -> list[list[str]]:
    text = (ROOT / "Makefile").read_text().replace("$(if $(FRESH),--fresh)", "--fresh")
    return [shlex.split(args) for args in re.findall(r"^\t\$\(PY\) -m mnist_hw (.*)$", text, re.M)]


def test_the_readme_and_the_makefile_use_the_command_line():
    assert len(readme_commands()) >= 4 and {argv[0] for argv in readme_commands()} >= {"run", "grade"}
    assert sorted(argv[0] for argv in makefile_commands()) == sorted(COMMANDS)
    readme = (ROOT / "README.md").read_text()
    assert not re.search(r"mnist_hw\.(run_all|grade|report|publish)\b", readme)


@pytest.mark.parametrize("argv", readme_commands() + makefile_commands(), ids=" ".join)
def test_each_readme_and_makefile_command_is_valid(argv, monkeypatch, tmp_path, capsys):
    parser, commands = cli.build()
    args, extra = parser.parse_known_args(argv)
    assert args.command in COMMANDS and (not extra or args.command in cli.PASSED_ON), argv
    if args.command == "run":  # every check of the real command, then no notebook executed
        monkeypatch.setattr(batch, "run_jobs", lambda jobs, *a, **k: [])
        monkeypatch.setattr(batch, "restore_reference", lambda notebooks: None)
        monkeypatch.setenv("MNIST_HW_RUNS", str(tmp_path / "runs"))
        assert cli.main(argv) in (0, 1)  # 1: no row came back from the stub
    if args.command == "grade" and args.rerun:
        assert str(args.rerun).rstrip("/") in ("runs", "results")


# ---- as a user sees it: a run talks while it works, and a SIGTERM stops it whole ------------------------------

@pytest.mark.skipif(os.name != "posix", reason="sends SIGTERM; on Windows the runner ends the tree with taskkill")
def test_a_run_talks_at_once_never_falls_silent_and_stops_whole_on_sigterm(mnist_dir, tmp_path):
    """`python -m mnist_hw run q1 ...` in a log (not a terminal), progress lines every second: the first line comes
    at once, no gap is long, the training step shows units done of the total; a SIGTERM then ends papermill and the
    kernel, says what it stopped, and leaves the run folder (its lock free) for the next run to resume."""
    psutil = pytest.importorskip("psutil")
    env = os.environ | {"MNIST_HW_RUNS": str(tmp_path / "runs"), "MNIST_HW_PROGRESS_EVERY": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "mnist_hw", "run", "q1", "-p", "epochs", "5", "-p", "hidden", "4",
               "-y", "{batch_sizes: [2], seeds: [0]}"]  # one unit of 20 s or more here: stopped at its start
    start = time.time()
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[tuple[float, str]] = []
    reader = threading.Thread(target=lambda: lines.extend((time.time() - start, line.rstrip()) for line in proc.stdout))
    reader.start()
    below = []
    try:
        while not any("train: configurations 0/1" in line for _, line in lines):
            assert proc.poll() is None and time.time() - start < 90, lines
            time.sleep(0.1)
        below = psutil.Process(proc.pid).children(recursive=True)
        assert {"mnist_hw.publish.papermill_cli", "ipykernel_launcher"} <= {part for p in below for part in p.cmdline()}
        stopped = time.time()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 128 + signal.SIGTERM
    except BaseException:  # a failing run leaves nothing behind either
        below = below or (psutil.Process(proc.pid).children(recursive=True) if proc.poll() is None else [])
        proc.kill()
        for p in below:
            p.kill() if p.is_running() else None
        raise
    reader.join(10)
    time.sleep(0.5)
    left = [p for p in below if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    for p in left:
        p.kill()
    assert not left and time.time() - stopped < 10, [p.cmdline() for p in left]
    times = [t for t, _ in lines]
    assert times[0] < 10, lines  # the first line, at once
    begun = next(i for i, (_, line) in enumerate(lines) if ": started, run folder " in line)
    assert max(b - a for a, b in zip([0.0, *times], times)) < 20, lines  # the target: never silent for 20 s
    assert max(b - a for a, b in zip(times[begun:], times[begun + 1:])) < 6, lines  # while it runs, a line a second
    text = "\n".join(line for _, line in lines)
    assert re.search(r"q1_binary_batch_size: train: configurations 0/1, 0:\d\d elapsed", text), text
    assert "q1_binary_batch_size: started, run folder " in text and "interrupted by SIGTERM: " in text
    folder = next((tmp_path / "runs").glob("q1-*"))
    assert (folder / "manifest.json").exists() and not (folder / "progress.json").exists()
    import filelock

    filelock.FileLock(folder / ".lock").acquire(timeout=0)  # no kernel holds the run folder any more
