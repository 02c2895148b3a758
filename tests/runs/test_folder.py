"""Run folders (mnist_hw.runs.folder): one per parameters and device, a manifest, one process at a time, files replaced
whole, and the code version that keys their rows."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from mnist_hw.engine import device as device_module
from mnist_hw.runs import folder as run_folder


def release(run: run_folder.Run) -> None:
    """Free the run folder's lock as the process's exit would (another process may then open it)."""
    run_folder._LOCKS.pop(run.dir).release()


@pytest.fixture
def runs_root(tmp_path, monkeypatch):
    monkeypatch.setenv(run_folder.RUNS_ENV, str(tmp_path / "runs"))
    return tmp_path / "runs"


def test_run_folders_differ_by_parameters_and_device(runs_root):
    base = {"lockstep": True, "epochs": 3, "run_dir": ""}
    a = run_folder.default_run_dir("q2", base, "cpu")
    assert a.parent == runs_root and a.name.startswith("q2-")
    assert run_folder.default_run_dir("q2", dict(base), "cpu") == a
    assert run_folder.default_run_dir("q2", {**base, "lockstep": False}, "cpu") != a
    assert run_folder.default_run_dir("q2", base, "cuda") != a
    assert run_folder.default_run_dir("q2", {**base, "run_dir": "elsewhere"}, "cpu") == a  # where, not what


def test_an_explicit_run_dir_wins(tmp_path):
    assert run_folder.resolve_run_dir("q1", {"run_dir": str(tmp_path / "mine")}, "cpu") == tmp_path / "mine"


def test_open_run_writes_a_manifest_and_phases(runs_root):
    run = run_folder.open_run("q1", {"epochs": 1, "run_dir": ""}, torch.device("cpu"))
    with run.phase("train"):
        pass
    run.finish(headline="ok")
    manifest = json.loads((run.dir / "manifest.json").read_text())
    assert manifest["parameters"] == {"epochs": 1, "run_dir": ""} and manifest["summary"] == {"headline": "ok"}
    assert set(manifest["mnist_md5"]) == {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                          "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}
    assert "train" in manifest["phases_s"] and manifest["wall_s"] >= 0 and manifest["versions"]["torch"]
    assert manifest["code_version"] == run_folder.code_version() and manifest["cpu_threads"] >= 1
    release(run)


def test_the_end_of_the_last_training_phase_says_the_kernel_has_trained(runs_root, tmp_path, monkeypatch):
    """Q2 trains in three phases: its kernel tells the runner (progress) that it has trained only once "wide" ends;
    the runner then starts the next notebook (mnist_hw.publish.batch)."""
    from mnist_hw.runs import progress

    state = tmp_path / "progress.json"
    monkeypatch.setenv(progress.PROGRESS_ENV, str(state))
    run = run_folder.open_run("q2", {"epochs": 1, "run_dir": ""}, torch.device("cpu"))
    for name in ("data", "grid", "noise", "wide"):
        with run.phase(name):
            assert not progress.read_progress(state).get("trained")
    assert progress.read_progress(state)["trained"] is True
    release(run)


def test_the_printed_line_says_which_device_ran_and_why(tmp_path, monkeypatch):
    """What every notebook's check cell prints (run.describe()) ends with the device and the reason it was chosen."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    run = run_folder.open_run("q1", {"device": "auto", "run_dir": str(tmp_path / "r")}, torch.device("cpu"))
    assert run.describe().startswith("run folder ")
    assert run.describe().endswith(" | device cpu (auto: no CUDA GPU; this Mac's mps is used only when asked for by name)")
    assert json.loads(run.path("manifest.json").read_text())["device_reason"].startswith("cpu (auto: no CUDA GPU")
    release(run)


def test_a_cuda_run_records_the_gpu_cuda_and_driver_versions(tmp_path, monkeypatch):
    """torch.cuda and nvidia-smi faked: this machine has no GPU (docs/devices.md: where CUDA really ran)."""
    calls, real_run = [], subprocess.run

    def nvidia_smi(command, **kwargs):  # git (the manifest's commit) still runs
        if command[0] != "nvidia-smi":
            return real_run(command, **kwargs)
        calls.append(command)
        return subprocess.CompletedProcess(command, 0, stdout="580.82.07\n", stderr="")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA T4")
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.version, "cuda", "12.8")
    monkeypatch.setattr(device_module.subprocess, "run", nvidia_smi)
    run = run_folder.open_run("q1", {"device": "auto", "run_dir": str(tmp_path / "r")}, torch.device("cuda"))
    manifest = json.loads(run.path("manifest.json").read_text())
    release(run)
    assert (manifest["device"], manifest["device_name"], manifest["device_reason"]) == (
        "cuda", "NVIDIA T4", "cuda (auto: NVIDIA T4 found)")
    assert (manifest["cuda_version"], manifest["driver_version"]) == ("12.8", "580.82.07")
    assert calls and calls[-1][0] == "nvidia-smi" and "--id=0" in calls[-1]


def test_a_cuda_run_without_nvidia_smi_records_no_driver_and_a_cpu_run_no_gpu_fields(tmp_path, monkeypatch):
    def missing(command, **kwargs):
        raise FileNotFoundError(command[0])

    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(device_module.subprocess, "run", missing)
    assert device_module.gpu_versions(torch.device("cuda")) == {"cuda_version": torch.version.cuda, "driver_version": None}
    assert device_module.gpu_versions(torch.device("cpu")) == {}


def test_a_manifest_names_the_machine_that_sets_the_last_digits(runs_root):
    run = run_folder.open_run("q1", {"epochs": 2, "run_dir": ""}, torch.device("cpu"))
    manifest = json.loads((run.dir / "manifest.json").read_text())
    release(run)
    assert manifest["cpu_capability"] == torch.backends.cpu.get_cpu_capability()  # AVX2, AVX512, ...
    assert manifest["cpu_threads"] == torch.get_num_threads() and manifest["blas"] in torch.__config__.show()
    if sys.platform.startswith("linux"):  # elsewhere the model may be unknown (None), never a crash
        names = re.findall(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        assert manifest["cpu_model"] == (names[0].strip() if names else manifest["cpu_model"]) and manifest["cpu_model"]


def test_a_second_process_cannot_open_the_same_run(tmp_path):
    folder = tmp_path / "shared"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time, torch; from mnist_hw.runs.folder import open_run; "
        f"open_run('q1', {{'run_dir': {str(folder)!r}}}, torch.device('cpu')); print('open', flush=True); time.sleep(30)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(RuntimeError, match="is in use by another process"):
            run_folder.open_run("q1", {"run_dir": str(folder)}, torch.device("cpu"))
    finally:
        holder.kill()
        holder.wait()
    run = run_folder.open_run("q1", {"run_dir": str(folder)}, torch.device("cpu"))  # free again once the holder is gone
    release(run)


def test_reopening_in_the_same_process_is_allowed(tmp_path):
    params = {"run_dir": str(tmp_path / "lab")}
    first = run_folder.open_run("q1", params, torch.device("cpu"))
    assert run_folder.open_run("q1", params, torch.device("cpu")).dir == first.dir  # a Lab user rerunning the cells
    release(first)


def unwritable_folder(tmp_path):
    """A folder this process cannot write in: read-only by mode, or /proc where permissions do not bind (root)."""
    if os.name != "posix":
        pytest.skip("POSIX only: Windows ignores a folder's read-only mode and has no /proc")
    if os.geteuid() != 0:
        folder = tmp_path / "locked"
        folder.mkdir(mode=0o555)
        return folder
    return Path("/proc")


@pytest.mark.parametrize("case", ["file", "unwritable", "under a file"])
def test_a_run_dir_that_cannot_hold_a_run_is_refused_naming_run_dir(tmp_path, case):
    (tmp_path / "a_file").write_text("not a folder")
    value = unwritable_folder(tmp_path) if case == "unwritable" else {
        "file": tmp_path / "a_file", "under a file": tmp_path / "a_file" / "run"}[case]
    with pytest.raises(ValueError, match=rf"^run_dir: '{re.escape(str(value))}' is not allowed: .*"
                                         r"run_dir must be '' \(the default.*or a folder that can be written"):
        run_folder.open_run("q1", {"run_dir": str(value)}, torch.device("cpu"))
    assert (tmp_path / "a_file").read_text() == "not a folder"


def test_the_default_run_folder_is_checked_too(tmp_path, monkeypatch):
    (tmp_path / "a_file").write_text("")
    monkeypatch.setenv(run_folder.RUNS_ENV, str(tmp_path / "a_file"))
    with pytest.raises(ValueError, match=r"^run_dir: '' \(the default folder .*a_file/q1-\w+\) is not allowed"):
        run_folder.open_run("q1", {"run_dir": ""}, torch.device("cpu"))


def test_a_run_dir_that_is_a_file_stops_the_check_cell_before_any_data(mnist_dir, run_notebook, tmp_path):
    import papermill as pm

    (tmp_path / "a_file").write_text("")
    (tmp_path / "no_mnist").mkdir()  # had the data cell run, it would fail on this empty data root instead
    with pytest.raises(pm.PapermillExecutionError, match=r"ValueError: run_dir: '.*a_file' is not allowed: it is a file") as err:
        run_notebook("q1_binary_batch_size.ipynb", run_dir=str(tmp_path / "a_file"), data_root=str(tmp_path / "no_mnist"))
    assert "open_run(" in err.value.source  # the check cell


def test_run_folder_files_are_replaced_whole(tmp_path, monkeypatch):
    """A kill while the manifest, a table or a figure is written leaves the previous version, never a part."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run = run_folder.open_run("q1", {"run_dir": str(tmp_path / "r")}, torch.device("cpu"))
    fig = plt.figure()
    run.save_table(pd.DataFrame({"a": [1]}), "table", index=False)
    run.save_figure(fig, "plot")
    before = {p.name: p.read_bytes() for p in run.dir.iterdir() if not p.name.startswith(".")}

    def killed(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_folder.os, "replace", killed)  # files.write_atomic's rename (the same os module)
    for write in (lambda: run.save_table(pd.DataFrame({"a": [2]}), "table", index=False),
                  lambda: run.save_figure(fig, "plot"), lambda: run.finish(headline="x")):
        with pytest.raises(KeyboardInterrupt):
            write()
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in run.dir.iterdir() if not p.name.startswith(".")} == before
    plt.close(fig)
    release(run)


def test_code_version_covers_every_module_of_every_subpackage(tmp_path, monkeypatch):
    package = tmp_path / "mnist_hw"
    for rel in ("__init__.py", "engine/__init__.py", "engine/train.py", "questions/q3/answers.py", "notes.txt"):
        (package / rel).parent.mkdir(parents=True, exist_ok=True)
        (package / rel).write_text(f"# {rel}\n")
    monkeypatch.setattr(run_folder, "PACKAGE", package)
    before = run_folder.code_version()
    (package / "questions" / "q3" / "answers.py").write_text("# an answer changed two folders down\n")
    edited = run_folder.code_version()
    (package / "notes.txt").write_text("not code\n")
    assert before != edited == run_folder.code_version()
    (package / "engine" / "train.py").rename(package / "engine" / "fit.py")  # a move is a change too
    assert run_folder.code_version() != edited
