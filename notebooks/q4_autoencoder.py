# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Q4 — An MLP autoencoder 784-h-784 on all ten digits
#
# We train a one-hidden-layer MLP to reconstruct its own input: 784 pixels in, a hidden layer of `hidden`
# units (50 by default), 784 pixels out, mean squared error between the output and the input. The MNIST training images (all ten digits)
# are split at random into 80 % training and 20 % validation; the test set is MNIST's own. We report the
# hyper-parameters, the per-epoch loss curves, the MSE on the training, validation and test splits, the test MSE
# per digit, and originals beside their reconstructions for `examples_per_digit` (5 by default) random test images of each
# digit.
#
# **Scale.** Pixels are on the [0, 1] scale (raw intensity / 255), so every MSE here is per pixel on that
# scale. The earlier report's MSE of 0.07 did not state its scale (nor whether pixels were standardised), so it
# cannot be compared number for number.
#
# **Baseline.** PCA with as many components as the hidden layer has units is the best any *linear* code of
# that size can do (it minimises the squared reconstruction error over all rank-k affine maps), so the gap
# between it and the network is what the non-linearities buy.
#
# Run it headless with e.g. `papermill notebooks/q4_autoencoder.ipynb out.ipynb -p epochs 5 -p batch_size 128`.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from mnist_hw.questions import q4
from mnist_hw.runs.guard import ParameterGuard
from mnist_hw.engine.data import Split, generator, load_splits, pick_per_class
from mnist_hw.engine.losses import MSE
from mnist_hw.engine.models import PCA, Autoencoder, seeded
from mnist_hw.engine.stack import MLPStack
from mnist_hw.questions.plots import image_pairs, learning_curves
from mnist_hw.questions.q4 import dead_units, pca_column, per_image_mse, split_mse
from mnist_hw.runs.folder import open_run
from mnist_hw.engine.train import TrainConfig, fit, predict
from mnist_hw.engine.device import resolve_device

guard = ParameterGuard(globals())

# %% tags=["parameters"]
hidden: int = 50  # hidden units (1..784), also the number of PCA components of the baseline
activation: str = "relu"  # hidden activation: sigmoid | relu | tanh
output_activation: str = "sigmoid"  # output activation: sigmoid | relu | tanh | none (pixels lie in [0, 1])
optimizer: str = "adam"  # sgd | adam
lr: float = 5e-4  # learning rate (1e-3 leaves more hidden ReLUs dead and plateaus higher)
epochs: int = 30  # passes over the training split
batch_size: int = 64  # minibatch size
seed: int = 0  # fixes the split, the initialisation, the shuffling and the images shown
examples_per_digit: int = 5  # test images per digit in the reconstruction figure (1..20)
device: str = "auto"  # auto (cuda > cpu; mps only by name) | cpu | cuda | mps
data_root: str = ""  # folder holding MNIST/raw/ (empty: $MNIST_HW_DATA, else data/ in the repository)
run_dir: str = ""  # folder for this run's CSVs, figures and manifest (empty: runs/q4-<hash of parameters and code>)

# %%
# Check every parameter before any data is loaded or any model trained, then open this run's folder.
params = guard.check(globals(), q4.rules())
dev = resolve_device(device)
config = TrainConfig(hidden=hidden, activation=activation, optimizer=optimizer, lr=lr, epochs=epochs,
                     batch_size=batch_size, seed=seed)
run = open_run(q4, params, dev)
print(run.describe())

# %% [markdown]
# ## Data
#
# All ten digits, pixels on the [0, 1] scale (no standardisation: the sigmoid output can then match the target
# exactly). The input is also the target.

# %%
# NBVAL_CHECK_OUTPUT
# (nbval reruns this cell with the tiny test parameters, same first seed, and compares its output with the record)
with run.phase("data"):
    splits = load_splits(digits=range(10), seed=seed, root=data_root or None, standardize=False, device=dev)
named = {"train": splits.train, "val": splits.val, "test": splits.test}
pd.DataFrame({"images": splits.sizes(),
              "pixel range": {k: f"[{s.x.min().item():.0f}, {s.x.max().item():.0f}]" for k, s in named.items()},
              "mean pixel": {k: round(s.x.mean().item(), 4) for k, s in named.items()}})

# %% [markdown]
# ## Model and training details
#
# The model prints like the earlier report's `RegressionMLP` (called `Autoencoder` in the package). Training uses the package's `MLPStack`, whose
# hand-derived backward pass is checked against autograd in `tests/test_models.py`.

# %%
model = seeded(seed, Autoencoder, hidden, activation, None if output_activation == "none" else output_activation)
print(model)
pd.Series({"architecture": f"784-{hidden}-784", "hidden activation": activation,
           "output activation": output_activation, "loss": "MSE (mean over pixels and images)",
           "target": "the input image, pixels in [0, 1]", "optimizer": optimizer, "learning rate": lr,
           "epochs": epochs, "batch size": batch_size, "seed": seed, "device": str(dev),
           "initialisation": "PyTorch default (Kaiming-uniform), drawn from the seed"}, name="value").to_frame()

# %% [markdown]
# ## Training
#
# The validation MSE is computed after every epoch; time is the wall time of the training loop only.

# %%
stack = MLPStack([model], dev)
with run.phase("train"):
    history = fit(stack, Split(splits.train.x, splits.train.x), config.options, loss=MSE(), val=Split(splits.val.x, splits.val.x))
diverged = bool(history.diverged[0])  # a non-finite loss stopped the model: no MSE, no analysis of its numbers
curves = history.curves.drop(columns="model")
run.save_table(curves, "curves", index=False)
print(f"training time: {history.seconds:.1f} s"
      + (f"; the model DIVERGED (non-finite loss) with {optimizer} at learning rate {lr:g}" if diverged else ""))
curves.set_index("epoch").round(5).tail()

# %%
fig, ax = plt.subplots(figsize=(6, 3.8))
long = curves.melt(id_vars="epoch", value_vars=["train_loss", "val_loss"], var_name="split", value_name="MSE")
long = long[np.isfinite(long.MSE)]  # a diverged model's losses end in inf / NaN
if len(long):
    learning_curves(ax, long.assign(split=long.split.str.replace("_loss", "")), ["split"], y="MSE")
    ax.set_yscale("log"); ax.legend()
else:
    ax.text(0.5, 0.5, "diverged: no finite loss to plot", ha="center", transform=ax.transAxes)
ax.set_title("per-epoch MSE ([0, 1] pixel scale)")
fig.tight_layout(); run.save_figure(fig, "loss_curve"); plt.show()

# %% [markdown]
# ## MSE on train / validation / test, against PCA
#
# The training MSE here is measured after training on the whole training split (the curve above averages the
# minibatch losses during each epoch, while the weights are still moving). PCA is fitted on the training split
# only.

# %%
pca = PCA(hidden).fit(splits.train.x)
per_image = per_image_mse(stack, pca, named, diverged)  # error averaged over the 784 pixels of each image
mse = split_mse(per_image)
run.save_table(mse, "results")
mse.round(5)

# %%
per_digit = per_image["test"].groupby(splits.test.y.cpu().numpy()).mean()
per_digit.index.name = "digit"
run.save_table(per_digit, "per_digit_mse")
fig, ax = plt.subplots(figsize=(7, 3.6))
per_digit.plot.bar(ax=ax, rot=0)
ax.set_ylabel("test MSE ([0, 1] pixel scale)"); ax.set_title("test MSE per digit"); ax.grid(axis="y", alpha=0.3)
fig.tight_layout(); run.save_figure(fig, "per_digit_mse"); plt.show()

# %% [markdown]
# ## Originals and reconstructions
#
# For each digit, test images drawn at random (seeded) from that digit; each original is followed by the
# autoencoder's reconstruction. All images share one grey scale, black 0 to white 1.

# %%
if diverged:
    print("No reconstructions to show: the autoencoder diverged.")
else:
    picks = pick_per_class(splits.test.y, examples_per_digit, generator(seed, "examples")).to(dev)
    originals = splits.test.x[picks.flatten()]
    reconstructions = predict(stack, originals)[:, 0]
    shape = (*picks.shape, -1)
    fig = image_pairs(originals.view(shape).cpu().numpy(), reconstructions.reshape(shape).cpu().numpy(),
                      [f"digit {d}" for d in range(len(picks))])
    run.save_figure(fig, "reconstructions"); plt.show()

# %% [markdown]
# ## What the numbers show
#
# The findings below are written by `mnist_hw.questions.q4` from the tables above, so they stay true when the
# notebook is rerun with other parameters.

# %%
if diverged:
    answer = q4.diverged(curves, mse, hidden, setting=f"{optimizer}, learning rate {lr:g}")
else:  # only a ReLU unit can be exactly 0 on every image
    answer = q4.findings(mse, curves, per_digit, hidden, dead_units(stack, splits.test.x) if activation == "relu" else None)
display(Markdown(answer))

# %%
run.finish(headline=q4.headline(mse, hidden, diverged))
