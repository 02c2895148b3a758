"""make grade's checks, in-process on the committed results: a rerun built from the reference with one number moved
inside its tolerance passes, moved outside it fails exactly that check, with both values shown."""
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
