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


@dataclass
class Plan:
    """One sweep: its planned rows (identified by `key`), the units that train those its stores do not hold yet, and
    where their rows go."""

    planned: pd.DataFrame
    key: Sequence[str]
    units: list[Unit]
    store: RowStore | None = None
    curves_store: RowStore | None = None
    reused: pd.DataFrame | None = None
    ordered: bool = True  # results in planned order, else as stored

    @property
    def todo(self) -> int:
        return sum(u.count for u in self.units)


def plan_sweep(planned: pd.DataFrame, key: Sequence[str], plan: Callable[[pd.DataFrame], Iterable[Unit]], *,
               store: RowStore | None = None, curves_store: RowStore | None = None,
               reuse: pd.DataFrame | None = None, ordered: bool = True) -> Plan:
    """The rows still to train (those the store does not hold yet), split into units by `plan(todo)`. Rows of `reuse`
    (finished rows of another sweep) are stored at once instead of trained."""
    reused = _select(reuse, planned, key, sort=False) if reuse is not None else planned.iloc[:0]
    if store is not None and len(reused) and len(fresh := store.missing(reused)):
        store.append(fresh)  # kept with the trained rows, so the stored table is whole on its own
    todo = store.missing(planned) if store is not None else planned
    skip = set(identities(reused, key))
    todo = todo.loc[pd.Series([k not in skip for k in identities(todo, key)], index=todo.index, dtype=bool)]
    return Plan(planned, key, list(plan(todo)), store, curves_store, reused, ordered)


def run_plans(plans: Sequence[Plan], *, workers: int = 1, progress: bool = True,
              desc: str = "configurations") -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Train the units of every plan, `workers` at once (see side_by_side), each unit's rows committed to its plan's
    stores as it finishes. Returns each plan's results and curves."""
    units = [(i, u) for i, p in enumerate(plans) for u in p.units]
    new: list[tuple[list, list]] = [([], []) for _ in plans]
    done_before = sum(len(p.planned) for p in plans) - sum(p.todo for p in plans)
    with progress_bar(sum(p.todo for p in plans), desc, enabled=progress, resumed=done_before) as bar:
        for k, (rows, curves) in side_by_side([u for _, u in units], workers):
            plan = plans[units[k][0]]
            commit((plan.store, rows), (plan.curves_store, curves))  # one transaction: both tables, or neither
            new[units[k][0]][0].append(rows)
            if curves is not None:
                new[units[k][0]][1].append(curves)
            bar.update(len(rows))
    return [_results(p, rows, curves) for p, (rows, curves) in zip(plans, new)]


def sweep(planned: pd.DataFrame, key: Sequence[str], plan: Callable[[pd.DataFrame], Iterable[Unit]], *,
          store: RowStore | None = None, curves_store: RowStore | None = None, reuse: pd.DataFrame | None = None,
          workers: int = 1, progress: bool = True, desc: str = "configurations",
          ordered: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One sweep, planned (plan_sweep) and trained (run_plans): the planned rows' results and curves."""
    return run_plans([plan_sweep(planned, key, plan, store=store, curves_store=curves_store, reuse=reuse,
                                 ordered=ordered)], workers=workers, progress=progress, desc=desc)[0]


def _results(plan: Plan, new_rows: list[pd.DataFrame], new_curves: list[pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A plan's planned rows as its store now holds them (else as just trained), and their curves."""
    results = plan.store.done() if plan.store is not None else _concat([plan.reused, *new_rows], plan.planned.columns)
    curves = plan.curves_store.done() if plan.curves_store is not None else _concat(new_curves, plan.key)
    return (_select(results, plan.planned, plan.key, sort=plan.ordered),
            _select(curves, plan.planned, plan.key, sort=False))


def side_by_side(units: list[Unit], workers: int) -> Iterator[tuple[int, Trained]]:
    """(index, results) of each unit, yielded in the calling thread as soon as it finishes.

    With workers > 1, that many units train at once in threads (torch's kernels release the GIL), each on its
    share of the process's CPU threads: small stacks scale poorly over threads, and a slowed core then holds up one
    worker only (docs/benchmark.md). On an error or an interrupt no queued unit starts; the ones already running
    finish in the background, their rows unsaved.
    """
    if workers <= 1 or len(units) <= 1:
        yield from ((k, u.train()) for k, u in enumerate(units))
        return
    workers = min(workers, len(units))
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, before // workers))
    pool = concurrent.futures.ThreadPoolExecutor(workers)
    try:
        jobs = {pool.submit(u.train): k for k, u in enumerate(units)}
        for job in concurrent.futures.as_completed(jobs):
            yield jobs[job], job.result()
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


def plan_configs(configs: Sequence[TrainConfig], load: Callable[[int], Splits], out_features: int, *,
                 lockstep: bool = True, val_curves: bool = True, **stores) -> Plan:
    """Q1 and Q2: a plan for every configuration (data from load(seed)), those that share a minibatch stream key
    trained in lockstep (engine.lockstep.train_group), else one at a time; `stores` as for plan_sweep."""
    planned = pd.DataFrame([dataclasses.asdict(c) for c in configs], columns=CONFIG_KEY)
    data = once(load)

    def plan(todo: pd.DataFrame) -> list[Unit]:
        ordered = sorted((configs[i] for i in todo.index), key=lockstep_key)
        groups = [list(g) for _, g in itertools.groupby(ordered, key=lockstep_key if lockstep else id)]
        return [Unit(len(g), functools.partial(train_group, g, data, out_features, val_curves)) for g in groups]
    return plan_sweep(planned, CONFIG_KEY, plan, **stores)


def sweep_configs(configs: Sequence[TrainConfig], load: Callable[[int], Splits], out_features: int, *,
                  lockstep: bool = True, val_curves: bool = True, workers: int = 1, progress: bool = True,
                  **stores) -> tuple[pd.DataFrame, pd.DataFrame]:
    """plan_configs, trained: every configuration's row (in the order of `configs`) and learning curves."""
    plan = plan_configs(configs, load, out_features, lockstep=lockstep, val_curves=val_curves, **stores)
    return run_plans([plan], workers=workers, progress=progress)[0]
