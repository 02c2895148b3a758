"""The grader reads exactly what each check names: a rerun copied from the committed reference with one thing taken
away or made up (a seed or N missing, rows repeated, a value not finite or not a number, a column gone, the headline
read at another N, another question's manifest) fails that check, and says what is wrong, instead of passing."""
import json
import math

import numpy as np
import pandas as pd
import pytest

from mnist_hw.publish import grade

from .test_grade import rerun  # noqa: F401 (the fixture: a copy of results/ per question)


def csv(edit):
    """An edit of a run folder: read `file`, change the table, write it back."""
    def apply(folder, file):
        path = folder / file
        edit(pd.read_csv(path)).to_csv(path, index=False)
    return apply


def manifest(notebook):
    def apply(folder, file):
        data = json.loads((folder / file).read_text())
        (folder / file).write_text(json.dumps(data | {"notebook": notebook} if notebook else {"hello": 1}))
    return apply


def remove(folder, file):
    (folder / file).unlink()


# (question, file, edit, the check that must fail, what its rerun column must say)
TAMPERED = [
    ("q1", "results.csv", csv(lambda t: t[t.seed != 2]), "every batch size x seed trained", "missing (batch_size=2, seed=2)"),
    ("q1", "results.csv", csv(lambda t: pd.concat([t, t])), "every batch size x seed trained", "12 rows repeated"),
    ("q1", "results.csv", csv(lambda t: t.assign(time_s=np.inf)), "time and train/val/test accuracy reported",
     "time_s: 12 rows missing or not finite"),
    ("q1", "results.csv", csv(lambda t: t.assign(val_acc=t.val_acc.where(t.seed != 0))),
     "time and train/val/test accuracy reported", "val_acc: 4 rows missing or not finite"),
    ("q1", "results.csv", csv(lambda t: t[t.batch_size != 16]), "batch 16: mean test accuracy", "no batch 16 rows"),
    ("q1", "results.csv", csv(lambda t: t.drop(columns="seed")), "outputs readable", "results.csv has no column seed"),
    ("q1", "results.csv", csv(lambda t: t.assign(test_acc=t.test_acc.astype(object).where(t.seed != 0, "high"))),
     "outputs readable", "column test_acc holds 'high', not a number"),
    ("q2", "results.csv", csv(lambda t: t.iloc[1:]), "every grid configuration trained", "47 of 48 present; missing"),
    ("q2", "results.csv", csv(lambda t: pd.concat([t, t.iloc[:2]])), "every grid configuration trained", "2 rows repeated"),
    ("q2", "results.csv", csv(lambda t: t.assign(time_s=t.time_s.where(t.index != 3, -math.inf))),
     "training time and accuracies reported", "time_s: 1 rows missing or not finite"),
    ("q2", "results.csv", csv(lambda t: t.assign(val_acc=np.nan)), "best configuration: validation accuracy",
     "no validation accuracy in the rerun"),
    ("q3", "results.csv", csv(lambda t: t[t.N != 5000]), "every N x seed x method trained", "missing (N=5000"),
    ("q3", "results.csv", csv(lambda t: pd.concat([t, t.iloc[:5]])), "every N x seed x method trained", "5 rows repeated"),
    ("q3", "results.csv", csv(lambda t: t.assign(f1_prior=np.nan)), "F1 is NaN exactly where the split holds no '1'",
     "no: f1_prior"),
    ("q3", "headline.csv", csv(lambda t: t.assign(N=2000)), "headline: F1 at training prior at N=5000", "not at N=5000"),
    ("q3", "headline.csv", csv(lambda t: t.drop(columns="N")), "outputs readable", "headline.csv has no column N"),
    ("q4", "results.csv", csv(lambda t: pd.concat([t, t[t.split == "test"]])), "test MSE", "2 'test' rows, not one"),
    ("q4", "results.csv", csv(lambda t: t.assign(autoencoder=t.autoencoder.where(t.split != "val", np.inf))), "val MSE", "inf"),
    ("q4", "reconstructions.png", remove, "reconstruction figure written", "missing"),
    ("q4", "manifest.json", manifest("q2"), "run folder is this question's run", "a q2 run's"),
    ("q4", "manifest.json", manifest(None), "run folder is this question's run", "not a run's manifest"),
]


@pytest.mark.parametrize("q,file,edit,check,said", TAMPERED, ids=[f"{t[0]}-{t[3]}-{t[4]}" for t in TAMPERED])
def test_a_tampered_run_fails_the_check_that_reads_it(rerun, q, file, edit, check, said):  # noqa: F811
    edit(rerun[q], file)
    checks = grade.grade(grade.RESULTS, rerun)
    failed = {c.check: c for c in checks if not c.passed}
    assert check in failed and said in failed[check].rerun, (failed.keys(), failed.get(check))
    assert {c.question for c in failed.values()} == {q.upper()}  # the other questions still pass


def test_the_untampered_copy_passes_every_check(rerun):  # noqa: F811
    assert all(c.passed for c in grade.grade(grade.RESULTS, rerun))
