"""Configurations trained in lockstep: those that share a minibatch stream key become the models (and their seeds
the streams) of one MLPStack; one row per configuration. It trains and writes nothing (runs.sweep stores rows)."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import pandas as pd

from .data import Splits
from .models import SimpleMLP, seeded
from .stack import MLPStack
from .train import CONFIG_KEY, TrainConfig, evaluate, fit


def train_group(configs: Sequence[TrainConfig], load: Callable[[int], Splits] | Splits,
                out_features: int, val_curves: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train configurations that share one minibatch stream key (see lockstep_key) in lockstep; data from load(seed).

    Configurations that differ only by seed train as the streams of one stack (each stream on its seed's
    data and shuffling) when every seed has the same (hidden, activation) list; other seeds get stacks of
    their own. Each model is initialised exactly as it would be alone (same seed), so the result equals
    separate runs. Returns one row per configuration, in order (time_s: its stack's wall time, shared by
    models_in_step models), and the per-epoch learning curves.
    """
    shared = {lockstep_key(c) for c in configs}
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


def _train_stack(per_seed: list[list[TrainConfig]], data: list[Splits], out_features: int,
                 val_curves: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One stack whose stream s trains configurations per_seed[s] (one seed) on data[s]."""
    configs = [c for seed_configs in per_seed for c in seed_configs]
    device, in_features = data[0].train.x.device, data[0].train.x.shape[1]
    models = [seeded(c.seed, SimpleMLP, in_features, c.hidden, out_features, c.activation) for c in configs]
    stack = MLPStack(models, device, streams=len(per_seed))
    history = fit(stack, [d.train for d in data], configs[0], seeds=[s[0].seed for s in per_seed],
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
    curves = history.curves.merge(rows[CONFIG_KEY].reset_index(names="model"), on="model").drop(columns="model")
    if "val_accuracy" in curves:  # in % like every accuracy in the tables
        curves = curves.rename(columns={"val_accuracy": "val_acc"}).assign(val_acc=lambda c: c.val_acc * 100)
    return rows, curves


def lockstep_key(c: TrainConfig) -> tuple:
    """What configurations must share to train in lockstep (seeds become streams of one stack)."""
    return c.batch_size, c.optimizer, c.lr, c.schedule, c.epochs
