"""Hyper-parameter sweeps: configurations trained alone or in lockstep, rows saved as they finish."""
from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from .data import Splits
from .models import MLPStack, SimpleMLP, seeded
from .training import TrainConfig, evaluate, fit_config

KEY = [f.name for f in dataclasses.fields(TrainConfig)]


def train_group(configs: Sequence[TrainConfig], load: Callable[[int], Splits] | Splits,
                out_features: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train configurations that share one minibatch stream key (see _stream) in lockstep; data from load(seed).

    Configurations that differ only by seed train as the streams of one stack (each stream on its seed's
    data and shuffling) when every seed has the same (hidden, activation) list; other seeds get stacks of
    their own. Each model is initialised exactly as it would be alone (same seed), so the result equals
    separate runs. Returns one row per configuration, in order (time_s: its stack's wall time, shared by
    models_in_step models), and the per-epoch learning curves.
    """
    shared = {_stream(c) for c in configs}
    if len(shared) != 1:
        raise ValueError(f"a lockstep group must share batch_size, optimizer, lr, schedule and epochs, got {sorted(shared)}")
    load = load if callable(load) else (lambda seed, splits=load: splits)
    by_seed: dict[int, list[int]] = {}  # seed -> positions of its configurations
    for i, c in enumerate(configs):
        by_seed.setdefault(c.seed, []).append(i)
    stacks: dict[tuple, list[int]] = {}  # architecture list -> the seeds that share it
    for seed, positions in by_seed.items():
        stacks.setdefault(tuple((configs[i].hidden, configs[i].activation) for i in positions), []).append(seed)
    rows, curves, positions = [], [], []
    for seeds in stacks.values():
        r, c = _train_stack([[configs[i] for i in by_seed[s]] for s in seeds], [load(s) for s in seeds], out_features)
        rows.append(r), curves.append(c), positions.extend(i for s in seeds for i in by_seed[s])
    rows = pd.concat(rows, ignore_index=True)
    return rows.iloc[pd.Series(positions).argsort(kind="stable")].reset_index(drop=True), pd.concat(curves, ignore_index=True)


def _train_stack(streams: list[list[TrainConfig]], data: list[Splits], out_features: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One stack whose stream s trains configurations streams[s] (one seed) on data[s]."""
    configs = [c for stream in streams for c in stream]
    device, in_features = data[0].train.x.device, data[0].train.x.shape[1]
    models = [seeded(c.seed, SimpleMLP, in_features, c.hidden, out_features, c.activation) for c in configs]
    stack = MLPStack(models, device, streams=len(streams))
    history = fit_config(stack, [d.train for d in data], configs[0], seed=[s[0].seed for s in streams],
                         val=[d.val for d in data])
    rows = pd.DataFrame([dataclasses.asdict(c) for c in configs])
    rows["models_in_step"] = len(configs)
    rows["time_s"] = history.seconds
    for name in ("train", "val", "test"):
        rows[f"{name}_acc"] = evaluate(stack, [getattr(d, name) for d in data])["accuracy"].numpy() * 100
    curves = history.curves.merge(rows[KEY].reset_index(names="model"), on="model").drop(columns="model")
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
    cached = lambda seed: splits_cache.get(seed) or splits_cache.setdefault(seed, load(seed))
    with tqdm(total=len(todo), desc="configurations", disable=not progress) as bar:
        for group in groups:
            rows, group_curves = train_group(group, cached, out_features)
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
    """What configurations must share to train in lockstep (seeds become streams of one stack)."""
    return c.batch_size, c.optimizer, c.lr, c.schedule, c.epochs


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
