"""Whatever cannot run is refused in one message, never a traceback, and before anything is written or deleted:
exit status 2 for a usage error (with the usage), 1 for what is well formed but cannot run here. A run folder is
only ever a run folder: `--fresh` and every run refuse a folder that is not empty nor this notebook's run."""
import json
import os
from pathlib import Path

import pytest
import torch

from mnist_hw.__main__ import main
from mnist_hw.publish import jobs
from mnist_hw.runs.files import REPO

from .test_batch import refused, run
from .test_grade import rerun  # noqa: F401 (the fixture: a copy of results/ per question)

TINY = ["-p", "epochs", "1", "-y", "{batch_sizes: [1024], seeds: [0]}"]


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def failed(capsys, *argv: str) -> str:
    """What a command that cannot run here prints: one line on stderr, no usage, no traceback (exit status 1)."""
    assert main(list(argv)) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "usage:" not in err and err.count("\n") == 1, err
    return err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_a_device_this_machine_lacks_is_a_usage_error(capsys):
    assert "device 'cuda' is not available on this machine" in refused(capsys, "q1", "-p", "device", "cuda")


def test_a_parameters_file_that_is_not_utf8_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "p.yaml").write_bytes(b"epochs: 1\nactivation: \xff\n")
    assert f"-f {tmp_path / 'p.yaml'}: not UTF-8 text (byte 0xff" in refused(capsys, "q1", "-f", str(tmp_path / "p.yaml"))


def test_a_run_dir_naming_a_file_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert "is a file, not a folder" in refused(capsys, "q1", "-p", "run_dir", str(tmp_path / "notes.txt"), *TINY)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_runs_folder_that_cannot_be_written_is_one_message(tmp_path, monkeypatch, capsys):
    runs = tmp_path / "read-only"
    runs.mkdir(0o555)
    if os.access(runs, os.W_OK):  # root writes anyway: a folder of a file system that refuses even root
        runs = Path("/sys/mnist_hw_runs")
    monkeypatch.setenv("MNIST_HW_RUNS", str(runs))
    assert "cannot be written" in failed(capsys, "run", "q1", *TINY)


def test_report_with_a_browser_variable_naming_nothing_is_one_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MNIST_HW_CHROMIUM", str(tmp_path / "no-such-browser"))
    assert "MNIST_HW_CHROMIUM=" in failed(capsys, "report", "-o", str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def _other_question(folder):
    data = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps(data | {"notebook": "q3"}))


def _empty(folder):
    (folder / "results.csv").write_text("")


def _a_folder(folder):
    (folder / "results.csv").unlink()
    (folder / "results.csv").mkdir()


def _text(folder):
    (folder / "results.csv").write_text((folder / "results.csv").read_text().replace(",5,2,0,", ",5,two,0,", 1))


@pytest.mark.parametrize("edit,said", [(_other_question, "results.csv has no column"),
                                       (_empty, "results.csv is empty"), (_a_folder, "results.csv is not a file"),
                                       (_text, "column batch_size holds 'two', not a number")])
def test_grade_rerun_of_an_unreadable_run_is_a_failed_check_not_a_traceback(rerun, tmp_path, capsys, edit, said):  # noqa: F811
    edit(rerun["q1"])  # the run folder itself, as `grade --rerun runs/q1-<key>` takes it
    assert main(["grade", "--rerun", str(rerun["q1"]), "--scratch", str(tmp_path / "s")]) == 1
    out = capsys.readouterr()
    assert said in out.out and "Traceback" not in out.err + out.out


# ---- a run folder is only ever a run folder ------------------------------------------------------------------

def test_fresh_never_deletes_a_folder_of_other_files(tmp_path, capsys):
    (tmp_path / "thesis.txt").write_text("three years of work")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "data.csv").write_text("1,2\n")
    before = snapshot(tmp_path)
    err = refused(capsys, "q1", "--fresh", "-p", "run_dir", str(tmp_path), *TINY)
    assert f"run_dir: '{tmp_path}' is not allowed: the folder {tmp_path} holds files that are not a run's (sub, thesis.txt)" in err
    assert snapshot(tmp_path) == before


def test_the_working_directory_is_no_run_folder(tmp_path, monkeypatch, capsys):
    (tmp_path / "mine.txt").write_text("x")
    monkeypatch.chdir(tmp_path)
    assert f"run_dir: '{tmp_path}' is not allowed: the folder " in refused(capsys, "q1", "--fresh", "-p", "run_dir", ".", *TINY)
    assert (tmp_path / "mine.txt").read_text() == "x"


PLACES = [("repo", "the repository or a folder holding it"), (".", "the repository or a folder holding it"),
          ("repo/results", "the committed results"), ("repo/results/q1_binary_batch_size", "the committed results"),
          ("repo/notebooks", "the notebooks' folder"), ("repo/notebooks/new", "the notebooks' folder"),
          ("repo/figures", "the committed figures"), ("home", "the home folder")]


@pytest.mark.parametrize("place,said", PLACES)
def test_the_repository_its_records_and_home_are_no_run_folders(place, said, tmp_path, monkeypatch, capsys):
    """Against a stand-in repository and home in tmp_path (REPO and Path.home patched where the claim reads them), so
    that a regression can only ever delete temporary folders."""
    from mnist_hw.runs import claim

    for sub in ("repo/results/q1_binary_batch_size", "repo/notebooks", "repo/figures", "home"):
        (tmp_path / sub).mkdir(parents=True, exist_ok=True)
        (tmp_path / sub / "kept.txt").write_text("a file of the project or the user")
    monkeypatch.setattr(claim, "REPO", tmp_path / "repo")
    monkeypatch.setattr(claim.Path, "home", classmethod(lambda cls: tmp_path / "home"))
    before = snapshot(tmp_path)
    assert said in refused(capsys, "q1", "--fresh", "-p", "run_dir", str(tmp_path / place), *TINY)
    assert snapshot(tmp_path) == before and not (tmp_path / "repo" / "notebooks" / "new").exists()


def test_the_real_repository_and_home_are_refused_by_the_claim():
    from mnist_hw.runs import claim

    for place in (REPO, REPO.parent, REPO / "results", REPO / "notebooks" / "x", REPO / "figures", Path.home()):
        with pytest.raises(claim.NotARunFolder, match=str(place)):
            claim.claim(place, "q1", "q1_binary_batch_size", str(place))


def test_another_questions_run_is_not_written_over(tmp_path, capsys):
    (tmp_path / "manifest.json").write_text(json.dumps({"notebook": "q3", "parameters": {}, "finished": "t"}))
    before = snapshot(tmp_path)
    assert "holds a run of 'q3', not of q1" in refused(capsys, "q1", "--fresh", "-p", "run_dir", str(tmp_path), *TINY)
    assert snapshot(tmp_path) == before


def test_an_empty_folder_a_new_one_and_this_notebooks_runs_are_run_folders(tmp_path):
    from mnist_hw.runs import claim

    claim.claim(tmp_path / "new", "q1", "q1_binary_batch_size")
    claim.claim(tmp_path, "q1", "q1_binary_batch_size")
    (tmp_path / ".lock").write_text("")
    (tmp_path / "q1_binary_batch_size.ipynb").write_text("{}")  # what the runner writes before the manifest
    claim.claim(tmp_path, "q1", "q1_binary_batch_size")
    # a run of the same notebook with other parameters: JupyterLab's edit-a-parameter-and-rerun writes it again
    (tmp_path / "manifest.json").write_text(json.dumps({"notebook": "q1", "parameters": {"epochs": 9}}))
    (tmp_path / "results.csv").write_text("a\n1\n")
    claim.claim(tmp_path, "q1", "q1_binary_batch_size")


def test_a_relative_run_dir_is_the_callers_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    job = jobs.Job(jobs.find_notebook("q1"), {"run_dir": "mine/run"})
    assert job.run_dir() == tmp_path / "mine" / "run" and job.overrides["run_dir"] == str(tmp_path / "mine" / "run")


@pytest.mark.parametrize("argv,usage", [(["grade", "--rerun", str(REPO / "results"), "--questions", "q4", "--scratch"], "usage: python -m mnist_hw grade"),
                                        (["report", "--no-pdf", "-o"], "usage: python -m mnist_hw report")])
def test_grade_and_report_write_over_no_file_of_the_users(tmp_path, capsys, argv, usage):
    (tmp_path / "report.txt").write_text("mine")
    before = snapshot(tmp_path)
    with pytest.raises(SystemExit) as exit:
        main([*argv, str(tmp_path)])
    err = capsys.readouterr().err
    assert exit.value.code == 2 and err.startswith(usage) and "holds files this command does not write (report.txt)" in err
    assert snapshot(tmp_path) == before
