"""make grade's checks, in-process on the committed results: a rerun built from the reference with one number moved
inside its tolerance passes, moved outside it fails exactly that check, with both values shown."""
import json
import math
import shutil

import pandas as pd
import pytest

from mnist_hw.publish import grade
from mnist_hw.questions.grading import tolerance
from mnist_hw.registry import QUESTIONS

STEMS = [q.notebook for q in QUESTIONS.values()]


@pytest.fixture
def rerun(tmp_path):
    """A rerun folder per question, copied from the committed reference (which the tests never edit)."""
    if not all((grade.RESULTS / s / "manifest.json").exists() for s in STEMS):
        pytest.skip("results/ has no committed reference run (make run writes it)")
    shutil.copytree(grade.RESULTS, tmp_path / "rerun")
    return {q.id: tmp_path / "rerun" / q.notebook for q in QUESTIONS.values()}


def best_val(t):
    return t.index == t.val_acc.idxmax()


# (question, file, the check it moves, edit(table, by): the number moved by `by` tolerances' worth, and that tolerance)
MOVES = [
    ("q1", "results.csv", "batch 16: mean test accuracy",
     lambda t, by: t.assign(test_acc=t.test_acc.where(t.batch_size != 16, t.test_acc - by * 0.1))),  # tol >= 0.1 pt
    ("q2", "results.csv", "best configuration: test accuracy",
     lambda t, by: t.assign(test_acc=t.test_acc.where(~best_val(t), t.test_acc + by * 0.2))),  # tol >= 0.2 pt
    ("q3", "headline.csv", "headline: F1 at training prior at N=5000",
     lambda t, by: t.assign(value=t.value - by * 0.02)),  # tol >= 0.02
    ("q4", "results.csv", "test MSE",
     lambda t, by: t.assign(autoencoder=t.autoencoder.where(t.split != "test", t.autoencoder * (1 + by * 0.05)))),
]


def move(folder, file, edit, by):
    path = folder / file
    pd.read_csv(path).pipe(edit, by).to_csv(path, index=False)


@pytest.mark.parametrize("q,file,check,edit", MOVES, ids=[m[0] for m in MOVES])
def test_a_number_moved_within_its_tolerance_passes(rerun, tmp_path, q, file, check, edit):
    move(rerun[q], file, edit, by=0.5)
    table = grade.report(grade.grade(grade.RESULTS, rerun), tmp_path / "report")
    assert table.passed.all() and set(table.question) == {"Q1", "Q2", "Q3", "Q4"}
    row = table[table.check == check].iloc[0]
    assert row.expected.split()[0] != row.rerun.split()[0]  # the moved value was read and compared, not the reference
    assert (tmp_path / "report" / "report.csv").exists() and (tmp_path / "report" / "report.json").exists()


@pytest.mark.parametrize("q,file,check,edit", MOVES, ids=[m[0] for m in MOVES])
def test_a_number_moved_beyond_its_tolerance_fails_exactly_that_check(rerun, tmp_path, q, file, check, edit, capsys):
    move(rerun[q], file, edit, by=10)  # ten floors' worth: beyond any tolerance the reference's spread gives
    table = grade.report(grade.grade(grade.RESULTS, rerun), tmp_path / "report")
    assert table.loc[~table.passed, "check"].tolist() == [check]
    row = table[~table.passed].iloc[0]
    assert row.expected != row.rerun and "FAIL" in capsys.readouterr().out


def test_a_missing_rerun_file_is_a_failed_check_not_a_crash(rerun, tmp_path):
    (rerun["q3"] / "headline.csv").unlink()
    table = grade.grade(grade.RESULTS, rerun)
    failed = [c for c in table if not c.passed]
    assert [(c.question, c.check) for c in failed] == [("Q3", "outputs readable")] and "headline.csv" in failed[0].rerun


def test_tolerance_is_three_sigma_of_a_difference_of_means():
    assert tolerance(0.1, 2, floor=0.0) == pytest.approx(3 * 0.1 * math.sqrt(2 / 2))
    assert tolerance(0.01, 5, floor=0.1) == 0.1  # never below the floor
    assert tolerance(float("nan"), 5, floor=0.2) == 0.2


# ---- grade --rerun DIR: the run folders the project writes, found by their manifests -------------------------

def grade_cli(capsys, *argv):
    """`python -m mnist_hw grade ARGV`: its exit status and what it printed."""
    from mnist_hw.__main__ import main

    try:
        status = main(["grade", *argv])
    except SystemExit as exit:
        status = exit.code
    out = capsys.readouterr()
    return status, out.out + out.err


@pytest.fixture
def run_folders(rerun, tmp_path):
    """The committed record as `run` leaves it: one run folder per question, named q1-<key> ..."""
    folders = tmp_path / "runs"
    folders.mkdir()
    for q, folder in rerun.items():
        folder.rename(folders / f"{q}-abc123")
    return folders


def test_grade_rerun_takes_a_folder_of_run_folders(run_folders, tmp_path, capsys):
    status, out = grade_cli(capsys, "--rerun", str(run_folders), "--scratch", str(tmp_path / "g"))
    assert status == 0 and "total: 31 / 31 points; 0 failed" in out, out
    assert "reference machine: cpu" in out and "rerun machine: cpu" in out


def test_grade_rerun_takes_the_newest_finished_run_of_each_question(run_folders, tmp_path, capsys):
    def copy(name, finished, edit):
        shutil.copytree(run_folders / "q4-abc123", run_folders / name)
        manifest = json.loads((run_folders / name / "manifest.json").read_text())
        (run_folders / name / "manifest.json").write_text(json.dumps(manifest | {"finished": finished}))
        move(run_folders / name, "results.csv", MOVES[3][3], by=10)
    copy("q4-older", "2000-01-01T00:00:00+00:00", True)  # a failing run, finished long before
    copy("q4-unfinished", None, True)  # a failing run, cut short: no run to grade
    status, out = grade_cli(capsys, "--rerun", str(run_folders), "--scratch", str(tmp_path / "g"))
    assert status == 0 and "total: 31 / 31" in out and "q4: " + str(run_folders / "q4-abc123") in out
    shutil.rmtree(run_folders / "q4-abc123")
    shutil.rmtree(run_folders / "q4-older")
    status, out = grade_cli(capsys, "--rerun", str(run_folders), "--scratch", str(tmp_path / "g"))
    assert status == 1 and "q4: no run found" in out  # an unfinished run is none


def test_grade_rerun_takes_a_results_style_folder(rerun, tmp_path, capsys):
    status, out = grade_cli(capsys, "--rerun", str(tmp_path / "rerun"), "--scratch", str(tmp_path / "g"))
    assert status == 0 and "total: 31 / 31" in out


@pytest.mark.parametrize("make", ["missing", "empty", "unrelated"])
def test_grade_rerun_refuses_a_folder_without_runs(tmp_path, capsys, make):
    folder = tmp_path / "nothing"
    if make != "missing":
        folder.mkdir()
    if make == "unrelated":
        (folder / "notes").mkdir()
    status, out = grade_cli(capsys, "--rerun", str(folder))
    assert status == 2 and out.startswith("usage: python -m mnist_hw grade") and f"--rerun {folder}: " in out


def test_a_question_without_a_run_fails_and_the_total_stays_full(run_folders, tmp_path, capsys):
    shutil.rmtree(run_folders / "q3-abc123")
    status, out = grade_cli(capsys, "--rerun", str(run_folders), "--scratch", str(tmp_path / "g"))
    table = pd.read_csv(tmp_path / "g" / "report.csv")
    assert status == 1 and table.points.sum() == 31 and table.earned.sum() == 31 - table[table.question == "Q3"].points.sum()
    assert table[~table.passed].check.tolist() == ["run folder found"] and "q3: no run found" in out


def test_grade_questions_picks_a_subset(run_folders, tmp_path, capsys):
    status, out = grade_cli(capsys, "--rerun", str(run_folders), "--questions", "q1", "q3_imbalance", "--scratch", str(tmp_path / "g"))
    table = pd.read_csv(tmp_path / "g" / "report.csv")
    assert status == 0 and set(table.question) == {"Q1", "Q3"}
    status, out = grade_cli(capsys, "--rerun", str(run_folders), "--questions", "q5")
    assert status == 2 and "--questions: unknown notebook 'q5'; choose from q1, q2, q3, q4" in out


def set_machine(folders, **machine):
    for manifest in folders.glob("*/manifest.json"):
        manifest.write_text(json.dumps(json.loads(manifest.read_text()) | machine))


XEON = {"cpu_model": "Intel(R) Xeon(R) Platinum 8480+", "cpu_capability": "AVX512", "blas": "mkl"}
EPYC = {"cpu_model": "AMD EPYC 7B13", "cpu_capability": "AVX2", "blas": "mkl"}


@pytest.mark.parametrize("reference,machine,verdict", [
    (EPYC, XEON, "the machines differ (cpu_capability, cpu_model): exact reproduction is not expected; the tolerances apply"),
    (EPYC, EPYC, "the same kind of machine as the reference: the same code may reproduce its numbers exactly"),
    ({}, XEON, "whether the machines differ cannot be told (blas, cpu_capability, cpu_model not recorded in every manifest)"),
])
def test_the_report_names_both_machines_and_says_when_they_differ(run_folders, tmp_path, capsys, reference, machine, verdict):
    shutil.copytree(grade.RESULTS, tmp_path / "reference")
    set_machine(tmp_path / "reference", **{k: reference.get(k) for k in EPYC})
    set_machine(run_folders, **machine)
    status, out = grade_cli(capsys, "--rerun", str(run_folders), "--reference", str(tmp_path / "reference"),
                            "--scratch", str(tmp_path / "g"))
    assert status == 0 and "total: 31 / 31" in out and verdict in out
    assert f"rerun machine: cpu (x86_64); CPU {machine['cpu_model']}, {machine['cpu_capability']}, BLAS mkl; Linux" in out
    assert ("reference machine: cpu (x86_64); " + (f"CPU {reference['cpu_model']}, {reference['cpu_capability']}, BLAS mkl"
            if reference else "CPU model not recorded, capability not recorded, BLAS library not recorded")) in out


def test_a_stopped_rerun_says_so_and_grades_nothing(tmp_path, capsys, monkeypatch):
    import signal

    from mnist_hw.publish import batch
    from mnist_hw.publish.live import Stopped

    def stopped(jobs, **kw):
        raise batch.Interrupted([], Stopped(signal.SIGTERM))
    monkeypatch.setattr(batch, "run_jobs", stopped)
    status, out = grade_cli(capsys, "--questions", "q4", "--scratch", str(tmp_path / "g"))
    assert status == 128 + signal.SIGTERM and "interrupted by SIGTERM: grading stopped; nothing graded" in out
    assert not (tmp_path / "g" / "report.csv").exists()
