"""Q3's sweep: every N x seed x method trained and scored, through the one sweep runner (mnist_hw.runs.sweep): each
(N, seed)'s rows stored as soon as they are trained and resumed by row identity (ROW_KEY)."""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

import pandas as pd
import torch

from .data import Imbalanced, load_imbalanced
from .remedies import METHODS, STACKED, Scored, train_augmented, train_autoencoder, train_centroid, \
    train_resampled, train_stacked, weights_of
from .scores import score_rows
from ...runs.store import RowStore
from ...runs.sweep import Unit, once, sweep as run_sweep
from ...engine.train import TrainConfig

ROW_KEY = ["N", "seed", "method", "weight"]  # what identifies a Q3 result row


def run_methods(data: Imbalanced, cfg: TrainConfig, methods: Sequence[str], detector: Scored | None = None,
                aug_hidden: int = 16) -> pd.DataFrame:
    """Train every requested method on one N and seed; one row per model (the detector is trained elsewhere)."""
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose from {list(METHODS)}")
    if "autoencoder" in methods and detector is None:
        raise ValueError("method 'autoencoder' needs the detector trained on this seed's \"0\"s (train_autoencoder)")
    scored = []
    if set(methods) & set(STACKED):
        scored.append(train_stacked(data, cfg, methods))
    if "resampled" in methods:
        scored += train_resampled(data, cfg)
    if {"augmented", "augmented_gap"} & set(methods):
        scored.append(train_augmented(data, dataclasses.replace(cfg, hidden=aug_hidden),
                                      [m for m in methods if m in ("augmented", "augmented_gap")]))
    if "centroid" in methods:
        scored.append(train_centroid(data))
    if "autoencoder" in methods:
        scored.append(detector)
    counts = data.counts()['"1"s']
    rows = pd.concat([score_rows(s, data) for s in scored], ignore_index=True)
    return rows.assign(N=data.N, seed=cfg.seed, batch_size=cfg.batch_size, prior=data.prior,
                       train_ones=counts["train"], val_ones=counts["val"], test_ones=counts["test (sparse)"])


def planned(N_list: Sequence[int], seeds: Sequence[int], methods: Sequence[str]) -> pd.DataFrame:
    """The KEY of every row the sweep produces, in training order."""
    return pd.DataFrame([(N, seed, m, w) for N in N_list for seed in seeds for m in methods for w in weights_of(m)],
                        columns=ROW_KEY)


def sweep(N_list: Sequence[int], seeds: Sequence[int], methods: Sequence[str], cfg: TrainConfig, *,
          ae_hidden: int = 32, ae_quantile: float = 0.99, aug_hidden: int = 16, root: str | None = None,
          device: torch.device | str = "cpu", store: RowStore | None = None, progress: bool = True) -> pd.DataFrame:
    """Every N x seed x method, one row per model, through the one sweep runner: a unit is one (N, seed) with the
    methods whose rows the store does not hold yet (a missing method trains alone), its rows stored as it finishes.

    The autoencoder sees only "0"s, whose split does not depend on N, so it is trained once per seed and reused.
    """
    def detector(seed: int, data: Imbalanced) -> Scored:
        tr, va = data.splits.train, data.splits.val
        return train_autoencoder(tr.subset(tr.y == 0), va.subset(va.y == 0),
                                 dataclasses.replace(cfg, seed=seed, hidden=ae_hidden), ae_quantile)
    detectors = once(detector)

    def train(N: int, seed: int, run: list[str]) -> tuple[pd.DataFrame, None]:
        data = load_imbalanced(N, seed, root, device)
        found = detectors(seed, data) if "autoencoder" in run else None
        return run_methods(data, dataclasses.replace(cfg, seed=seed), run, found, aug_hidden), None

    def plan(todo: pd.DataFrame) -> list[Unit]:
        units = []
        for (N, seed), rows in todo.groupby(["N", "seed"], sort=False):
            run = [m for m in methods if m in set(rows.method)]
            units.append(Unit(len(rows), functools.partial(train, int(N), int(seed), run)))
        return units
    results, _ = run_sweep(planned(N_list, seeds, methods), ROW_KEY, plan, store=store, progress=progress,
                           desc="models", ordered=False)
    return results.astype({"weight": str})
