"""Hyper-parameter sweeps: configurations trained alone or in lockstep, rows saved as they finish."""
from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import torch
from tqdm.auto import tqdm

from .data import Splits
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
              lockstep: bool = True, csv: str | Path | None = None, resume: bool = True,
              progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train every configuration (data from load(seed)); with csv, append each finished row and resume from them.

    Returns the results table (one row per configuration) and the per-epoch learning curves.
    """
    csv = Path(csv) if csv else None
    curves_csv = csv.with_name(csv.stem + "_curves.csv") if csv else None
    done, curves = _previous(csv, curves_csv, resume)
    finished = set(map(tuple, done[KEY].itertuples(index=False)))
    todo = [c for c in configs if _key(c) not in finished]
    todo.sort(key=_stream)
    group_of = _stream if lockstep else id
    groups = [list(g) for _, g in itertools.groupby(todo, key=group_of)]
    splits_cache: dict[int, Splits] = {}
    with tqdm(total=len(todo), desc="configurations", disable=not progress) as bar:
        for group in groups:
            seed = group[0].seed
            splits = splits_cache.get(seed) or splits_cache.setdefault(seed, load(seed))
            rows, group_curves = train_group(group, splits, out_features)
            done, curves = _concat(done, rows), _concat(curves, group_curves)
            if csv:
                _append(rows, csv)
                _append(group_curves, curves_csv)
            bar.update(len(group))
    return _select(done, configs, sort=True), _select(curves, configs, sort=False)


def _select(table: pd.DataFrame, configs: Sequence[TrainConfig], sort: bool) -> pd.DataFrame:
    """Rows of `table` that belong to `configs` (a resumed CSV may hold others), optionally in their order."""
    if table.empty:
        return table
    order = {_key(c): i for i, c in enumerate(configs)}
    rank = pd.Series([order.get(k, -1) for k in map(tuple, table[KEY].itertuples(index=False))], index=table.index)
    table = table.loc[rank >= 0]
    return table.loc[rank[rank >= 0].sort_values(kind="stable").index].reset_index(drop=True) if sort else table.reset_index(drop=True)


def _stream(c: TrainConfig) -> tuple:
    """What configurations must share to train in lockstep."""
    return c.seed, c.batch_size, c.optimizer, c.lr, c.schedule, c.epochs


def _key(c: TrainConfig) -> tuple:
    return tuple(getattr(c, k) for k in KEY)


def _previous(csv: Path | None, curves_csv: Path | None, resume: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    if csv is not None and not resume:
        csv.unlink(missing_ok=True)
        curves_csv.unlink(missing_ok=True)
    if csv is not None and csv.exists():
        return pd.read_csv(csv), pd.read_csv(curves_csv) if curves_csv.exists() else pd.DataFrame()
    return pd.DataFrame(columns=KEY), pd.DataFrame()


def _concat(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([old, new], ignore_index=True) if len(old) else new


def _append(rows: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows.to_csv(path, mode="a", header=not path.exists(), index=False)


def mean_std(results: pd.DataFrame, by: Sequence[str], columns: Sequence[str]) -> pd.DataFrame:
    """Mean ± std of `columns` over the rows of each `by` group (e.g. over seeds)."""
    stats = results.groupby(list(by))[list(columns)].agg(["mean", "std"])
    return pd.DataFrame({c: [f"{m:.2f} ± {s:.2f}" if pd.notna(s) else f"{m:.2f}"
                             for m, s in zip(stats[c]["mean"], stats[c]["std"])] for c in columns}, index=stats.index)


def highlight_best(table: pd.DataFrame, by: str, score: str) -> pd.DataFrame:
    """CSS for a Styler: best row per `by` group (yellow for the first group, orange after) and worst row (red)."""
    css = pd.DataFrame("", index=table.index, columns=table.columns)
    for i, (_, group) in enumerate(table.groupby(by, sort=False)):
        css.loc[group[score].idxmax(), :] = "background-color: " + ("#fff3a0" if i == 0 else "#ffd199")
    css.loc[table[score].idxmin(), :] = "background-color: #ffb3b3"
    return css


def time_groups(results: pd.DataFrame) -> pd.Series:
    """Training wall time per (batch size, optimizer, lr), whether its models trained in lockstep or one by one."""
    group = [f"batch {b}, {o} lr {lr:g}" for b, o, lr in zip(results.batch_size, results.optimizer, results.lr)]
    # a lockstep row carries its group's whole time, shared by models_in_step rows
    return (results.time_s / results.models_in_step).groupby(group, sort=False).sum()
