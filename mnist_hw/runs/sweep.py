"""The one sweep runner (Q1, Q2 and Q3): planned rows split into units of work, trained one after another or side by
side, each unit's rows committed the moment it finishes and skipped on a rerun (resume by row identity)."""
from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import itertools
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch

from ..engine.data import Splits
from ..engine.lockstep import lockstep_key, train_group
from ..engine.train import CONFIG_KEY, TrainConfig
from .progress import progress_bar
from .store import RowStore, commit, identities

Trained = tuple[pd.DataFrame, "pd.DataFrame | None"]  # a unit's result rows, and its learning curves (or None)


@dataclass
class Unit:
    """Work trained as one piece: `count` result rows (for the progress bar) from `train()`."""

    count: int
    train: Callable[[], Trained]


def sweep(planned: pd.DataFrame, key: Sequence[str], plan: Callable[[pd.DataFrame], Iterable[Unit]], *,
          store: RowStore | None = None, curves_store: RowStore | None = None, reuse: pd.DataFrame | None = None,
          workers: int = 1, progress: bool = True, desc: str = "configurations",
          ordered: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train every planned row (identified by `key`) that the store does not hold yet: `plan(todo)` splits the rows
    still to train into units. Rows of `reuse` (finished rows of another sweep) are stored instead of trained.
    `workers` > 1 trains that many units at once (see side_by_side). Returns the planned rows' results (in planned
    order, else as stored) and their curves."""
    reused = _select(reuse, planned, key, sort=False) if reuse is not None else planned.iloc[:0]
    if store is not None and len(reused) and len(fresh := store.missing(reused)):
        store.append(fresh)  # kept with the trained rows, so the stored table is whole on its own
    todo = store.missing(planned) if store is not None else planned
    skip = set(identities(reused, key))
    todo = todo.loc[pd.Series([k not in skip for k in identities(todo, key)], index=todo.index, dtype=bool)]
    new_rows, new_curves = [], []
    with progress_bar(len(todo), desc, enabled=progress, resumed=len(planned) - len(todo)) as bar:
        for rows, curves in side_by_side(list(plan(todo)), workers):
            commit((store, rows), (curves_store, curves))  # one transaction: both tables get the unit, or neither
            new_rows.append(rows)
            if curves is not None:
                new_curves.append(curves)
            bar.update(len(rows))
    results = store.done() if store is not None else _concat([reused, *new_rows], planned.columns)
    curves = curves_store.done() if curves_store is not None else _concat(new_curves, key)
    return _select(results, planned, key, sort=ordered), _select(curves, planned, key, sort=False)


def side_by_side(units: list[Unit], workers: int) -> Iterator[Trained]:
    """Each unit's results, yielded in the calling thread as soon as it finishes.

    With workers > 1, that many units train at once in threads (torch's kernels release the GIL), each on its
    share of the process's CPU threads: small stacks scale poorly over threads, and a slowed core then holds up one
    worker only (docs/benchmark.md). On an error or an interrupt no queued unit starts; the ones already running
    finish in the background, their rows unsaved.
    """
    if workers <= 1 or len(units) <= 1:
        yield from (u.train() for u in units)
        return
    workers = min(workers, len(units))
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, before // workers))
    pool = concurrent.futures.ThreadPoolExecutor(workers)
    try:
        for job in concurrent.futures.as_completed([pool.submit(u.train) for u in units]):
            yield job.result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        torch.set_num_threads(before)


def once(make: Callable[..., Any]) -> Callable[..., Any]:
    """make(key, *args), computed once per key (data per seed, a detector per seed) by whichever worker needs it
    first; the others wait for it."""
    cache: dict[Hashable, Any] = {}
    locks: dict[Hashable, threading.Lock] = {}
    guard = threading.Lock()

    def get(key: Hashable, *args: Any) -> Any:
        with guard:
            lock = locks.setdefault(key, threading.Lock())
        with lock:
            if key not in cache:
                cache[key] = make(key, *args)
            return cache[key]
    return get


def resolve_workers(workers: int, device: torch.device) -> int:
    """Units trained at once: `workers`, or with 0 one per CPU thread of this process on the CPU and 1 on a GPU."""
    return workers or (torch.get_num_threads() if device.type == "cpu" else 1)


def _concat(parts: list[pd.DataFrame], columns: Sequence[str]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(columns))


def _select(table: pd.DataFrame, planned: pd.DataFrame, key: Sequence[str], sort: bool) -> pd.DataFrame:
    """Rows of `table` that belong to the planned rows (a store may hold others), optionally in planned order."""
    if table.empty:
        return table.reset_index(drop=True)
    order = {k: i for i, k in enumerate(identities(planned, key))}
    rank = pd.Series([order.get(k, -1) for k in identities(table, key)], index=table.index)
    kept = rank[rank >= 0]
    return table.loc[kept.sort_values(kind="stable").index if sort else kept.index].reset_index(drop=True)


def sweep_configs(configs: Sequence[TrainConfig], load: Callable[[int], Splits], out_features: int, *,
                  lockstep: bool = True, val_curves: bool = True, **options) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Q1 and Q2: every configuration (data from load(seed)), those that share a minibatch stream key trained in
    lockstep (engine.lockstep.train_group), else one at a time; `options` as for sweep."""
    planned = pd.DataFrame([dataclasses.asdict(c) for c in configs], columns=CONFIG_KEY)
    data = once(load)

    def plan(todo: pd.DataFrame) -> list[Unit]:
        ordered = sorted((configs[i] for i in todo.index), key=lockstep_key)
        groups = [list(g) for _, g in itertools.groupby(ordered, key=lockstep_key if lockstep else id)]
        return [Unit(len(g), functools.partial(train_group, g, data, out_features, val_curves)) for g in groups]
    return sweep(planned, CONFIG_KEY, plan, **options)
