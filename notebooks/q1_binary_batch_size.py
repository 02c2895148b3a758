# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] tags=["assignment"]
# # Question 1 — digits 0 and 1, the effect of batch size
#
# **What the assignment asks**
#
# - **(a)** Keep only the images of the digits 0 and 1, in the training and the test set.
# - **(b)** Split the training images at random into 80 % training and 20 % validation.
# - **(c)** Train a one-hidden-layer MLP to tell 0 from 1; report its design and how it was trained (optimizer, epochs, learning rate, ...).
# - **(d)** With everything else fixed, train with batch sizes 2, 16, 128 and 1024; report the training time and the training, validation and test accuracy of each.

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from mnist_hw.notebook import (ParameterGuard, SimpleMLP, TrainConfig, load_splits, open_run, plots, show_code,
                               sweep_configs, tables)
from mnist_hw.questions import q1

guard = ParameterGuard(globals())

# %% tags=["parameters"]
batch_sizes: list[int] = [2, 16, 128, 1024]  # minibatch sizes to compare; everything else stays fixed
seeds: list[int] = [0, 1, 2]  # one run per seed (split, init, shuffling); tables show mean ± std
hidden: int = 16  # hidden units of the 784-h-2 MLP
activation: str = "relu"  # hidden activation: sigmoid | relu | tanh
optimizer: str = "adam"  # sgd | adam
lr: float = 1e-3  # learning rate
epochs: int = 5  # passes over the training split
device: str = "auto"  # auto (cuda > cpu; mps only by name) | cpu | cuda | mps
data_root: str = ""  # folder holding MNIST/raw/ (empty: $MNIST_HW_DATA, else data/ in the repository)
run_dir: str = ""  # folder for this run's CSVs, figures and manifest (empty: runs/q1-<hash of parameters and code>)

# %% tags=["machinery"]
# Check every parameter before any data is loaded or any model trained, then open this run's folder (its CSVs,
# figures and manifest; rerunning the same parameters resumes from the rows already there).
params = guard.check(globals(), q1.rules())
run = open_run(q1, params, device)
dev = run.device
print(run.describe())

# %% [markdown]
# ## (a, b) The data: digits 0 and 1, split 80/20
#
# We keep the images of the digits 0 and 1 (training and test set), standardise the pixels with the MNIST mean and
# standard deviation, and split the training images at random into 80 % training and 20 % validation; the split
# depends on the seed. The sizes below are for the first seed (every seed gives the same sizes).

# %%
# NBVAL_CHECK_OUTPUT
# (nbval reruns this cell with the tiny test parameters, same first seed, and compares its output with the record)
load = lambda seed: load_splits(digits=(0, 1), seed=seed, root=data_root or None, device=dev)
with run.phase("data"):
    splits = load(seeds[0])
pd.DataFrame({"images": splits.sizes(),
              "share of 1s": {k: f"{getattr(splits, k).y.float().mean().item():.1%}" for k in splits.sizes()}})

# %% [markdown]
# ## (c) The model and how it is trained
#
# One hidden layer, two output logits, softmax cross-entropy; the same configuration for every batch size. Every
# run is repeated over several seeds (one seed fixes the split, the initialisation and the shuffling); tables show
# the mean ± std over seeds. The model:

# %%
show_code(SimpleMLP)

# %%
print(SimpleMLP(784, hidden, 2, activation))
pd.Series({"input": "784 standardised pixels", "hidden units": hidden, "activation": activation,
           "output": "2 logits", "loss": "cross-entropy", "optimizer": optimizer, "learning rate": lr,
           "epochs": epochs, "batch sizes": batch_sizes, "seeds": seeds,
           "initialisation": "PyTorch default (Kaiming-uniform), drawn from the seed"}, name="value").to_frame()

# %% [markdown]
# ## (d) Batch sizes 2, 16, 128 and 1024
#
# Only the batch size changes. The models of one batch size (one per seed) are trained together, as one network
# made of independent models, each on its own seed's data; the training time of a batch size is therefore stated
# once, for all its seeds together, and per model as an equal share of it. Time is the wall time of the training
# loop only (evaluation excluded). Accuracies are in %; one row per batch size and seed:

# %%
configs = [TrainConfig(hidden=hidden, activation=activation, optimizer=optimizer, lr=lr, epochs=epochs,
                       batch_size=b, seed=s) for s in seeds for b in batch_sizes]
with run.phase("train"):
    results, curves = sweep_configs(configs, load, out_features=2, store=run.rows("results"),
                                    curves_store=run.rows("curves", per_epoch=True), val_curves=False)
tables.readable(results, ["time_share_s", "train_acc", "val_acc", "test_acc", "diverged"], ["batch_size", "seed"])

# %%
trained = results[~results.diverged]
summary = tables.mean_std(trained, ["batch_size"], ["train_acc", "val_acc", "test_acc"], digits=2).rename_axis("batch size")
summary.columns = ["train acc (%)", "val acc (%)", "test acc (%)"]
# the seeds of a batch size train in one stack: its wall time is theirs together; per model, an equal share
summary.insert(0, "training time, all seeds (s)", trained.groupby("batch_size").time_share_s.sum().round(2))
summary.insert(1, "per model (s)", trained.groupby("batch_size").time_share_s.mean().round(2))
run.save_table(summary, "summary")
if results.diverged.any():
    print("Diverged (non-finite loss), left out of the summary:", results.loc[results.diverged, ["batch_size", "seed"]].to_dict("records"))
summary

# %%
fig, axes = plt.subplots(2, 2, figsize=(7.2, 6))  # printed at its own size: text at 8 pt or more
axes = axes.ravel(); axes[3].axis("off")
plots.mean_band(axes[0], trained, "batch_size", "time_share_s", logx=True)
accuracy = trained.melt(id_vars="batch_size", value_vars=["train_acc", "val_acc", "test_acc"], var_name="split",
                        value_name="accuracy (%)")
accuracy["split"] = accuracy.split.str.removesuffix("_acc")
plots.mean_band(axes[1], accuracy, "batch_size", "accuracy (%)", by=["split"], logx=True)
axes[1].legend(title="split")
plots.learning_curves(axes[2], curves[curves.batch_size.isin(trained.batch_size)], ["batch_size"])
axes[2].set_yscale("log"); axes[2].legend(); axes[2].set_title("training loss, mean over seeds")
axes[0].set_title("training time"); axes[1].set_title("accuracy, mean ± std over seeds")
fig.tight_layout(); run.save_figure(fig, "batch_size"); plt.show()

# %% [markdown]
# ### What the numbers show
#
# Each sentence below is computed from the tables above, so it stays true when the notebook is rerun with other
# parameters. The batch size chosen as best is the one with the highest mean *validation* accuracy; the test
# accuracy is reported for it, never used to choose.

# %%
display(Markdown(q1.findings(trained, epochs, len(splits.train), setting=f"{optimizer} at learning rate {lr:g}")))

# %% tags=["machinery"]
run.finish(headline=q1.headline(trained))
