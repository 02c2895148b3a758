"""Q4's answer: what the autoencoder's MSE, curves and per-digit errors show, against PCA."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..reconstruction import pca_column
from .text import bullets


def findings(mse: pd.DataFrame, curves: pd.DataFrame, per_digit: pd.DataFrame, hidden: int,
             dead_units: int | None = None) -> str:
    """The findings as Markdown bullets. mse: split x (autoencoder, baseline); curves: per-epoch train/val loss;
    per_digit: test MSE per digit; dead_units: hidden ReLUs that output 0 on every test image (None: not ReLU)."""
    linear = pca_column(hidden)
    ae, lin, train = mse.loc["test", "autoencoder"], mse.loc["test", linear], mse.loc["train", "autoencoder"]
    lines = [f"**Test MSE.** Autoencoder {ae:.5f}, {linear} {lin:.5f} on the [0, 1] pixel scale: the network's "
             f"error is {ae / lin:.0%} of the best linear {hidden}-d code's ({'better' if ae < lin else 'not better'} "
             "than PCA).",
             f"**Generalisation.** Train {train:.5f}, val {mse.loc['val', 'autoencoder']:.5f}, test {ae:.5f}: test minus "
             f"train is {ae - train:+.5f} ("
             + ("little overfitting" if abs(ae - train) < 0.1 * ae else "a visible generalisation gap") + ")."]
    if len(curves) > 1:
        window = min(5, len(curves))
        change = 1 - curves.val_loss.iloc[-1] / curves.val_loss.iloc[-window]
        lines.append(f"**Convergence.** Validation MSE {'fell' if change >= 0 else 'rose'} {abs(change):.1%} over the "
                     f"last {window - 1} epoch{'s' if window > 2 else ''} ("
                     + ("still improving: more epochs may help" if change > 0.01 else "close to a plateau") + ").")
    else:
        lines.append("**Convergence.** One epoch only: no trend of the validation MSE to report.")
    hard, easy = per_digit.autoencoder.idxmax(), per_digit.autoencoder.idxmin()
    lines.append(f"**Digits.** Hardest to reconstruct: {hard} (test MSE {per_digit.autoencoder[hard]:.5f}); easiest: "
                 f"{easy} ({per_digit.autoencoder[easy]:.5f}). The autoencoder beats {linear} on "
                 f"{(per_digit.autoencoder < per_digit[linear]).sum()} of {len(per_digit)} digits.")
    if dead_units is not None:
        lines.append(f"**Dead units.** {dead_units} of {hidden} hidden ReLU units output 0 on every test image "
                     "(dead units carry no information).")
    return bullets(lines)


def diverged(curves: pd.DataFrame, mse: pd.DataFrame, hidden: int, setting: str) -> str:
    """The answer when the autoencoder's loss became non-finite: when, and what the baseline still reaches."""
    bad = curves.loc[~np.isfinite(curves.train_loss), "epoch"]
    return (f"The autoencoder diverged: its training loss became non-finite"
            + (f" in epoch {bad.min()}" if len(bad) else "") + f" ({setting}), so it has no MSE and nothing compares "
            f"it. {pca_column(hidden)} reaches a test MSE of {mse.loc['test', pca_column(hidden)]:.5f}. Try a smaller learning rate.")


def headline(mse: pd.DataFrame, hidden: int, failed: bool) -> str:
    """One line for the run's manifest."""
    linear = pca_column(hidden)
    return (f"test MSE {mse.loc['test', 'autoencoder']:.5f} vs {linear} {mse.loc['test', linear]:.5f} ([0, 1] pixels)"
            + (" (autoencoder diverged)" if failed else ""))
