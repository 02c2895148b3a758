"""benchmarks/q3_tuning.py: the tuning pool of dropped training "1"s, and a dry run on real MNIST."""
import importlib.util
from pathlib import Path

import pandas as pd
import pytest
import torch

from mnist_hw.data import CLASS_COUNTS
from mnist_hw.imbalance import dropped_ones, load_imbalanced

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "q3_tuning.py"
COLUMNS = ["N", "seed", "aug_hidden", "share", "tail", "threshold", "recall", "fp_b", "zeros_b", "fpr_b", "b_margin",
           "prior", "f1_prior", "f1_prior_lo", "f1_prior_hi", "dropped_ones", "train_ones", "zeros_a", "train_time_s"]


def q3_tuning():
    spec = importlib.util.spec_from_file_location("q3_tuning", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
