"""Notebooks run headless through papermill on real MNIST with tiny parameters."""
from pathlib import Path

import pandas as pd
import papermill as pm
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def execute(name: str, tmp_path: Path, **parameters) -> Path:
    """Run notebooks/<name> with parameters, writing its figures and CSVs under tmp_path; return that folder."""
    out = tmp_path / "figures"
    tmp_path.mkdir(parents=True, exist_ok=True)
    pm.execute_notebook(NOTEBOOKS / name, tmp_path / name, parameters={"figures": str(out), **parameters},
                        cwd=str(NOTEBOOKS), kernel_name="python3", progress_bar=False)
    return out


def test_q1_smoke_run_writes_results(mnist_dir, tmp_path):
    out = execute("q1_binary_batch_size.ipynb", tmp_path, epochs=1, batch_sizes=[64, 512], seeds=[0, 1])
    results = pd.read_csv(out / "q1_results.csv")
    assert sorted(zip(results.seed, results.batch_size)) == [(0, 64), (0, 512), (1, 64), (1, 512)]
    assert (results.test_acc > 97).all() and (results.time_s > 0).all()
    assert (out / "q1_batch_size.png").stat().st_size > 10_000
    assert len(pd.read_csv(out / "q1_summary.csv")) == 2


def test_q1_rerun_gives_identical_results(mnist_dir, tmp_path):
    tables = []
    for run in ("a", "b"):
        out = execute("q1_binary_batch_size.ipynb", tmp_path / run, epochs=1, batch_sizes=[256], seeds=[3], resume=False)
        tables.append(pd.read_csv(out / "q1_results.csv").drop(columns="time_s"))
    pd.testing.assert_frame_equal(*tables)


@pytest.mark.parametrize("parameters,error", [
    ({"batch_size": [16]}, "unknown parameter 'batch_size'"),
    ({"batch_sizes": "16, 64"}, "parameter 'batch_sizes' must be list[int]"),
    ({"batch_sizes": [0]}, "batch_sizes must be positive"),
    ({"activation": "swish"}, "activation must be one of"),
    ({"device": "tpu"}, "device must be one of"),
])
def test_q1_bad_parameters_fail_before_training(mnist_dir, tmp_path, parameters, error):
    with pytest.raises(pm.PapermillExecutionError, match=error.replace("[", r"\[").replace("]", r"\]")):
        execute("q1_binary_batch_size.ipynb", tmp_path, **parameters)
    assert not (tmp_path / "figures" / "q1_results.csv").exists()


def test_q2_smoke_run_writes_the_grid(mnist_dir, tmp_path):
    out = execute("q2_ten_digits_grid.ipynb", tmp_path, epochs=1, hidden_sizes=[8, 32], batch_sizes=[1024],
                  extension_hidden=[64])
    grid = pd.read_csv(out / "q2_grid.csv")
    assert len(grid) == 2 * 2 * 2 and set(grid.hidden) == {8, 32} and (grid.models_in_step == 4).all()
    assert grid.test_acc.max() > 80 and len(pd.read_csv(out / "q2_wide.csv")) == 1
    for name in ("q2_accuracy_vs_hidden", "q2_time", "q2_learning_curves", "q2_wider_hidden"):
        assert (out / f"{name}.png").exists()


def test_q2_sequential_mode_times_each_configuration(mnist_dir, tmp_path):
    out = execute("q2_ten_digits_grid.ipynb", tmp_path, epochs=1, hidden_sizes=[8], batch_sizes=[1024],
                  extension_hidden=[], lockstep=False, optimizers=["adam"], lrs=[0.001])
    grid = pd.read_csv(out / "q2_grid.csv")
    assert len(grid) == 2 and (grid.models_in_step == 1).all() and grid.time_s.nunique() == 2


def test_q2_unpaired_optimizers_and_lrs_fail(mnist_dir, tmp_path):
    with pytest.raises(pm.PapermillExecutionError, match="pair up by position"):
        execute("q2_ten_digits_grid.ipynb", tmp_path, lrs=[0.001])
