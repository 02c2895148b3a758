"""benchmarks/q3_tuning.py: the tuning pool of dropped training "1"s, and a dry run on real MNIST."""
import importlib.util
from pathlib import Path

import pandas as pd
import pytest
import torch

from mnist_hw.engine.data import CLASS_COUNTS
from mnist_hw.questions.q3.data import build, dropped_ones, load_imbalanced
from mnist_hw.questions.q3.remedies import train_augmented
from mnist_hw.engine.train import TrainConfig

from tests.questions.q3.test_remedies import toy

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "q3_tuning.py"
COLUMNS = ["N", "seed", "aug_hidden", "share", "tail", "threshold", "recall", "fp_b", "zeros_b", "fpr_b", "b_margin",
           "prior", "f1_prior", "f1_prior_lo", "f1_prior_hi", "dropped_ones", "train_ones", "zeros_a", "train_time_s"]


def q3_tuning():
    spec = importlib.util.spec_from_file_location("q3_tuning", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tuning():
    return q3_tuning()


def test_gap_threshold_at_a_confidence_level_assumes_a_heavier_tail(tuning):
    g = torch.Generator().manual_seed(1)
    zeros, ones = torch.randn(2000, generator=g), 5 + torch.randn(500, generator=g)
    ts = [tuning.gap_threshold_at(zeros, ones, 1e-3, tail=25, level=level) for level in (0.0, 0.9, 0.99)]
    assert ts == sorted(ts) and ts[0] < ts[-1]  # a higher level never lowers the threshold


@pytest.mark.parametrize("p, dof, table", [(0.05, 20, 10.851), (0.05, 50, 34.764), (0.05, 100, 77.929),
                                           (0.01, 100, 70.065), (0.95, 100, 124.342), (0.05, 200, 168.279)])
def test_scale_bound_uses_tabulated_chi2_quantiles(tuning, p, dof, table):
    # the bound is 2k * mean / chi2_{1-level}(2k): with mean 1 and dof = 2k it is dof / the tabulated quantile
    assert tuning.scale_upper_bound(1.0, dof // 2, level=1 - p) == pytest.approx(dof / table, rel=1e-4)


def test_an_ensemble_scores_one_mean_margin_from_differently_initialised_models(tuning):
    d = build(toy(300, 300), toy(100, 100, seed=1), 10, seed=0)
    cfg = TrainConfig(hidden=4, epochs=2, batch_size=32, seed=0)
    one, three = (tuning.train_ensemble(d, cfg, share=0.1, size=k) for k in (1, 3))
    x = d.full_test.x
    assert one(x).shape == three(x).shape == (len(x), 1) and not torch.equal(three(x), one(x))
    # size 1 is the notebook's augmented model itself
    torch.testing.assert_close(one(x), train_augmented(d, cfg, ("augmented",)).score(x), rtol=0, atol=0)


def test_dropped_ones_are_the_training_ones_not_kept(mnist_dir):
    data, dropped = load_imbalanced(1000, 0, mnist_dir), dropped_ones(1000, 0, mnist_dir)
    kept = torch.cat([s.x[s.y == 1] for s in (data.splits.train, data.splits.val)])
    assert len(dropped) + len(kept) == CLASS_COUNTS["train"][1]
    assert not (dropped[:, None, :] == kept[None, :, :]).all(-1).any()  # no kept "1" is in the tuning pool


def test_dry_run_writes_one_row_per_setting(mnist_dir, tmp_path, capsys):
    rows = q3_tuning().main(["--dry-run", "--out", str(tmp_path), "--data-root", str(mnist_dir)])
    table = pd.read_csv(tmp_path / "q3_tuning.csv")
    assert list(table.columns) == COLUMNS and len(table) == len(rows) == 4
    assert set(zip(table.N, table.seed, table.aug_hidden)) == {(5000, 0, 4)}
    assert set(zip(table.share, table["tail"])) == {(0.1, 25), (0.1, 50), (0.5, 25), (0.5, 50)}
    assert (table.dropped_ones == CLASS_COUNTS["train"][1] - CLASS_COUNTS["train"][1] // 5000).all()
    assert (table.zeros_a + table.zeros_b == int(CLASS_COUNTS["train"][0] * 0.2)).all()
    assert table.recall.between(0, 1).all() and (table.fpr_b == table.fp_b / table.zeros_b).all()
    assert ((table.f1_prior_lo <= table.f1_prior) & (table.f1_prior <= table.f1_prior_hi)).all()
    assert "best by tuning F1" in capsys.readouterr().out


def test_bad_argument_fails_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="--share: 0.0 is not allowed"):
        q3_tuning().main(["--share", "0", "--out", str(tmp_path)])
    assert not list(tmp_path.iterdir())


def test_crossfit_dry_run_scores_every_training_zero_out_of_fold(mnist_dir, tmp_path, capsys):
    rows = q3_tuning().main(["--crossfit", "--dry-run", "--out", str(tmp_path), "--data-root", str(mnist_dir)])
    table = pd.read_csv(tmp_path / "q3_crossfit.csv")
    assert len(table) == len(rows) == 4 and set(zip(table["tail"], table.level)) == {(25, 0.0), (50, 0.0), (25, 0.9), (50, 0.9)}
    train_zeros = CLASS_COUNTS["train"][0] - int(CLASS_COUNTS["train"][0] * 0.2)
    assert (table.zeros == train_zeros).all() and (table.fpr == table.fp / table.zeros).all()
    assert table.recall.between(0, 1).all() and "best settings by cross-fitted" in capsys.readouterr().out
