# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] tags=["assignment"]
# # Question 4 — an MLP autoencoder 784-50-784
#
# **What the assignment asks**
#
# - **(a)** Train an MLP with one hidden layer of 50 units to reconstruct input images of all ten digits.
# - **(b)** Report the mean squared error on the training, validation and test sets, and the hyper-parameters.
# - **(c)** Pick 5 test images of each digit; show the originals beside the MLP's reconstructions.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from mnist_hw.notebook import (PCA, Autoencoder, ParameterGuard, TrainConfig, load_splits, open_run, plots, seeded,
                               tables)
from mnist_hw.questions import q4

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

# %% tags=["machinery"]
# Check every parameter before any data is loaded or any model trained, then open this run's folder (its CSVs,
# figures and manifest; rerunning the same parameters resumes from the rows already there).
params = guard.check(globals(), q4.rules())
run = open_run(q4, params, device)
dev = run.device
print(run.describe())

# %% [markdown]
# ## (a) Training the autoencoder
#
# We train a one-hidden-layer MLP to reconstruct its own input: 784 pixels in, a hidden layer of `hidden` units (50 by default), 784
# pixels out, mean squared error between the output and the input. The MNIST training images (all ten digits) are
# split at random into 80 % training and 20 % validation; the test set is MNIST's own. Pixels are on the [0, 1]
# scale (no standardisation: the sigmoid output can then match the target exactly).
#
# **Scale.** Pixels are on the [0, 1] scale (raw intensity / 255), so every MSE here is per pixel on that
# scale. The earlier report's MSE of 0.07 did not state its scale (nor whether pixels were standardised), so it
# cannot be compared number for number.
#
# **Baseline.** PCA with as many components as the hidden layer has units is the best any *linear* code of
# that size can do (it minimises the squared reconstruction error over all rank-k affine maps), so the gap
# between it and the network is what the non-linearities buy.
#

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
# The model (it prints like the earlier report's `RegressionMLP`) and its hyper-parameters:

# %%
config = TrainConfig(hidden=hidden, activation=activation, optimizer=optimizer, lr=lr, epochs=epochs,
                     batch_size=batch_size, seed=seed)
model = seeded(seed, Autoencoder, hidden, activation, None if output_activation == "none" else output_activation)
print(model)
pd.Series({"architecture": f"784-{hidden}-784", "hidden activation": activation,
           "output activation": output_activation, "loss": "MSE (mean over pixels and images)",
           "target": "the input image, pixels in [0, 1]", "optimizer": optimizer, "learning rate": lr,
           "epochs": epochs, "batch size": batch_size, "seed": seed,
           "initialisation": "PyTorch default (Kaiming-uniform), drawn from the seed"}, name="value").to_frame()

# %% [markdown]
# The validation MSE is computed after every epoch; time is the wall time of the training loop only.

# %%
with run.phase("train"):
    stack, history = q4.train(model, splits, config)
diverged = bool(history.diverged[0])  # a non-finite loss stopped the model: no MSE, no analysis of its numbers
curves = history.curves.drop(columns="model")
run.save_table(curves, "curves", index=False)
print(f"training time: {history.seconds:.1f} s"
      + (f"; the model DIVERGED (non-finite loss) with {optimizer} at learning rate {lr:g}" if diverged else ""))
tables.readable(curves, ["epoch", "time_s", "train_loss", "val_loss"], ["epoch"], digits=5).tail()

# %%
fig, ax = plt.subplots(figsize=(6, 3.8))
long = curves.melt(id_vars="epoch", value_vars=["train_loss", "val_loss"], var_name="split", value_name="MSE")
long = long[np.isfinite(long.MSE)]  # a diverged model's losses end in inf / NaN
if len(long):
    plots.learning_curves(ax, long.assign(split=long.split.str.replace("_loss", "")), ["split"], y="MSE")
    ax.set_yscale("log"); ax.legend()
else:
    ax.text(0.5, 0.5, "diverged: no finite loss to plot", ha="center", transform=ax.transAxes)
ax.set_title("per-epoch MSE ([0, 1] pixel scale)")
fig.tight_layout(); run.save_figure(fig, "loss_curve"); plt.show()

# %% [markdown]
# ## (b) The MSE on training, validation and test, against PCA
#
# The training MSE here is measured after training on the whole training split (the curve above averages the
# minibatch losses during each epoch, while the weights are still moving). PCA is fitted on the training split
# only.

# %%
pca = PCA(hidden).fit(splits.train.x)
per_image = q4.per_image_mse(stack, pca, named, diverged)  # error averaged over the 784 pixels of each image
mse = q4.split_mse(per_image)
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
# ## (c) Originals and their reconstructions
#
# For each digit, test images drawn at random (seeded) from that digit; each original is followed by the
# autoencoder's reconstruction. All images share one grey scale, black 0 to white 1.

# %%
if diverged:
    print("No reconstructions to show: the autoencoder diverged.")
else:
    originals, reconstructions = q4.reconstructions(stack, splits.test, examples_per_digit, seed)
    fig = plots.image_pairs(originals, reconstructions, [f"digit {d}" for d in range(len(originals))])
    run.save_figure(fig, "reconstructions"); plt.show()

# %% [markdown]
# ## What the numbers show
#
# Each sentence below is computed from the tables above, so it stays true when the notebook is rerun with other
# parameters.

# %%
if diverged:
    answer = q4.diverged(curves, mse, hidden, setting=f"{optimizer}, learning rate {lr:g}")
else:  # only a ReLU unit can be exactly 0 on every image
    answer = q4.findings(mse, curves, per_digit, hidden, q4.dead_units(stack, splits.test.x) if activation == "relu" else None)
display(Markdown(answer))

# %% tags=["machinery"]
run.finish(headline=q4.headline(mse, hidden, diverged))
