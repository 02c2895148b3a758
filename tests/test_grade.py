"""make grade's checks, in-process on the committed results: the true reference passes, an edited one fails
exactly the edited check, with both values shown."""
import math
import shutil

import pandas as pd
import pytest

from mnist_hw import grade

STEMS = [stem for stem, _ in grade.QUESTIONS.values()]


@pytest.fixture
def reference(tmp_path):
    if not all((grade.RESULTS / s / "manifest.json").exists() for s in STEMS):
        pytest.skip("results/ has no committed reference run (make run writes it)")
    copy = tmp_path / "reference"
    shutil.copytree(grade.RESULTS, copy)
    return copy


def reruns():
    return {q: grade.RESULTS / stem for q, (stem, _) in grade.QUESTIONS.items()}


def test_the_committed_results_pass_against_themselves(reference, tmp_path):
    table = grade.report(grade.grade(reference, reruns()), tmp_path / "report")
    assert table.passed.all() and set(table.question) == {"Q1", "Q2", "Q3", "Q4"}
    assert (tmp_path / "report" / "report.csv").exists() and (tmp_path / "report" / "report.json").exists()


@pytest.mark.parametrize("stem,file,edit,failing", [
    ("q4_autoencoder", "results.csv", lambda t: t.assign(autoencoder=t.autoencoder.where(t.split != "test", t.autoencoder * 1.5)),
     "test MSE"),
    ("q1_binary_batch_size", "results.csv", lambda t: t.assign(test_acc=t.test_acc.where(t.batch_size != 16, t.test_acc - 1)),
     "batch 16: mean test accuracy"),
])
def test_an_edited_reference_number_fails_exactly_that_check(reference, tmp_path, stem, file, edit, failing, capsys):
    path = reference / stem / file
    pd.read_csv(path).pipe(edit).to_csv(path, index=False)
    table = grade.report(grade.grade(reference, reruns()), tmp_path / "report")
    assert table.loc[~table.passed, "check"].tolist() == [failing]
    row = table[~table.passed].iloc[0]
    assert row.expected != row.rerun and "FAIL" in capsys.readouterr().out


def test_tolerance_is_three_sigma_of_a_difference_of_means():
    assert grade.tolerance(0.1, 2, floor=0.0) == pytest.approx(3 * 0.1 * math.sqrt(2 / 2))
    assert grade.tolerance(0.01, 5, floor=0.1) == 0.1  # never below the floor
    assert grade.tolerance(float("nan"), 5, floor=0.2) == 0.2
