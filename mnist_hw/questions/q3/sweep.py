"""Q3's sweep: every N x seed x method trained and scored, through the one sweep runner (mnist_hw.runs.sweep): each
N's rows (all its seeds) stored as soon as they are trained and resumed by row identity (ROW_KEY)."""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

import pandas as pd
import torch

from .data import Imbalanced, load_imbalanced
from .remedies import METHODS, STACKED, Scored, train_augmented_seeds, train_autoencoders, train_centroid, \
    train_resampled_seeds, train_stacked_seeds, weights_of
from .scores import score_rows
from ...runs.store import RowStore
from ...runs.sweep import Unit, once, sweep as run_sweep
from ...engine.train import TrainConfig

ROW_KEY = ["N", "seed", "method", "weight"]  # what identifies a Q3 result row


def run_methods(data: Imbalanced, cfg: TrainConfig, methods: Sequence[str], detector: Scored | None = None,
                aug_hidden: int = 16) -> pd.DataFrame:
    """Train every requested method on one N and seed (cfg.seed); one row per model (the detector is trained
    elsewhere)."""
    return run_methods_seeds([data], cfg, [cfg.seed], methods, None if detector is None else [detector], aug_hidden)


def run_methods_seeds(data: Sequence[Imbalanced], cfg: TrainConfig, seeds: Sequence[int], methods: Sequence[str],
                      detectors: Sequence[Scored] | None = None, aug_hidden: int = 16) -> pd.DataFrame:
    """Train every requested method on one N for every seed (data[i] for seeds[i]), each method's models of all the
    seeds as the streams of one stack; one row per model (the detectors, one per seed, are trained elsewhere)."""
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose from {list(METHODS)}")
    if "autoencoder" in methods and detectors is None:
        raise ValueError("method 'autoencoder' needs the detector trained on this seed's \"0\"s (train_autoencoder)")
    scored: list[list[Scored]] = [[] for _ in seeds]  # per seed
    if set(methods) & set(STACKED):
        for mine, s in zip(scored, train_stacked_seeds(data, cfg, seeds, methods)):
            mine.append(s)
    if "resampled" in methods:
        for mine, s in zip(scored, train_resampled_seeds(data, cfg, seeds)):
            mine += s
    if {"augmented", "augmented_gap"} & set(methods):
        for mine, s in zip(scored, train_augmented_seeds(data, dataclasses.replace(cfg, hidden=aug_hidden), seeds,
                                                         [m for m in methods if m in ("augmented", "augmented_gap")])):
            mine.append(s)
    for mine, d, k in zip(scored, data, range(len(seeds))):
        if "centroid" in methods:
            mine.append(train_centroid(d))
        if "autoencoder" in methods:
            mine.append(detectors[k])
    return pd.concat([_seed_rows(mine, d, cfg, seed) for mine, d, seed in zip(scored, data, seeds)], ignore_index=True)


def _seed_rows(scored: list[Scored], data: Imbalanced, cfg: TrainConfig, seed: int) -> pd.DataFrame:
    """One seed's rows: every model scored, with the N, seed and counts of its data."""
    counts = data.counts()['"1"s']
    rows = pd.concat([score_rows(s, data) for s in scored], ignore_index=True)
    return rows.assign(N=data.N, seed=seed, batch_size=cfg.batch_size, prior=data.prior,
                       train_ones=counts["train"], val_ones=counts["val"], test_ones=counts["test (sparse)"])


def planned(N_list: Sequence[int], seeds: Sequence[int], methods: Sequence[str]) -> pd.DataFrame:
    """The KEY of every row the sweep produces, in training order."""
    return pd.DataFrame([(N, seed, m, w) for N in N_list for seed in seeds for m in methods for w in weights_of(m)],
                        columns=ROW_KEY)


def sweep(N_list: Sequence[int], seeds: Sequence[int], methods: Sequence[str], cfg: TrainConfig, *,
          ae_hidden: int = 32, ae_quantile: float = 0.99, aug_hidden: int = 16, root: str | None = None,
          device: torch.device | str = "cpu", store: RowStore | None = None, progress: bool = True,
          workers: int = 1) -> pd.DataFrame:
    """Every N x seed x method, one row per model, through the one sweep runner: a unit is one N with its seeds
    (as the minibatch streams of each method's stack) and the methods whose rows the store does not hold yet (a
    missing method trains alone), its rows stored as it finishes; `workers` units train at once (side_by_side).

    The autoencoder sees only "0"s, whose split does not depend on N, so it is trained once per set of seeds (one
    stack, a stream per seed) and reused.
    """
    def detectors(seeds: tuple[int, ...], data: Sequence[Imbalanced]) -> list[Scored]:
        tr, va = [d.splits.train for d in data], [d.splits.val for d in data]
        return train_autoencoders([t.subset(t.y == 0) for t in tr], [v.subset(v.y == 0) for v in va],
                                  dataclasses.replace(cfg, hidden=ae_hidden), seeds, ae_quantile)
    detectors = once(detectors)

    def train(N: int, seeds: tuple[int, ...], run: list[str]) -> tuple[pd.DataFrame, None]:
        data = [load_imbalanced(N, seed, root, device) for seed in seeds]
        found = detectors(seeds, data) if "autoencoder" in run else None
        return run_methods_seeds(data, cfg, seeds, run, found, aug_hidden), None

    def plan(todo: pd.DataFrame) -> list[Unit]:
        units = []
        for N, rows in todo.groupby("N", sort=False):
            by_run: dict[tuple[str, ...], list[int]] = {}  # the methods a seed still needs -> those seeds
            for seed, mine in rows.groupby("seed", sort=False):
                by_run.setdefault(tuple(m for m in methods if m in set(mine.method)), []).append(int(seed))
            units += [Unit(int(rows.seed.isin(s).sum()), functools.partial(train, int(N), tuple(s), list(run)))
                      for run, s in by_run.items()]
        return units
    results, _ = run_sweep(planned(N_list, seeds, methods), ROW_KEY, plan, store=store, progress=progress,
                           desc="models", ordered=False, workers=workers)
    return results.astype({"weight": str})
