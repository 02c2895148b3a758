"""Q4's reconstruction errors, autoencoder against PCA: per image, and per split (the run's results.csv, which
mnist_hw.grade reads)."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .data import Split
from .models import PCA, MLPStack
from .training import predict


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
