"""Q2 (mnist_hw.questions.q2): the written analysis on a small hand-made grid, and the notebook headless (papermill,
tiny parameters): the grid, the seed study and the wider layers it writes."""
import itertools

import pandas as pd
import pytest

from mnist_hw.questions import q2
from mnist_hw.registry import QUESTIONS
from mnist_hw.runs.folder import NOTEBOOKS


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


def test_q2_lockstep_parameter_reaches_every_sweep():
    """`lockstep` (False: one model at a time, timed each) is handed to each of the notebook's sweeps; what it does is
    tests/runs/test_sweep.py's."""
    source = (NOTEBOOKS / "q2_ten_digits_grid.py").read_text()
    assert source.count("sweep_configs(") == source.count("lockstep=lockstep") == 3


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
