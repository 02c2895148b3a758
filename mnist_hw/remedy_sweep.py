"""Q3's sweep: every N x seed x method trained and scored, each (N, seed)'s rows stored as soon as they are
trained and resumed by row identity (KEY), through results.RowStore as sweeps.run_sweep resumes its
configurations."""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pandas as pd
import torch

from .imbalance import Imbalanced, load_imbalanced
from .remedies import METHODS, STACKED, Scored, train_augmented, train_autoencoder, train_centroid, \
    train_resampled, train_stacked, weights_of
from .progress import progress_bar
from .remedy_scores import score_rows
from .results import RowStore, identities
from .training import TrainConfig

KEY = ["N", "seed", "method", "weight"]  # what identifies a result row


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
                        columns=KEY)


def sweep(N_list: Sequence[int], seeds: Sequence[int], methods: Sequence[str], cfg: TrainConfig, *,
          ae_hidden: int = 32, ae_quantile: float = 0.99, aug_hidden: int = 16, root: str | None = None,
          device: torch.device | str = "cpu", store: RowStore | None = None, progress: bool = True) -> pd.DataFrame:
    """Every N x seed x method, one row per model. With a store, each (N, seed)'s rows are appended as soon as they
    are trained, and a method whose rows are all there is not trained again: a missing method trains alone.

    The autoencoder sees only "0"s, whose split does not depend on N, so it is trained once per seed and reused.
    """
    wanted = planned(N_list, seeds, methods)
    todo = store.missing(wanted) if store is not None else wanted
    unfinished = set(zip(todo.N, todo.seed, todo.method))
    new, detectors = [], {}
    with progress_bar(len(N_list), "N", enabled=progress) as bar:
        for N in N_list:
            for seed in seeds:
                run = [m for m in methods if (N, seed, m) in unfinished]
                if not run:
                    continue
                data, run_cfg = load_imbalanced(N, seed, root, device), dataclasses.replace(cfg, seed=seed)
                if "autoencoder" in run and seed not in detectors:
                    tr, va = data.splits.train, data.splits.val
                    detectors[seed] = train_autoencoder(tr.subset(tr.y == 0), va.subset(va.y == 0),
                                                        dataclasses.replace(run_cfg, hidden=ae_hidden), ae_quantile)
                rows = run_methods(data, run_cfg, run, detectors.get(seed), aug_hidden)
                if store is not None:
                    store.append(rows)
                new.append(rows)
            bar.update()
    rows = store.done() if store is not None else pd.concat(new, ignore_index=True) if new else pd.DataFrame(columns=KEY)
    rows = rows.astype({"weight": str})
    wanted_ids = set(identities(wanted, KEY))
    return rows[[k in wanted_ids for k in identities(rows, KEY)]].reset_index(drop=True)
