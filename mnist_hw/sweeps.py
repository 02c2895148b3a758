"""Hyper-parameter sweeps: configurations trained alone or in lockstep, rows saved as they finish."""
from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence

import pandas as pd
import torch
from tqdm.auto import tqdm

from .data import Splits
from .results import RowStore, key_text
from .models import MLPStack, SimpleMLP, seeded
from .training import TrainConfig, evaluate, fit_config

KEY = [f.name for f in dataclasses.fields(TrainConfig)]


def train_group(configs: Sequence[TrainConfig], splits: Splits, out_features: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train configurations that share one minibatch stream (see _stream) in lockstep.

    Each model is initialised exactly as it would be alone (same seed), so the result equals separate runs;
    the time column is the group's wall time, shared by its models.
    """
    shared = {_stream(c) for c in configs}
    if len(shared) != 1:
        raise ValueError(f"a lockstep group must share seed, batch_size, optimizer, lr, schedule and epochs, got {sorted(shared)}")
    device = splits.train.x.device
    in_features = splits.train.x.shape[1]
    stack = MLPStack([seeded(c.seed, SimpleMLP, in_features, c.hidden, out_features, c.activation) for c in configs], device)
    history = fit_config(stack, splits.train, configs[0], val=splits.val)
    rows = pd.DataFrame([dataclasses.asdict(c) for c in configs])
    rows["models_in_step"] = len(configs)
    rows["time_s"] = history.seconds
    for name, split in (("train", splits.train), ("val", splits.val), ("test", splits.test)):
        rows[f"{name}_acc"] = evaluate(stack, split)["accuracy"].numpy() * 100
    curves = history.epochs.merge(rows[KEY].reset_index(names="model"), on="model").drop(columns="model")
    return rows, curves


def run_sweep(configs: Sequence[TrainConfig], load: Callable[[int], Splits], out_features: int, *,
              lockstep: bool = True, store: RowStore | None = None, curves_store: RowStore | None = None,
              progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train every configuration (data from load(seed)); with stores, save each finished group's rows at once
    and skip the configurations they already hold (resume).

    Returns the results table (one row per configuration, in the order of `configs`) and the per-epoch curves.
    """
    wanted = pd.DataFrame([dataclasses.asdict(c) for c in configs])
    todo_rows = store.missing(wanted) if store is not None else wanted
    todo = [configs[i] for i in todo_rows.index]
    todo.sort(key=_stream)
    group_of = _stream if lockstep else id
    groups = [list(g) for _, g in itertools.groupby(todo, key=group_of)]
    splits_cache: dict[int, Splits] = {}
    new_rows, new_curves = [], []
    with tqdm(total=len(todo), desc="configurations", disable=not progress) as bar:
        for group in groups:
            seed = group[0].seed
            splits = splits_cache.get(seed) or splits_cache.setdefault(seed, load(seed))
            rows, group_curves = train_group(group, splits, out_features)
            if store is not None:  # results first: a crash in between leaves curves missing, never doubled
                store.append(rows)
            if curves_store is not None:
                curves_store.append(group_curves)
            new_rows.append(rows)
            new_curves.append(group_curves)
            bar.update(len(group))
    results = pd.concat(([store.done()] if store is not None else []) + new_rows, ignore_index=True)
    curves = pd.concat(([curves_store.done()] if curves_store is not None else []) + new_curves, ignore_index=True)
    results = results.drop_duplicates(KEY, keep="last") if store is not None else results
    return _select(results, configs, sort=True), _select(curves, configs, sort=False)


def _select(table: pd.DataFrame, configs: Sequence[TrainConfig], sort: bool) -> pd.DataFrame:
    """Rows of `table` that belong to `configs` (a store may hold others), optionally in their order."""
    if table.empty:
        return table
    order = {_key(c): i for i, c in enumerate(configs)}
    rank = pd.Series([order.get(k, -1) for k in _keys(table)], index=table.index)
    table = table.loc[rank >= 0]
    return table.loc[rank[rank >= 0].sort_values(kind="stable").index].reset_index(drop=True) if sort else table.reset_index(drop=True)


def _stream(c: TrainConfig) -> tuple:
    """What configurations must share to train in lockstep."""
    return c.seed, c.batch_size, c.optimizer, c.lr, c.schedule, c.epochs


def _key(c: TrainConfig) -> tuple:
    return tuple(key_text(getattr(c, k)) for k in KEY)


def _keys(table: pd.DataFrame) -> list[tuple]:
    return [tuple(map(key_text, row)) for row in table[KEY].itertuples(index=False)]
