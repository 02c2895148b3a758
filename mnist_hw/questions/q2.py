"""Q2, ten digits over a grid: the notebook's parameter rules, its written analysis of the grid, the seed study and
the wider layers, and its grader."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from ..engine import classic
from ..engine.activations import ACTIVATION
from ..engine.data import Split
from ..engine.models import SimpleMLP, seeded
from ..engine.stack import MLPStack
from ..engine.train import TrainConfig, evaluate, fit
from ..engine.optim import OPTIMIZER, SCHEDULE
from ..engine.rules import HIDDEN, LR, POSITIVE, SEED, Each, Flag, Int, Rules
from ..runs.guard import RUN, device_present
from ..runs.sweep import resolve_workers  # noqa: F401  (the notebook's: groups of models trained at once)
from .grading import Check, coverage, finite, holds, near, read, tolerance
from .tables import HEADERS, best_by_validation, highlight_best, readable
from .text import bullets, listing, show_code, steps_per_training, trend

CONFIG = ["batch_size", "optimizer", "lr", "hidden", "activation"]


def _paired(params: Mapping[str, Any]) -> None:
    optimizers, lrs = params["optimizers"], params["lrs"]
    if len(optimizers) != len(lrs):
        raise ValueError(f"lrs: {lrs!r} is not allowed; optimizers and lrs pair up by position, so lrs must hold "
                         f"one learning rate per optimizer ({len(optimizers)}: {optimizers})")


def rules() -> Rules:
    """Q2's parameter table: one rule per parameter of the notebook, then the cross-checks."""
    return Rules({"batch_sizes": Each(POSITIVE), "optimizers": Each(OPTIMIZER), "lrs": Each(LR, repeats=True),
                  "hidden_sizes": Each(HIDDEN), "activations": Each(ACTIVATION), "epochs": POSITIVE,
                  "schedule": SCHEDULE, "seed": SEED, "extension_hidden": Each(HIDDEN, empty=True),
                  "noise_top": Int(0), "noise_seeds": Each(SEED, empty=True),
                  "lockstep": Flag(), "workers": Int(0), **RUN}, [_paired, device_present])


def loop_code():
    """The training loop and the evaluation the assignment asks for, as they run (mnist_hw.engine.classic)."""
    return show_code(classic.train, classic.evaluate)


def engine_check(train: Split, val: Split, config: TrainConfig, images: int = 4096, tolerance: float = 1e-4) -> str:
    """Train a sigmoid and a ReLU model for one epoch on the first `images` training images with the loop above and
    with the engine that trains the grid (same initial weights, same minibatches); compare their weights (largest
    difference relative to the tensor's scale) and their evaluation on `val`. Raises if they disagree."""
    check, activations = train.subset(slice(0, images)), ("sigmoid", "relu")
    models = lambda: [seeded(config.seed, SimpleMLP, 784, config.hidden, 10, a).to(train.x.device) for a in activations]
    alone, stack = models(), MLPStack(models(), train.x.device)
    for model in alone:
        classic.train(model, check, epochs=1, batch_size=config.batch_size, optimizer=config.optimizer, lr=config.lr,
                      schedule=config.schedule, seed=config.seed)
    fit(stack, check, TrainConfig(**{**config.__dict__, "epochs": 1}))
    errors = {f"{a} {name}": classic.relative_error(p_engine, p_loop)
              for a, engine, loop in zip(activations, stack.to_models(), alone)
              for (name, p_engine), p_loop in zip(engine.named_parameters(), loop.parameters())}
    loop_acc = [classic.evaluate(model, val)["accuracy"] for model in alone]
    engine_acc = (100 * evaluate(stack, val)["accuracy"]).tolist()
    worst, gap = max(errors.values()), max(abs(a - b) for a, b in zip(loop_acc, engine_acc))
    lines = [f"relative weight difference, {k:<18} {v:.1e}" for k, v in errors.items()]
    lines += [f"validation accuracy, {a:<8} loop {x:.2f} %, engine {y:.2f} %"
              for a, x, y in zip(activations, loop_acc, engine_acc)]
    assert worst < tolerance, f"the engine disagrees with the loop: weights differ by {worst:.1e}"
    assert gap < 0.1, f"the engine's evaluation disagrees with the loop's: {gap:.2f} points"
    steps = -(-len(check) // config.batch_size)
    return "\n".join([*lines, f"largest weight difference {worst:.1e} < {tolerance:.0e} after {steps} steps: the engine "
                       "trains and evaluates the same models as the loop"])


def device_times(configs: list[TrainConfig], best: pd.Series, seed: int, root: str, device: torch.device) -> pd.DataFrame:
    """Seconds for one epoch of the best configuration's group (same batch size and optimizer) on the CPU and on
    `device`."""
    from ..engine.data import load_splits
    from ..engine.lockstep import train_group

    group = [TrainConfig(**{**c.__dict__, "epochs": 1}) for c in configs
             if (c.batch_size, c.optimizer) == (best.batch_size, best.optimizer)]
    rows = {d: train_group(group, load_splits(range(10), seed=seed, root=root or None, device=d), 10)[0].time_s[0]
            for d in ("cpu", device.type)}
    return pd.Series(rows, name=f"seconds for one epoch of {len(group)} models, batch {best.batch_size}").to_frame()


def grid_table(grid: pd.DataFrame):
    """The grid for print, one row per configuration: the best by validation accuracy per optimizer highlighted
    (yellow for the first optimizer, orange after), the worst in red."""
    keys, columns = ["batch_size", "optimizer", "lr", "hidden", "activation"], ["time_share_s", "train_acc", "val_acc", "test_acc", "diverged"]
    css = highlight_best(grid, by="optimizer", score="val_acc")
    table = readable(grid, columns, keys)
    shown = css[[c for c in columns if HEADERS.get(c, c) in table.columns]].to_numpy()
    return table.style.set_uuid("grid").apply(lambda _: shown, axis=None).format(precision=2)


SIMARD_800 = 98.4  # test accuracy (%) of a 784-800-10 MLP reported by Simard et al. (2003)


def describe(r: pd.Series) -> str:
    """One configuration and its accuracies."""
    return (f"{r.optimizer} lr {r.lr:g}, batch {r.batch_size}, {r.hidden} {r.activation} units: "
            f"train {r.train_acc:.2f}, val {r.val_acc:.2f}, test {r.test_acc:.2f} %")


def relu_vs_sigmoid(ok: pd.DataFrame) -> str:
    """How often ReLU beats sigmoid on validation accuracy in otherwise equal settings ('' if not both ran)."""
    pivot = ok.pivot_table(index=["batch_size", "optimizer", "hidden"], columns="activation", values="val_acc")
    if not {"relu", "sigmoid"} <= set(pivot.columns):
        return ""
    d = (pivot["relu"] - pivot["sigmoid"]).dropna()
    return (f"**ReLU vs sigmoid.** ReLU has the higher validation accuracy in {(d > 0).sum()} of {len(d)} paired "
            f"settings (mean difference {d.mean():+.2f} points, from {d.min():+.2f} to {d.max():+.2f}).")


def seed_noise(noise: pd.DataFrame, n_seeds: int) -> str:
    """What the seed study says about ranking the best configurations ('' without one)."""
    if noise.empty or noise.diverged.all():
        return ""
    stats = noise[~noise.diverged].groupby(CONFIG).val_acc.agg(["mean", "std"])
    if len(stats) < 2:
        return (f"**Seed study** ({n_seeds} seeds): validation accuracy {stats['mean'].iloc[0]:.2f} ± "
                f"{stats['std'].iloc[0]:.2f} %.")
    lead = stats["mean"].max() - stats["mean"].nlargest(2).iloc[-1]
    return (f"**Seed study** ({n_seeds} seeds): validation accuracy std per configuration {stats['std'].min():.2f}-"
            f"{stats['std'].max():.2f} points; the best mean leads the next by {lead:.2f} points, "
            + ("less than one std: these configurations cannot be ranked apart." if lead < stats["std"].max()
               else "more than the largest std."))


def analysis(ok: pd.DataFrame, noise: pd.DataFrame, widths: pd.DataFrame | None, epochs: int, train_size: int,
             n_seeds: int) -> str:
    """The analysis as Markdown bullets. ok: grid rows that did not diverge; noise: the seed study's rows; widths:
    the best setting's rows over hidden sizes, grid and wider layers together (None when no wider layer ran)."""
    if ok.empty:
        return "Every grid configuration diverged (non-finite loss): nothing to analyse; lower the learning rates."
    ranked = best_by_validation(ok, n=len(ok))
    lines = [f"**Best by validation accuracy:** {describe(ranked.iloc[0])}."]
    lines += [f"Best for {r.optimizer}: {describe(r)}." for _, r in best_by_validation(ok, by=["optimizer"]).iterrows()]
    lines.append(f"**Worst by validation accuracy:** {describe(ranked.iloc[-1])}.")
    by_h = ok.groupby("hidden").val_acc.mean()
    lines.append(f"**Hidden units.** Mean validation accuracy {listing(by_h, unit=' %')} ({trend(by_h)} with width).")
    by_b = ok.groupby("batch_size").val_acc.mean()
    steps = {b: steps_per_training(epochs, train_size, b) for b in by_b.index}
    lines.append("**Batch size.** Mean validation accuracy " + ", ".join(f"{b}: {v:.2f} % ({steps[b]} steps)"
                 for b, v in by_b.items()) + f" ({trend(by_b)} as the batch grows, with the same {epochs} epochs).")
    lines.append(relu_vs_sigmoid(ok))
    lines.append("**Optimizers.** " + "; ".join(f"{o}: mean validation accuracy {df.val_acc.mean():.2f} %, best "
                                                f"{df.val_acc.max():.2f} %" for o, df in ok.groupby("optimizer")) + ".")
    gap = (ok.train_acc - ok.val_acc).groupby(ok.hidden).mean()
    lines.append(f"**Overfitting.** Train minus validation accuracy, mean by hidden units: {listing(gap, '{:+.2f}')} "
                 f"points (the gap {trend(gap)} with width).")
    under = ok[ok.train_acc < 90]
    lines.append(f"**Underfitting.** Configurations below 90 % on their own training split: {len(under)}"
                 + (f" (hidden sizes {sorted(under.hidden.unique().tolist())}, activations "
                    f"{sorted(under.activation.unique().tolist())})." if len(under) else "."))
    lines.append(seed_noise(noise, n_seeds))
    if widths is not None and len(widths):
        w = widths.loc[widths.val_acc.idxmax()]
        lines.append(f"**Wider layers.** The best validation accuracy is at {int(w.hidden)} units ({w.val_acc:.2f} %, test "
                     f"{w.test_acc:.2f} %), against {SIMARD_800} % test reported by Simard et al. for 800 units.")
    return bullets(lines)


def headline(ok: pd.DataFrame, grid_seconds: float) -> str:
    """One line for the run's manifest."""
    if ok.empty:
        return "every grid configuration diverged"
    b = best_by_validation(ok).iloc[0]
    return (f"best by validation: {b.optimizer} lr {b.lr:g}, batch {b.batch_size}, {b.hidden} {b.activation} "
            f"-> val {b.val_acc:.2f}%, test {b.test_acc:.2f}%; grid training {grid_seconds:.1f} s summed over stacks")


def grade(ref: Path, new: Path) -> list[Check]:
    """Q2: every grid configuration of the reference once, with a finite time > 0; the best configuration by
    validation and its test accuracy."""
    q, config, scores = "Q2", ["batch_size", "optimizer", "lr", "hidden", "activation"], ["time_s", "val_acc", "test_acc"]
    r = read(ref, "results.csv")
    n = read(new, "results.csv", config + scores, ["batch_size", "lr", "hidden"] + scores)
    bad = finite(n, scores) or ("time_s <= 0 in some rows" if (n.time_s <= 0).any() else "")
    checks = [coverage(q, "every grid configuration trained", n, set(r[config].itertuples(index=False, name=None)),
                       config, config),
              holds(q, "training time and accuracies reported", "time > 0, accuracies finite, every row",
                    bad or f"{len(n)} rows", not bad)]
    noise = read(ref, "noise.csv") if (ref / "noise.csv").exists() else pd.DataFrame()
    sigma = noise.groupby(config).val_acc.std().max() if len(noise) else float("nan")
    sigma_test = noise.groupby(config).test_acc.std().max() if len(noise) else float("nan")
    tol_val, tol_test = tolerance(sigma, 1, floor=0.2), tolerance(sigma_test, 1, floor=0.2)
    best_ref = r.loc[r.val_acc.idxmax()]
    best_new = n.loc[n.val_acc.idxmax()] if n.val_acc.notna().any() else None
    # the rerun's best must be one the reference cannot tell apart from its own best (within tol_val on validation)
    close = r[r.val_acc >= best_ref.val_acc - tol_val]
    same = best_new is not None and ((close[config] == best_new[config].values).all(axis=1)).any()
    describe = lambda row: f"{row.optimizer} {row.lr:g}, b{row.batch_size}, {row.hidden} {row.activation}"
    none = "no validation accuracy in the rerun"
    checks += [holds(q, "best configuration by validation", f"{describe(best_ref)} or within {tol_val:.2f} pt on val "
                     f"({len(close)} configs)", describe(best_new) if best_new is not None else none, same, points=2),
               near(q, "best configuration: validation accuracy", best_ref.val_acc,
                    None if best_new is None else best_new.val_acc, tol_val, unit=" %", missing=none),
               near(q, "best configuration: test accuracy", best_ref.test_acc,
                    None if best_new is None else best_new.test_acc, tol_test, unit=" %", missing=none)]
    return checks
