"""Q2 headless (papermill, tiny parameters): the grid, the seed study and the wider layers it writes."""
import pandas as pd
import pytest

from mnist_hw.registry import QUESTIONS


def test_q2_smoke_run_writes_grid_noise_and_wide(run_notebook):
    out = run_notebook("q2_ten_digits_grid.ipynb", **QUESTIONS["q2"].tiny)
    grid = pd.read_csv(out / "results.csv")
    assert len(grid) == 2 * 2 * 2 and set(grid.hidden) == {8, 32} and (grid.models_in_step == 4).all()
    # the shared stack time is apportioned by each model's hidden units and adds up to the stack's time
    for _, g in grid.groupby("optimizer"):
        assert g.time_share_s.sum() == pytest.approx(g.time_s.iloc[0]) and g.time_s.nunique() == 1
    noise = pd.read_csv(out / "noise.csv")
    assert len(noise) == 4 and set(noise.seed) == {0, 1} and len(pd.read_csv(out / "wide.csv")) == 1
    best = grid.loc[grid.val_acc.idxmax()]
    assert set(noise.hidden) <= set(grid.sort_values("val_acc").tail(2).hidden) and best.hidden in set(noise.hidden)
    for name in ("accuracy_vs_hidden", "time", "learning_curves", "wider_hidden"):
        assert (out / f"{name}.png").exists()


def test_q2_sequential_mode_times_each_configuration(run_notebook):
    out = run_notebook("q2_ten_digits_grid.ipynb", epochs=1, hidden_sizes=[8], batch_sizes=[1024], extension_hidden=[],
                       noise_seeds=[], lockstep=False, optimizers=["adam"], lrs=[0.001])
    grid = pd.read_csv(out / "results.csv")
    assert len(grid) == 2 and (grid.models_in_step == 1).all() and grid.time_s.nunique() == 2
