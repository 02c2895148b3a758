"""Hyper-parameter sweeps: configurations trained alone or in lockstep, rows saved as they finish."""
from __future__ import annotations

import concurrent.futures
import dataclasses
import itertools
import threading
from collections.abc import Callable, Iterator, Sequence

import pandas as pd
import torch

from .data import Splits
from .progress import progress_bar
from .results import RowStore, commit, identities
from .models import MLPStack, SimpleMLP, seeded
from .training import TrainConfig, evaluate, fit

KEY = [f.name for f in dataclasses.fields(TrainConfig)]


def train_group(configs: Sequence[TrainConfig], load: Callable[[int], Splits] | Splits,
                out_features: int, val_curves: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train configurations that share one minibatch stream key (see _lockstep_key) in lockstep; data from load(seed).

    Configurations that differ only by seed train as the streams of one stack (each stream on its seed's
    data and shuffling) when every seed has the same (hidden, activation) list; other seeds get stacks of
    their own. Each model is initialised exactly as it would be alone (same seed), so the result equals
    separate runs. Returns one row per configuration, in order (time_s: its stack's wall time, shared by
    models_in_step models), and the per-epoch learning curves.
    """
    shared = {_lockstep_key(c) for c in configs}
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
        r, c = _train_stack([[configs[i] for i in by_seed[s]] for s in seeds], [load(s) for s in seeds], out_features,
                            val_curves)
        rows.append(r), curves.append(c), positions.extend(i for s in seeds for i in by_seed[s])
    rows = pd.concat(rows, ignore_index=True)
    return rows.iloc[pd.Series(positions).argsort(kind="stable")].reset_index(drop=True), pd.concat(curves, ignore_index=True)


def _train_stack(streams: list[list[TrainConfig]], data: list[Splits], out_features: int,
                 val_curves: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One stack whose stream s trains configurations streams[s] (one seed) on data[s]."""
    configs = [c for stream in streams for c in stream]
    device, in_features = data[0].train.x.device, data[0].train.x.shape[1]
    models = [seeded(c.seed, SimpleMLP, in_features, c.hidden, out_features, c.activation) for c in configs]
    stack = MLPStack(models, device, streams=len(streams))
    options = dataclasses.replace(configs[0].options, seed=[s[0].seed for s in streams])
    history = fit(stack, [d.train for d in data], options,
                  val=[d.val for d in data] if val_curves else None)  # per-epoch validation: only for curves
    rows = pd.DataFrame([dataclasses.asdict(c) for c in configs])
    rows["models_in_step"] = len(configs)
    rows["time_s"] = history.seconds
    # the stack's time split by each model's share of its arithmetic, hidden units x (inputs + outputs)
    work = rows.hidden * (in_features + out_features)
    rows["time_share_s"] = history.seconds * work / work.sum()
    rows["diverged"] = history.diverged
    for name in ("train", "val", "test"):
        rows[f"{name}_acc"] = evaluate(stack, [getattr(d, name) for d in data])["accuracy"].numpy() * 100
    curves = history.curves.merge(rows[KEY].reset_index(names="model"), on="model").drop(columns="model")
    if "val_accuracy" in curves:  # in % like every accuracy in the tables
        curves = curves.rename(columns={"val_accuracy": "val_acc"}).assign(val_acc=lambda c: c.val_acc * 100)
    return rows, curves


def run_sweep(configs: Sequence[TrainConfig], load: Callable[[int], Splits], out_features: int, *,
              lockstep: bool = True, store: RowStore | None = None, curves_store: RowStore | None = None,
              val_curves: bool = True, progress: bool = True, reuse: pd.DataFrame | None = None,
              workers: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train every configuration (data from load(seed)); with stores, save each finished group's rows at once
    and skip the configurations they already hold (resume). Rows of `reuse` (finished rows of another sweep, e.g.
    the grid's runs at its own seed) are taken for the configurations they hold instead of training them again.
    `workers` > 1 trains that many groups at once, each on a share of the CPU threads (see _train_groups), so a
    row's time_s is then measured beside other groups.

    Returns the results table (one row per configuration, in the order of `configs`) and the per-epoch curves
    (training loss; validation loss and accuracy too with val_curves, which costs an evaluation per epoch) of the
    configurations trained here.
    """
    if not configs:
        return pd.DataFrame(columns=KEY), pd.DataFrame(columns=[*KEY, "epoch"])
    wanted = pd.DataFrame([dataclasses.asdict(c) for c in configs])
    reused = _select(reuse, configs, sort=False) if reuse is not None else pd.DataFrame(columns=KEY)
    if store is not None and len(reused) and len(fresh := store.missing(reused)):
        store.append(fresh)  # kept with the trained rows, so the stored table is whole on its own
    todo_rows = store.missing(wanted) if store is not None else wanted
    skip = set(identities(reused, KEY))
    todo_rows = todo_rows[[k not in skip for k in identities(todo_rows, KEY)]]
    todo = [configs[i] for i in todo_rows.index]
    todo.sort(key=_lockstep_key)
    group_of = _lockstep_key if lockstep else id
    groups = [list(g) for _, g in itertools.groupby(todo, key=group_of)]
    new_rows, new_curves = [], []
    with progress_bar(len(todo), "configurations", enabled=progress, resumed=len(configs) - len(todo)) as bar:
        for rows, group_curves in _train_groups(groups, _cache(load), out_features, val_curves, workers):
            commit((store, rows), (curves_store, group_curves))  # one transaction: both tables get the group, or neither
            new_rows.append(rows)
            new_curves.append(group_curves)
            bar.update(len(rows))
    # a store already holds the new rows (appended above) next to the resumed ones
    parts = [t for t in (reused, *new_rows) if len(t)]
    results = store.done() if store is not None else pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    curves = (curves_store.done() if curves_store is not None
              else pd.concat(new_curves, ignore_index=True) if new_curves else pd.DataFrame())
    return _select(results, configs, sort=True), _select(curves, configs, sort=False)


def _train_groups(groups: list[list[TrainConfig]], load: Callable[[int], Splits], out_features: int, val_curves: bool,
                  workers: int) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """train_group over the groups, yielding each group's rows in the main thread as soon as it finishes.

    With workers > 1, that many groups train at once in threads (torch's kernels release the GIL), each on its
    share of the process's CPU threads: small stacks scale poorly over threads, and a slowed core then holds up
    one worker only (README, *Stacks side by side*; `bench.py --workers`). On an error or an interrupt no queued
    group starts; the ones already running finish in the background, their rows unsaved.
    """
    if workers <= 1 or len(groups) <= 1:
        yield from (train_group(g, load, out_features, val_curves) for g in groups)
        return
    workers = min(workers, len(groups))
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, before // workers))
    pool = concurrent.futures.ThreadPoolExecutor(workers)
    try:
        jobs = [pool.submit(train_group, g, load, out_features, val_curves) for g in groups]
        for job in concurrent.futures.as_completed(jobs):
            yield job.result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # on an error or interrupt no queued group starts
        torch.set_num_threads(before)


def _cache(load: Callable[[int], Splits]) -> Callable[[int], Splits]:
    """load(seed), called once per seed when first needed (by whichever worker needs it first)."""
    cache, lock = {}, threading.Lock()

    def cached(seed: int) -> Splits:
        with lock:
            if seed not in cache:
                cache[seed] = load(seed)
            return cache[seed]
    return cached


def resolve_workers(workers: int, device: torch.device) -> int:
    """Groups trained at once: `workers`, or with 0 one per CPU thread of this process on the CPU and 1 on a GPU."""
    return workers or (torch.get_num_threads() if device.type == "cpu" else 1)


def _select(table: pd.DataFrame, configs: Sequence[TrainConfig], sort: bool) -> pd.DataFrame:
    """Rows of `table` that belong to `configs` (a store may hold others), optionally in their order."""
    if table.empty:
        return table
    order = {k: i for i, k in enumerate(identities(pd.DataFrame([dataclasses.asdict(c) for c in configs]), KEY))}
    rank = pd.Series([order.get(k, -1) for k in identities(table, KEY)], index=table.index)
    table = table.loc[rank >= 0]
    return table.loc[rank[rank >= 0].sort_values(kind="stable").index].reset_index(drop=True) if sort else table.reset_index(drop=True)


def _lockstep_key(c: TrainConfig) -> tuple:
    """What configurations must share to train in lockstep (seeds become streams of one stack)."""
    return c.batch_size, c.optimizer, c.lr, c.schedule, c.epochs
