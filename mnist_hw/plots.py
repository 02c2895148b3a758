"""Figures: where they go, and the plots the notebooks share."""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

FIGURES_ENV = "MNIST_HW_FIGURES"
DEFAULT_FIGURES = Path(__file__).resolve().parents[1] / "figures"


def figures_dir(path: str | Path = "") -> Path:
    """The output folder: the argument, else $MNIST_HW_FIGURES, else figures/ in the repository; created."""
    folder = Path(path or os.environ.get(FIGURES_ENV) or DEFAULT_FIGURES).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save(fig: plt.Figure, name: str, folder: Path) -> Path:
    """Save a figure as folder/name.png (it is still shown inline by the notebook)."""
    path = folder / f"{name}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def mean_band(ax: plt.Axes, results: pd.DataFrame, x: str, y: str, by: Sequence[str] = (), logx: bool = False) -> None:
    """Mean of y against x with a ±1 std band over the remaining rows (seeds), one line per `by` group."""
    groups = results.groupby(list(by)) if by else [((), results)]
    for name, df in groups:
        stats = df.groupby(x)[y].agg(["mean", "std"]).fillna(0)
        label = ", ".join(map(str, name if isinstance(name, tuple) else (name,))) or y
        ax.plot(stats.index, stats["mean"], marker="o", label=label)
        ax.fill_between(stats.index, stats["mean"] - stats["std"], stats["mean"] + stats["std"], alpha=0.2)
    if logx:
        ax.set_xscale("log", base=2)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.grid(alpha=0.3)


def learning_curves(ax: plt.Axes, curves: pd.DataFrame, by: Sequence[str], y: str = "train_loss") -> None:
    """Per-epoch y (mean over seeds when several) for each `by` group."""
    for name, df in curves.groupby(list(by)):
        mean = df.groupby("epoch")[y].mean()
        ax.plot(mean.index, mean.values, marker=".", label=", ".join(f"{k}={v}" for k, v in zip(by, name if isinstance(name, tuple) else (name,))))
    ax.set_xlabel("epoch")
    ax.set_ylabel(y)
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
                    ax.set_title(title, fontsize=7)
        axes[r, 0].set_ylabel(row_labels[r], rotation=0, ha="right", va="center")
    fig.subplots_adjust(wspace=0.05, hspace=0.05)
    return fig
