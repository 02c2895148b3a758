"""The plots the notebooks share, with human axis labels (figures are saved by mnist_hw.runs.folder.Run)."""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

LABELS = {  # column names as a reader wants them on an axis, with units
    "batch_size": "batch size", "hidden": "hidden units", "time_s": "training time (s)", "time_share_s": "training time per model (s)", "epoch": "epoch",
    "train_acc": "train accuracy (%)", "val_acc": "validation accuracy (%)", "test_acc": "test accuracy (%)",
    "train_loss": "training loss (cross-entropy)", "val_loss": "validation loss", "val_accuracy": "validation accuracy (%)",
    "N": "N (1 in N of the \"1\"s kept)",
}


PRINT_FONT = 8  # points: the smallest text of a figure drawn to print at its own size (about 7 in wide, as on A4)


def axis_label(column: str) -> str:
    """The axis label of a result column (the column name itself when it has none)."""
    return LABELS.get(column, column)


def log2_axis(ax: plt.Axes, values: Sequence[float], axis: str = "x") -> None:
    """A log-2 axis with its ticks on the values used (not on every power of two)."""
    getattr(ax, f"set_{axis}scale")("log", base=2)
    ticks = sorted(set(values))
    getattr(ax, f"set_{axis}ticks")(ticks, [f"{t:g}" for t in ticks])
    getattr(ax, f"{axis}axis").set_minor_locator(plt.NullLocator())


def mean_band(ax: plt.Axes, results: pd.DataFrame, x: str, y: str, by: Sequence[str] = (), logx: bool = False) -> None:
    """Mean of y against x with a ±1 std band over the remaining rows (seeds), one line per `by` group."""
    groups = results.groupby(list(by)) if by else [((), results)]
    for name, df in groups:
        stats = df.groupby(x)[y].agg(["mean", "std"]).fillna(0)
        legend = ", ".join(map(str, name if isinstance(name, tuple) else (name,))) or axis_label(y)
        ax.plot(stats.index, stats["mean"], marker="o", label=legend)
        ax.fill_between(stats.index, stats["mean"] - stats["std"], stats["mean"] + stats["std"], alpha=0.2)
    if logx:
        log2_axis(ax, results[x])
    ax.set_xlabel(axis_label(x))
    ax.set_ylabel(axis_label(y))
    ax.grid(alpha=0.3)


def group_label(by: Sequence[str], name) -> str:
    """A group's legend entry: each value after its axis label where it has one ("batch size 64"), else alone ("adam")."""
    values = name if isinstance(name, tuple) else (name,)
    return ", ".join(f"{LABELS[k]} {v}" if k in LABELS else str(v) for k, v in zip(by, values))


def learning_curves(ax: plt.Axes, curves: pd.DataFrame, by: Sequence[str], y: str = "train_loss") -> None:
    """Per-epoch y (mean over seeds when several) for each `by` group, labelled in words ("adam, batch size 64")."""
    for name, df in curves.groupby(list(by)):
        mean = df.groupby("epoch")[y].mean()
        ax.plot(mean.index, mean.values, marker=".", label=group_label(by, name))
    ax.set_xlabel("epoch")
    ax.set_ylabel(axis_label(y))
    ax.grid(alpha=0.3)


def image_pairs(originals: np.ndarray, reconstructions: np.ndarray, row_labels: Sequence[str],
                side: int = 28) -> plt.Figure:
    """A grid with one row per label, each original image (rows, n, side*side) followed by its reconstruction."""
    rows, n = originals.shape[:2]
    fig, axes = plt.subplots(rows, 2 * n, figsize=(2 * n * 0.75, rows * 0.8), squeeze=False)
    for r in range(rows):
        for i in range(n):
            for j, (images, title) in enumerate([(originals, "original"), (reconstructions, "reconstr.")]):
                ax = axes[r, 2 * i + j]
                # a fixed [0, 1] colour scale, so a faint reconstruction looks faint
                ax.imshow(images[r, i].reshape(side, side), cmap="gray", vmin=0, vmax=1)
                ax.set_xticks([])
                ax.set_yticks([])
                if r == 0:
                    ax.set_title(title, fontsize=PRINT_FONT)
        axes[r, 0].set_ylabel(row_labels[r], rotation=0, ha="right", va="center")
    fig.subplots_adjust(wspace=0.05, hspace=0.05)
    return fig


PROTOCOLS = [("f1_test", "(a) sparse test"), ("f1_full", "(b) full test"), ("f1_prior", "(c) at training prior")]


def f1_panels(rank: pd.DataFrame, reps: pd.DataFrame, columns: int = 2) -> plt.Figure:
    """Q3's small multiples: one panel per ranked representative, F1 against N under each protocol (mean over
    seeds, band min-max); undefined F1 (n/a) is left out, never drawn as 0. Two columns 7 in wide, every text at
    PRINT_FONT or more, so that the figure prints at its own size with legible text."""
    cols = min(columns, len(rank))
    rows_ = -(-len(rank) // cols)
    fig, axes = plt.subplots(rows_, cols, figsize=(7, 0.6 + 1.7 * rows_), sharex=True, sharey=True, squeeze=False)
    for ax, (_, r) in zip(axes.flat, rank.iterrows()):
        rows = reps[(reps.method == r.method) & (reps.weight == r.weight)]
        for column, name in PROTOCOLS:
            stats = rows.groupby("N")[column].agg(["mean", "min", "max"]).dropna()
            ax.plot(stats.index, stats["mean"], marker=".", label=name)
            ax.fill_between(stats.index, stats["min"], stats["max"], alpha=0.2)
        ax.set_title(r.method + ("" if r.weight in ("1", "-") else f" ({r.weight})"), fontsize=PRINT_FONT + 1, pad=2)
        ax.set_xscale("log"); ax.set_ylim(-0.02, 1.02); ax.grid(alpha=0.3)
        ax.tick_params(labelsize=PRINT_FONT)
    for ax in axes.flat[len(rank):]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("N (1 in N \"1\"s kept)", fontsize=PRINT_FONT)
    for ax in axes[:, 0]:
        ax.set_ylabel("F1 of the \"1\"s", fontsize=PRINT_FONT)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    height = fig.get_figheight()
    fig.suptitle("F1 against N: mean over seeds, band min–max; panels in validation ranking order",
                 fontsize=PRINT_FONT + 1, y=1 - 0.05 / height, va="top")
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), fontsize=PRINT_FONT, frameon=False,
               bbox_to_anchor=(0.5, 1 - 0.25 / height))
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.4 / height))
    return fig
