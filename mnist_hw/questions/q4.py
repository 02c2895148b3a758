"""Q4, the 784-50-784 autoencoder against PCA: the notebook's parameter rules, the reconstruction errors, its
written answer, and its grader."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..engine.activations import ACTIVATION
from ..engine.data import Split, Splits, generator, pick_per_class
from ..engine.losses import MSE
from ..engine.models import PCA
from ..engine.optim import OPTIMIZER
from ..engine.rules import LR, POSITIVE, SEED, Choice, Int, Rules
from ..engine.stack import MLPStack
from ..engine.train import History, TrainConfig, fit, predict
from ..runs.guard import RUN, device_present
from .grading import Check, holds, near, read
from .text import bullets

MAX_EXAMPLES = 20  # below the smallest test class (892 images of digit 5), so picks never repeat
def rules() -> Rules:
    """Q4's parameter table: one rule per parameter of the notebook, then the cross-checks."""
    return Rules({"hidden": Int(1, 784),  # the PCA baseline has k = hidden components, at most the 784 pixels
                  "activation": ACTIVATION, "output_activation": Choice([*ACTIVATION.options, "none"]),
                  "optimizer": OPTIMIZER, "lr": LR, "epochs": POSITIVE, "batch_size": POSITIVE, "seed": SEED,
                  # pairs of 28x28 images in one figure: past 20 per digit it is no longer readable (and slow to draw)
                  "examples_per_digit": Int(1, MAX_EXAMPLES), **RUN}, [device_present])


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
    return ("The autoencoder diverged: its training loss became non-finite"
            + (f" in epoch {bad.min()}" if len(bad) else "") + f" ({setting}), so it has no MSE and nothing compares "
            f"it. {pca_column(hidden)} reaches a test MSE of {mse.loc['test', pca_column(hidden)]:.5f}. Try a smaller learning rate.")


def headline(mse: pd.DataFrame, hidden: int, failed: bool) -> str:
    """One line for the run's manifest."""
    linear = pca_column(hidden)
    return (f"test MSE {mse.loc['test', 'autoencoder']:.5f} vs {linear} {mse.loc['test', linear]:.5f} ([0, 1] pixels)"
            + (" (autoencoder diverged)" if failed else ""))


def grade(ref: Path, new: Path) -> list[Check]:
    """Q4: MSE on train / validation / test (one row each) close to the reference; the reconstruction figure written."""
    q = "Q4"
    r = read(ref, "results.csv", index_col="split")
    n = read(new, "results.csv", ["split", "autoencoder"], ["autoencoder"], index_col="split")
    checks = []
    for split in ("train", "val", "test"):
        rows = n.autoencoder[n.index == split]
        ref_mse = r.loc[split, "autoencoder"]
        checks.append(near(q, f"{split} MSE", ref_mse, float(rows.iloc[0]) if len(rows) == 1 else None, 0.05 * ref_mse,
                           missing=f"{len(rows)} '{split}' rows, not one"))
    figure = new / "reconstructions.png"
    checks.append(holds(q, "reconstruction figure written", "reconstructions.png, > 10 kB",
                        f"{figure.stat().st_size // 1000} kB" if figure.is_file() else "missing",
                        figure.is_file() and figure.stat().st_size > 10_000))
    return checks

# ---- training and reconstruction errors

def train(model, splits: Splits, config: TrainConfig) -> tuple[MLPStack, History]:
    """Train the autoencoder `model` to reconstruct the training images (input = target, MSE), the validation MSE
    measured after every epoch; returns the trained stack of this one model and its history."""
    stack = MLPStack([model], splits.train.x.device)
    history = fit(stack, Split(splits.train.x, splits.train.x), config, loss=MSE(),
                  val=Split(splits.val.x, splits.val.x))
    return stack, history


def reconstructions(stack: MLPStack, test: Split, per_digit: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`per_digit` test images of each digit drawn at random (seeded) and the autoencoder's reconstructions, as
    arrays (digit, image, pixel)."""
    picks = pick_per_class(test.y, per_digit, generator(seed, "examples")).to(test.x.device)
    originals = test.x[picks.flatten()]
    shape = (*picks.shape, -1)
    return (originals.view(shape).cpu().numpy(), predict(stack, originals)[:, 0].reshape(shape).cpu().numpy())


def pca_column(k: int) -> str:
    """The name of the linear baseline's column: PCA with k components (as many as the hidden layer's units)."""
    return f"PCA-{k}"


def dead_units(stack: MLPStack, x) -> int:
    """Hidden units of the stack's (first) model that output exactly 0 on every image of x: for a ReLU, a unit that
    carries no information."""
    model = stack.to_models()[0]
    return int((model.activation(model.fc1(x)).abs().amax(0) == 0).sum())


def per_image_mse(stack: MLPStack, pca: PCA, splits: Mapping[str, Split], diverged: bool) -> dict[str, pd.DataFrame]:
    """Each split's squared error averaged over the pixels of each image, for the stack's one autoencoder (NaN when
    it diverged: it has no error to report) and for `pca` (column 'PCA-<k>')."""
    return {name: pd.DataFrame({
        "autoencoder": np.nan if diverged else (predict(stack, s.x)[:, 0] - s.x).pow(2).mean(1).cpu().numpy(),
        pca_column(pca.k): (pca.reconstruct(s.x) - s.x).pow(2).mean(1).cpu().numpy(),
    }) for name, s in splits.items()}


def split_mse(per_image: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The MSE of every split (rows, index 'split') and model (columns): the layout of Q4's results.csv."""
    mse = pd.DataFrame({name: df.mean() for name, df in per_image.items()}).T
    mse.index.name = "split"
    return mse
