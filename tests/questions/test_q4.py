"""Q4 (mnist_hw.questions.q4): the autoencoder model, the PCA baseline, the per-digit picks, the written findings on
small hand-made tables and the notebook's smoke run."""
import numpy as np
import pandas as pd
import pytest
import torch

from mnist_hw.engine.data import generator, pick_per_class
from mnist_hw.engine.models import PCA, Autoencoder, seeded
from mnist_hw.engine.stack import MLPStack
from mnist_hw.questions import q4


@pytest.mark.parametrize("activation,output_activation", [("relu", "sigmoid"), ("tanh", None), ("sigmoid", "tanh")])
def test_autoencoder_shapes(activation, output_activation):
    model = seeded(0, Autoencoder, 50, activation, output_activation)
    x = torch.rand(7, 784)
    assert model.fc1.weight.shape == (50, 784) and model.fc2.weight.shape == (784, 50)
    assert model(x).shape == (7, 784)
    out, _ = MLPStack([model]).forward(x)
    assert out.shape == (7, 1, 784)
    torch.testing.assert_close(out[:, 0], model(x))
    assert model.output_activation_name == output_activation


def low_rank(n: int, d: int, k: int, seed: int = 0) -> torch.Tensor:
    """n points of rank-k structure in d dimensions, shifted off the origin (float64)."""
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, k, generator=g, dtype=torch.float64) @ torch.randn(k, d, generator=g, dtype=torch.float64)
            + torch.randn(d, generator=g, dtype=torch.float64))


def test_pca_reconstructs_rank_k_data_exactly():
    x = low_rank(300, 40, 5)
    pca = PCA(5).fit(x)
    assert pca.encode(x).shape == (300, 5) and pca.components.shape == (5, 40)
    torch.testing.assert_close(pca.components @ pca.components.t(), torch.eye(5, dtype=torch.float64))
    torch.testing.assert_close(pca.reconstruct(x), x)
    assert (PCA(4).fit(x).reconstruct(x) - x).pow(2).mean() > 1e-3  # one component short loses information


def test_pca_matches_truncated_svd_on_full_rank_data():
    x = torch.randn(200, 30, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    centred = x - x.mean(0)
    u, s, vh = torch.linalg.svd(centred, full_matrices=False)
    best = (u[:, :8] * s[:8]) @ vh[:8] + x.mean(0)  # Eckart-Young: the optimal rank-8 approximation
    torch.testing.assert_close(PCA(8).fit(x).reconstruct(x), best)


def test_pca_rejects_bad_k():
    with pytest.raises(ValueError, match="k must be"):
        PCA(0)
    with pytest.raises(ValueError, match="exceeds"):
        PCA(5).fit(torch.zeros(10, 4))


def test_pick_per_class_is_seeded_distinct_and_per_class():
    labels = torch.arange(100) % 10
    picks = pick_per_class(labels, 5, generator(0, "examples"))
    assert picks.shape == (10, 5)
    assert (labels[picks] == torch.arange(10)[:, None]).all()
    assert all(len(set(row.tolist())) == 5 for row in picks)
    assert torch.equal(picks, pick_per_class(labels, 5, generator(0, "examples")))
    with pytest.raises(ValueError, match="fewer"):
        pick_per_class(labels, 11, generator(0, "examples"))


def test_q4_smoke_run_with_relu_output_writes_mse_and_figures(run_notebook, tmp_path, notebook_text):
    out = run_notebook("q4_autoencoder.ipynb", epochs=1, batch_size=256, output_activation="relu")
    mse = pd.read_csv(out / "results.csv", index_col="split")
    assert list(mse.index) == ["train", "val", "test"] and list(mse.columns) == ["autoencoder", "PCA-50"]
    assert mse["PCA-50"].between(0.010, 0.013).all()  # PCA-50 on the [0, 1] scale is about 0.0115
    assert mse["autoencoder"].between(0.001, 0.06).all()
    assert len(pd.read_csv(out / "per_digit_mse.csv")) == 10
    assert len(pd.read_csv(out / "curves.csv")) == 1
    for name in ("reconstructions", "loss_curve", "per_digit_mse"):
        assert (out / f"{name}.png").stat().st_size > 10_000
    text = notebook_text(tmp_path / "run.ipynb")
    assert "One epoch only" in text and "over the last 0 epochs" not in text and "diverged" not in text


def test_q4_findings_follow_the_tables():
    mse = pd.DataFrame({"autoencoder": [0.005, 0.0051, 0.0052], "PCA-50": [0.011, 0.0112, 0.0115]},
                       index=["train", "val", "test"])
    curves = pd.DataFrame({"epoch": range(1, 7), "train_loss": np.linspace(0.02, 0.005, 6), "val_loss": [0.02, 0.01, 0.008, 0.0075, 0.0073, 0.0072]})
    per_digit = pd.DataFrame({"autoencoder": [0.003, 0.009], "PCA-50": [0.002, 0.02]})
    text = q4.findings(mse, curves, per_digit, 50, dead_units=3)
    assert "Autoencoder 0.00520, PCA-50 0.01150" in text and "45% of the best linear 50-d code's (better than PCA)" in text
    assert "fell 28.0% over the last 4 epochs (still improving" in text
    assert "Hardest to reconstruct: 1" in text and "beats PCA-50 on 1 of 2 digits" in text and "3 of 50 hidden ReLU" in text
    assert "One epoch only" in q4.findings(mse, curves.head(1), per_digit, 50)
    diverged = curves.assign(train_loss=[0.1, np.inf, np.nan, np.nan, np.nan, np.nan])
    assert "non-finite in epoch 2 (sgd, learning rate 1e+04)" in q4.diverged(diverged, mse, 50, "sgd, learning rate 1e+04")
