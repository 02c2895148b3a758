"""Question 3: imbalance builder, binary metrics, the remedies on tiny synthetic data, and the notebook."""
import itertools
import math

import pandas as pd
import pytest
import torch

from mnist_hw.data import Split
from mnist_hw.imbalance import build, max_N, sparsify
from mnist_hw.metrics import Confusion, prior_f1, prior_precision, show
from mnist_hw.remedies import (METHODS, Mixed, factors, focal, run_methods, train_autoencoder, train_centroid)
from mnist_hw.losses import Autograd, CrossEntropy
from mnist_hw.training import TrainConfig

from test_notebooks import execute


# ---------- metrics ----------

def reference_f1(y: list[int], pred: list[int]) -> float:
    """F1 of the positive class written from the definitions, pair by pair (no library, no shortcut formula)."""
    pairs = list(zip(y, pred))
    tp = sum(1 for t, p in pairs if t == 1 and p == 1)
    predicted, actual = sum(p for _, p in pairs), sum(t for t, _ in pairs)
    if actual == 0:  # no positives: recall is 0/0, so F1 is undefined whatever was predicted
        return math.nan
    precision = tp / predicted if predicted else 0.0
    recall = tp / actual if actual else 0.0
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def test_confusion_counts_labels_then_predictions():
    c = Confusion.of(torch.tensor([1, 1, 1, 0, 0]), torch.tensor([1, 0, 0, 1, 0]))
    assert (c.tp, c.fp, c.fn, c.tn) == (1, 1, 2, 1)
    assert c.precision() == 0.5 and c.recall() == pytest.approx(1 / 3)
    assert c.f1() == pytest.approx(2 * 0.5 * (1 / 3) / (0.5 + 1 / 3)) == pytest.approx(0.4)
    # swapping labels and predictions (the seed's bug) swaps precision and recall
    swapped = Confusion.of(torch.tensor([1, 0, 0, 1, 0]), torch.tensor([1, 1, 1, 0, 0]))
    assert swapped.precision() == c.recall() and swapped.recall() == c.precision()


def test_f1_matches_reference_on_every_small_case():
    for n in range(1, 6):
        for y in itertools.product([0, 1], repeat=n):
            for pred in itertools.product([0, 1], repeat=n):
                got, want = Confusion.of(torch.tensor(y), torch.tensor(pred)).f1(), reference_f1(y, pred)
                assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want), (y, pred)


def test_undefined_metrics_are_nan_and_shown_as_na():
    nothing = Confusion.of(torch.zeros(5, dtype=torch.long), torch.zeros(5, dtype=torch.long))
    assert math.isnan(nothing.f1()) and math.isnan(nothing.precision()) and math.isnan(nothing.recall())
    assert show(nothing.f1()) == "n/a" and show(0.5) == "0.500"
    missed = Confusion.of(torch.tensor([1, 0]), torch.tensor([0, 0]))  # positives exist, none found: 0, not n/a
    assert missed.f1() == 0 and math.isnan(missed.precision()) and missed.recall() == 0
    false_alarm = Confusion.of(torch.tensor([0, 0]), torch.tensor([1, 0]))
    assert math.isnan(false_alarm.f1()) and math.isnan(false_alarm.recall()) and false_alarm.fpr() == 0.5


def test_prior_adjusted_precision_and_f1():
    assert prior_precision(0.9, 0.01, 0.5) == pytest.approx(0.5 * 0.9 / (0.5 * 0.9 + 0.5 * 0.01))
    # at a 1/1000 prior a 1 % false-positive rate swamps the positives
    p = prior_precision(1.0, 0.01, 0.001)
    assert p == pytest.approx(0.001 / (0.001 + 0.999 * 0.01))
    assert prior_f1(1.0, 0.01, 0.001) == pytest.approx(2 * p / (p + 1))
    # the F1 of a test set that has the prior's class balance equals the prior-adjusted F1 of its rates
    y = torch.tensor([1] * 10 + [0] * 90)
    pred = torch.tensor([1] * 8 + [0] * 2 + [1] * 9 + [0] * 81)
    c = Confusion.of(y, pred)
    assert prior_f1(c.recall(), c.fpr(), 0.1) == pytest.approx(c.f1())
    assert prior_f1(0.0, 0.0, 0.01) == 0 and prior_f1(1.0, 0.0, 0.01) == 1
    assert math.isnan(prior_f1(math.nan, 0.1, 0.01))


# ---------- imbalance builder ----------

def toy(n0: int, n1: int, seed: int = 0) -> Split:
    g = torch.Generator().manual_seed(seed)
    y = torch.cat([torch.zeros(n0, dtype=torch.long), torch.ones(n1, dtype=torch.long)])
    y = y[torch.randperm(len(y), generator=g)]
    x = torch.randn(len(y), 784, generator=g) + 2 * y[:, None].float() * torch.linspace(-1, 1, 784)
    return Split(x, y)


def test_builder_counts_and_zero_split_independent_of_N():
    train, test = toy(500, 1000), toy(100, 300, seed=1)
    by_N = {N: build(train, test, N, seed=3) for N in (1, 10, 100, 400)}
    for N, d in by_N.items():
        counts = d.counts()
        kept = 1000 // N
        assert counts.loc["train", '"1"s'] + counts.loc["val", '"1"s'] == kept
        assert counts.loc["val", '"1"s'] == int(kept * 0.2) and counts.loc["val", '"0"s'] == 100
        assert counts.loc["test (sparse)", '"1"s'] == 300 // N and counts.loc["test (full)", '"1"s'] == 300
        assert d.prior == pytest.approx(counts.loc["train", '"1"s'] / len(d.splits.train))
    zeros = [d.splits.train.x[d.splits.train.y == 0] for d in by_N.values()]
    assert all(torch.equal(zeros[0], z) for z in zeros)  # one detector on "0"s serves every N


def test_builder_is_deterministic_per_seed():
    train, test = toy(200, 400), toy(50, 60)
    a, b, c = build(train, test, 7, seed=0), build(train, test, 7, seed=0), build(train, test, 7, seed=1)
    assert torch.equal(a.splits.train.x, b.splits.train.x) and torch.equal(a.splits.test.x, b.splits.test.x)
    assert not torch.equal(a.splits.train.x, c.splits.train.x)


def test_builder_notes_and_N_limits():
    train, test = toy(100, 50), toy(20, 10)
    assert max_N(train.y) == 50
    d = build(train, test, 20, seed=0)  # 2 "1"s kept: int(2 * 0.2) = 0 go to validation
    assert any("validation split holds no" in n for n in d.notes())
    assert any("sparse test set holds no" in n for n in d.notes())
    assert build(train, test, 2, seed=0).notes() == []
    for bad in (0, -5, 51, 2.5):
        with pytest.raises(ValueError, match=rf"N must be an integer in 1\.\.50 .*N={bad}"):
            build(train, test, bad, seed=0)


def test_sparsify_keeps_all_zeros_first():
    y = torch.tensor([1, 0, 1, 1, 0, 1])
    idx = sparsify(y, 2, torch.Generator().manual_seed(0))
    assert idx[:2].tolist() == [1, 4] and len(idx) == 4 and (y[idx[2:]] == 1).all()


# ---------- remedies ----------

def test_factors_are_the_seeds():
    y = torch.tensor([0] * 90 + [1] * 10)
    assert factors(100, y) == {"1": 1.0, "N/10": 10.0, "N/2": 50.0, "n0/n1": 9.0}


def test_mixed_loss_splits_models():
    out, y = torch.randn(6, 3, 2), torch.tensor([0, 1, 0, 0, 1, 0])
    ce = CrossEntropy()
    losses, grad = Mixed([(ce, 2), (Autograd(focal), 1)])(out, y)
    ref_ce, ref_focal = ce(out[:, :2], y), Autograd(focal)(out[:, 2:], y)
    torch.testing.assert_close(losses, torch.cat([ref_ce[0], ref_focal[0]]))
    torch.testing.assert_close(grad, torch.cat([ref_ce[1], ref_focal[1]], 1))


def test_every_method_runs_and_learns_on_synthetic_data():
    d = build(toy(400, 400), toy(100, 100, seed=1), 10, seed=0)
    cfg = TrainConfig(hidden=4, epochs=3, batch_size=32, seed=0)
    tr, va = d.splits.train, d.splits.val
    detector = train_autoencoder(tr.subset(tr.y == 0), va.subset(va.y == 0), cfg, hidden=8)
    rows = run_methods(d, cfg, METHODS, detector)
    assert set(rows.method) == set(METHODS)
    assert len(rows) == len(METHODS) + 2 * 3  # weighted and resampled come with 4 factors each
    assert rows.f1_full.between(0, 1).all() and rows.f1_prior.between(0, 1).all()
    easy = rows.set_index(["method", "weight"]).loc[[("centroid", "1"), ("weighted", "n0/n1"), ("resampled", "n0/n1")]]
    assert (easy.f1_full > 0.8).all()
    with pytest.raises(ValueError, match="unknown methods"):
        run_methods(d, cfg, ["smote"])


def test_centroid_scores_the_nearer_mean():
    d = build(toy(100, 100), toy(20, 20), 5, seed=0)
    scored = train_centroid(d)
    c0, c1 = (d.splits.train.x[d.splits.train.y == c].mean(0) for c in (0, 1))
    assert scored.predict(torch.stack([c0, c1]))[:, 0].tolist() == [0, 1]


# ---------- notebook ----------

def test_q3_smoke_run_writes_results(mnist_dir, tmp_path):
    out = execute("q3_imbalance.ipynb", tmp_path, N_list=[100, 2000], seeds=[0, 1], epochs=1)
    results = pd.read_csv(out / "q3_results.csv")
    assert sorted(results.N.unique()) == [100, 2000] and sorted(results.seed.unique()) == [0, 1]
    assert set(results.method) == set(METHODS)
    assert results.loc[results.N == 2000, "f1_test"].isna().any()  # no "1"s in the sparse test set: n/a, not 0
    assert results.f1_full.notna().all() and (results.train_time_s >= 0).all()
    assert (out / "q3_f1_vs_N.png").stat().st_size > 10_000


def test_q3_bad_method_fails_before_training(mnist_dir, tmp_path):
    import papermill as pm
    with pytest.raises(pm.PapermillExecutionError, match="methods"):
        execute("q3_imbalance.ipynb", tmp_path, methods=["baseline", "smote"])
    assert not (tmp_path / "figures" / "q3_results.csv").exists()
