"""The one sweep runner: rows stored as each unit finishes, resumed, reused, trained side by side (threads restored,
the same rows), a failing or interrupted unit keeping the finished ones; several plans side by side."""
import threading

import pandas as pd
import pytest
import torch

from mnist_hw.engine.train import CONFIG_KEY, TrainConfig
from mnist_hw.runs import sweep
from mnist_hw.runs.store import RowStore
from mnist_hw.runs.sweep import plan_configs, run_plans, sweep_configs


def stores(folder):
    return RowStore(folder / "r.csv", CONFIG_KEY), RowStore(folder / "c.csv", [*CONFIG_KEY, "epoch"])


def test_sweep_writes_rows_as_they_finish_and_resumes(splits, tmp_path):
    configs = [TrainConfig(hidden=4, epochs=1, batch_size=b, seed=s) for s in (0, 1) for b in (8, 32)]
    calls = []
    load = lambda seed: calls.append(seed) or splits
    store, curves_store = stores(tmp_path)
    first, curves = sweep_configs(configs[:3], load, 3, store=store, curves_store=curves_store, progress=False)
    assert len(first) == 3 and len(store.done()) == 3 and len(curves) == 3
    results, curves = sweep_configs(configs, load, 3, store=store, curves_store=curves_store, progress=False)
    assert calls == [0, 1, 1]  # the rerun trained only the missing configuration
    assert list(results["batch_size"]) == [8, 32, 8, 32] and len(curves) == 4 and len(store.done()) == 4
    fresh, _ = sweep_configs(configs, load, 3, store=stores(tmp_path / "fresh")[0], progress=False)
    timing = ["time_s", "time_share_s", "models_in_step"]  # how the rows were grouped differs: the first run trained 3
    pd.testing.assert_frame_equal(fresh.drop(columns=timing), results.drop(columns=timing), check_dtype=False)


def test_sweep_one_model_at_a_time_times_each_model(splits):
    configs = [TrainConfig(hidden=h, epochs=1, batch_size=32, activation=a) for h in (4, 8) for a in ("relu", "sigmoid")]
    stacked, _ = sweep_configs(configs, lambda s: splits, 3, progress=False)
    alone, _ = sweep_configs(configs, lambda s: splits, 3, progress=False, lockstep=False)
    assert (stacked.models_in_step == 4).all() and stacked.time_s.nunique() == 1
    assert (alone.models_in_step == 1).all() and alone.time_s.nunique() == 4 and (alone.time_share_s == alone.time_s).all()


def test_sweep_reuses_rows_of_another_sweep_instead_of_training_them(splits, tmp_path):
    grid = [TrainConfig(hidden=h, epochs=1, batch_size=8, seed=0) for h in (4, 6)]
    study = [TrainConfig(hidden=4, epochs=1, batch_size=8, seed=s) for s in (0, 1, 2)]
    grid_rows, _ = sweep_configs(grid, lambda s: splits, 3, progress=False)
    for store in (None, stores(tmp_path)[0]):
        loaded = []
        rows, _ = sweep_configs(study, lambda s: loaded.append(s) or splits, 3, store=store, progress=False, reuse=grid_rows)
        assert sorted(loaded) == [1, 2] and list(rows.seed) == [0, 1, 2]  # seed 0 came from the grid, not retrained
        pd.testing.assert_frame_equal(rows.iloc[:1], grid_rows.iloc[:1], check_dtype=False)
    assert sorted(store.done().seed) == [0, 1, 2]  # the stored table holds the reused row too
    loaded = []
    sweep_configs(study, lambda s: loaded.append(s) or splits, 3, store=store, progress=False, reuse=grid_rows)
    assert loaded == []  # a rerun trains nothing and appends no row twice


def test_sweep_with_workers_trains_the_same_models_and_restores_threads(splits, tmp_path):
    configs = [TrainConfig(hidden=h, epochs=1, batch_size=b, seed=s) for s in (0, 1) for b in (8, 32) for h in (4, 6)]
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread for both runs, so the arithmetic is the same to the last bit
    try:
        alone, _ = sweep_configs(configs, lambda s: splits, 3, progress=False)
        store = stores(tmp_path)[0]
        together, _ = sweep_configs(configs, lambda s: splits, 3, progress=False, workers=2, store=store)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    timing = ["time_s", "time_share_s"]
    pd.testing.assert_frame_equal(together.drop(columns=timing), alone.drop(columns=timing))
    assert len(store.done()) == len(configs)  # every group's rows stored once, whichever finished first


def test_sweep_with_workers_reports_a_failing_group_and_keeps_the_others(splits, tmp_path, monkeypatch):
    configs = [TrainConfig(hidden=4, epochs=1, batch_size=b, seed=s) for s, b in ((0, 8), (1, 16))]  # two groups
    stored = threading.Event()

    def signalling_commit(*parts):  # a group's rows are stored when its commit returns
        real_commit(*parts)
        stored.set()

    def train_group(group, *args):
        if group[0].seed == 1:  # fails once the other group's rows are stored, so which finished first is fixed
            assert stored.wait(20)
            raise RuntimeError("disk gone")
        return real(group, *args)

    real, real_commit = sweep.train_group, sweep.commit
    monkeypatch.setattr(sweep, "train_group", train_group)
    monkeypatch.setattr(sweep, "commit", signalling_commit)
    store = RowStore(tmp_path / "r.csv", CONFIG_KEY)
    with pytest.raises(RuntimeError, match="disk gone"):
        sweep_configs(configs, lambda seed: splits, 3, store=store, progress=False, workers=2)
    assert list(store.done().seed) == [0]  # the finished group is kept; the failed one is not stored


def test_interrupted_sweep_keeps_finished_rows_and_resumes(splits, tmp_path):
    # different batch sizes: three stacks, trained one after another
    configs = [TrainConfig(hidden=4, epochs=1, batch_size=b, seed=s) for s, b in ((0, 8), (1, 16), (2, 32))]

    def interrupted(seed):
        if seed == 2:
            raise KeyboardInterrupt  # Ctrl-C while the third group loads
        return splits

    store, _ = stores(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        sweep_configs(configs, interrupted, 3, store=store, progress=False)
    assert sorted(store.done().seed) == [0, 1]
    loaded = []
    results, _ = sweep_configs(configs, lambda s: loaded.append(s) or splits, 3, store=store, progress=False)
    assert loaded == [2] and list(results.seed) == [0, 1, 2]


def test_plans_side_by_side_store_into_their_own_stores_the_rows_they_have_alone(splits, tmp_path):
    a = [TrainConfig(hidden=h, epochs=1, batch_size=8, seed=s) for s in (0, 1) for h in (4, 6)]
    b = [TrainConfig(hidden=12, epochs=1, batch_size=32, seed=0)]
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # alone on one thread, together on one thread each: the same arithmetic
    try:
        alone = [sweep_configs(c, lambda s: splits, 3, progress=False)[0] for c in (a, b)]
        torch.set_num_threads(2)
        stores_a, stores_b = stores(tmp_path / "a"), stores(tmp_path / "b")
        plans = [plan_configs(a, lambda s: splits, 3, store=stores_a[0], curves_store=stores_a[1]),
                 plan_configs(b, lambda s: splits, 3, store=stores_b[0], curves_store=stores_b[1])]
        together = [results for results, _ in run_plans(plans, workers=2, progress=False)]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    timing = ["time_s", "time_share_s"]
    for one, both, store in zip(alone, together, (stores_a[0], stores_b[0])):
        pd.testing.assert_frame_equal(both.drop(columns=timing), one.drop(columns=timing))
        assert len(store.done()) == len(one)  # each plan's rows in its own store, once
    assert plan_configs(a, lambda s: splits, 3, store=stores_a[0]).units == []  # a rerun: nothing left to train
