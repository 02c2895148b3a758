"""The notebooks' written answers (mnist_hw.answers) on small hand-made result tables: each sentence follows them."""
import itertools

import numpy as np
import pandas as pd
import pytest

from mnist_hw.questions import q1
from mnist_hw.questions import q2
from mnist_hw.questions.q3 import answers as q3
from mnist_hw.questions import q4
from mnist_hw.questions.text import trend
from mnist_hw.questions.q3.scores import headline_table


def test_trend_words():
    assert trend(pd.Series([1, 2, 3])) == "rises at every step"
    assert trend(pd.Series([3, 1])) == "falls at every step"
    assert trend(pd.Series([1, 3, 2])) == "is not monotone" and trend(pd.Series([1.0])) == "has a single value"


@pytest.fixture
def q1_rows():
    rows = [dict(batch_size=b, seed=s, time_share_s=t, train_acc=99.9, val_acc=v + s / 100, test_acc=99.0 + s / 10)
            for (b, t, v) in [(2, 8.0, 99.5), (128, 0.5, 99.8)] for s in (0, 1)]
    return pd.DataFrame(rows)


def test_q1_findings_follow_the_table(q1_rows):
    text = q1.findings(q1_rows, epochs=5, train_size=1000, setting="adam at learning rate 0.001")
    assert "batch 2 is the slowest (8.00 s) and batch 128 the fastest (0.50 s), 16x apart for the same 5 epochs" in text
    assert "Batch 128 has the highest mean validation accuracy (99.81 %); its test accuracy is 99.05 %" in text
    assert "leads the next batch size by 0.30 points" in text and "larger than that noise" in text
    assert "2: 2500, 128: 40" in text  # optimizer steps: 5 epochs of ceil(1000 / b)
    assert q1.headline(q1_rows) == "test acc (mean over seeds) b2: 99.05%, b128: 99.05%; best by validation: batch 128"


def test_q1_when_every_model_diverged(q1_rows):
    assert "Every model diverged" in q1.findings(q1_rows.head(0), 5, 1000, "sgd at learning rate 1e+06")
    assert q1.headline(q1_rows.head(0)) == "every model diverged"


@pytest.fixture
def q2_grid():
    rows = []
    for b, o, h, a in itertools.product([64, 1024], ["adam", "sgd"], [4, 32], ["sigmoid", "relu"]):
        val = 90 + h / 8 + (a == "relu") - (b == 1024) + (o == "adam")
        rows.append(dict(batch_size=b, optimizer=o, lr=1e-3 if o == "adam" else 1e-2, hidden=h, activation=a,
                         train_acc=val + 1, val_acc=val, test_acc=val + 0.1, diverged=False))
    return pd.DataFrame(rows)


def test_q2_analysis_follows_the_grid(q2_grid):
    text = q2.analysis(q2_grid, q2_grid.head(0), None, epochs=10, train_size=48000, n_seeds=5)
    assert "**Best by validation accuracy:** adam lr 0.001, batch 64, 32 relu units: train 97.00, val 96.00, test 96.10 %" in text
    assert "Best for sgd: sgd lr 0.01, batch 64, 32 relu units" in text
    assert "ReLU has the higher validation accuracy in 8 of 8 paired settings (mean difference +1.00 points" in text
    assert "Mean validation accuracy 4: 91.00 %, 32: 94.50 % (rises at every step with width)" in text
    assert "64: 93.25 % (7500 steps), 1024: 92.25 % (470 steps) (falls at every step" in text
    assert "Seed study" not in text and "Wider layers" not in text
    assert q2.headline(q2_grid, 12.3).startswith("best by validation: adam lr 0.001, batch 64, 32 relu -> val 96.00%")


def test_q2_analysis_with_seed_study_and_wider_layers(q2_grid):
    best = q2_grid.sort_values("val_acc").tail(2)
    noise = pd.concat([best.assign(seed=s, val_acc=best.val_acc + s * 0.1) for s in range(3)], ignore_index=True)
    widths = pd.DataFrame(dict(hidden=[32, 256], val_acc=[96.0, 97.5], test_acc=[96.1, 97.7]))
    text = q2.analysis(q2_grid, noise, widths, 10, 48000, 3)
    assert "**Seed study** (3 seeds)" in text and "the best mean leads the next by 1.00 points, more than the largest std" in text
    assert "The best validation accuracy is at 256 units (97.50 %, test 97.70 %)" in text
    assert "nothing to analyse" in q2.analysis(q2_grid.head(0), noise, None, 10, 48000, 3)


@pytest.fixture
def q3_results():
    rows = []
    for N, seed in itertools.product([100, 1000], [0, 1]):
        for method, weight, f1 in [("baseline", "1", 0.5), ("weighted", "1", 0.6), ("weighted", "N/10", 0.8),
                                   ("resampled", "N/2", 0.7), ("augmented_gap", "1", 0.95)]:
            value = f1 - (N == 1000) * 0.1 + seed * 0.02
            rows.append(dict(N=N, seed=seed, method=method, weight=weight, f1_prior=value, f1_prior_lo=value - 0.2,
                             f1_prior_hi=min(1, value + 0.05), f1_full=value, f1_val=value, f1_test=np.nan if N == 1000 else value,
                             tpr_full=value, fpr_full=0.001, fp_full=1.0 if method == "baseline" else 0.0, prior=1 / N))
    return pd.DataFrame(rows)


def test_q3_weighted_answer_names_the_weighting_without_the_baseline(q3_results):
    """The weighting chosen on validation is named whether or not the baseline ran (an operator-precedence bug
    once dropped that sentence when it did not)."""
    without = q3.Study(q3_results[q3_results.method != "baseline"], test_zeros=980, test_ones=1135)
    text = q3.weighted_answer(without)
    assert "the weighting is **N/10**" in text and "0.810 at N = 100" in text and "Against the baseline" not in text
    with_base = q3.weighted_answer(q3.Study(q3_results, 980, 1135))
    assert "the weighting is **N/10**" in with_base and "Against the baseline (0.410 at N = 1000) the weighting helps" in with_base


def test_q3_answers_follow_the_results(q3_results):
    s = q3.Study(q3_results, test_zeros=980, test_ones=1135)
    base = q3.baseline_answer(s, pd.Series({100: 3, 1000: 0}))
    assert "0.510 ± 0.014 at N = 100 and 0.410 ± 0.014 at N = 1000" in base
    assert "no \"1\" from N = 1000 on" in base and "Its recall falls with N" in base
    assert "limited by missed \"1\"s (recall 0.410) and false alarms (1.0 of the 980 test \"0\"s" in base
    assert "the factor is **N/2**" in q3.resampled_answer(s, 1)
    table = q3.family_table(q3_results, "weighted")
    assert list(table.columns) == ["1", "N/10"] and list(table.index) == [100, 1000]


def test_q3_proposal_and_certification(q3_results):
    s = q3.Study(q3_results, test_zeros=980, test_ones=1135)
    priors = pd.Series({100: 1e-2, 1000: 1e-3})
    text = q3.proposal_answer(s, priors)
    assert "between 0.860 (N = 1000) and 0.960" in text and "missed at N = 1000" in text
    assert "cannot certify this" in text and "0 of the 980 test \"0\"s" in text
    best = q3.best_certifiable(s, priors)
    assert best[100] > best[1000] and best[1000] < 0.9  # a rarer positive needs more "0"s to certify
    table = headline_table(q3_results, pd.DataFrame([{"method": "weighted", "weight": "N/10"}]))
    assert q3.headline(table) == "augmented_gap: F1 at the training prior 0.860 ± 0.014 at N=1000 (95 % interval [0.66, 0.91])"


def test_q4_findings_follow_the_tables():
    mse = pd.DataFrame({"autoencoder": [0.005, 0.0051, 0.0052], "PCA-50": [0.011, 0.0112, 0.0115]},
                       index=["train", "val", "test"])
    curves = pd.DataFrame({"epoch": range(1, 7), "train_loss": np.linspace(0.02, 0.005, 6), "val_loss": [0.02, 0.01, 0.008, 0.0075, 0.0073, 0.0072]})
    per_digit = pd.DataFrame({"autoencoder": [0.003, 0.009], "PCA-50": [0.002, 0.02]})
    text = q4.findings(mse, curves, per_digit, 50, dead_units=3)
    assert "Autoencoder 0.00520, PCA-50 0.01150" in text and "45% of the best linear 50-d code's (better than PCA)" in text
    assert "fell 28.0% over the last 4 epochs (still improving" in text
    assert "Hardest to reconstruct: 1" in text and "beats PCA-50 on 1 of 2 digits" in text and "3 of 50 hidden ReLU" in text
    assert "One epoch only" in q4.findings(mse, curves.head(1), per_digit, 50)
    diverged = curves.assign(train_loss=[0.1, np.inf, np.nan, np.nan, np.nan, np.nan])
    assert "non-finite in epoch 2 (sgd, learning rate 1e+04)" in q4.diverged(diverged, mse, 50, "sgd, learning rate 1e+04")
