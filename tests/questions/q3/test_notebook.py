"""The Q3 notebook headless on real MNIST with tiny parameters."""
import pandas as pd
import papermill as pm
import pytest

from mnist_hw.questions.q3.sweep import ROW_KEY



def test_q3_smoke_run_writes_ranking_and_figure(run_notebook, tmp_path):
    methods = ["baseline", "weighted", "resampled", "augmented_gap", "centroid"]
    out = run_notebook("q3_imbalance.ipynb", N_list=[100, 2000], seeds=[0, 1], epochs=1, methods=methods)
    results = pd.read_csv(out / "results.csv", dtype={"weight": str})
    assert sorted(results.N.unique()) == [100, 2000] and sorted(results.seed.unique()) == [0, 1]
    assert set(results.method) == set(methods) and not results.duplicated(ROW_KEY).any()
    assert results.loc[results.N == 2000, "f1_test"].isna().all()  # no "1"s in the sparse test set: n/a, not 0
    assert (results.f1_prior_lo <= results.f1_prior).all() and (results.f1_prior <= results.f1_prior_hi).all()
    ranking = pd.read_csv(out / "ranking.csv")
    assert set(ranking.method) == set(methods) and ranking.validation_f1.is_monotonic_decreasing
    assert len(pd.read_csv(out / "seed_tables.csv")) > 0
    assert (out / "f1_vs_N.png").stat().st_size > 10_000


def test_q3_bad_method_fails_before_training(run_notebook, tmp_path):
    with pytest.raises(pm.PapermillExecutionError, match="methods"):
        run_notebook("q3_imbalance.ipynb", methods=["baseline", "smote"])
    assert not (tmp_path / "run" / "results.csv").exists()
