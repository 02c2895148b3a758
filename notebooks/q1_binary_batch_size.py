# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Q1 — Binary MLP, digit 0 vs 1: the effect of batch size
#
# We keep the MNIST images of the digits 0 and 1 (train and test), split the training images at random into
# 80 % training and 20 % validation, and train a one-hidden-layer MLP 784-h-2 with cross-entropy. Everything
# but the batch size is held fixed while we sweep batch sizes 2, 16, 128 and 1024, and we report the training
# time and the train / validation / test accuracy. Every run is repeated over several seeds (one seed fixes the
# split, the initialisation and the shuffling) and tables show mean ± std over seeds.
#
# The machinery lives in the `mnist_hw` package; this notebook holds parameters, calls and plots. Every run writes
# its CSVs, figures and a `manifest.json` (parameters, versions, device, timings) into its own run folder, printed
# below; rerunning the same parameters resumes from the rows already there. Headless:
# `papermill notebooks/q1_binary_batch_size.ipynb out.ipynb -p epochs 3 -y '{batch_sizes: [16, 64]}'`.

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from mnist_hw.questions import q1
from mnist_hw.runs.guard import ParameterGuard
from mnist_hw.engine.data import load_splits
from mnist_hw.engine.models import SimpleMLP
from mnist_hw.questions.plots import learning_curves, log2_axis, mean_band
from mnist_hw.questions.tables import mean_std
from mnist_hw.runs.folder import open_run
from mnist_hw.runs.sweep import sweep_configs
from mnist_hw.engine.train import CONFIG_KEY, TrainConfig
from mnist_hw.engine.device import resolve_device

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

# %%
# Check every parameter before any data is loaded or any model trained, then open this run's folder.
params = guard.check(globals(), q1.rules())
dev = resolve_device(device)
run = open_run(q1, params, dev)
print(run.describe())

# %% [markdown]
# ## Data
#
# Digits 0 and 1 only; pixels are standardised with the MNIST mean and standard deviation; the random 80/20
# split of the training images depends on the seed. The sizes below are for the first seed (every seed gives
# the same sizes).

# %%
# NBVAL_CHECK_OUTPUT
# (nbval reruns this cell with the tiny test parameters, same first seed, and compares its output with the record)
load = lambda seed: load_splits(digits=(0, 1), seed=seed, root=data_root or None, device=dev)
with run.phase("data"):
    splits = load(seeds[0])
pd.DataFrame({"images": splits.sizes(),
              "share of 1s": {k: f"{getattr(splits, k).y.float().mean().item():.1%}" for k in splits.sizes()}})

# %% [markdown]
# ## Model and training details
#
# One hidden layer, two output logits, softmax cross-entropy; the same configuration for every batch size. The
# models of one batch size (one per seed) train together in one lockstep stack, each on its own seed's data and
# minibatch stream (see `mnist_hw.engine.stack.MLPStack`); the time reported for them is that stack's wall time,
# shared by its models (`models_in_step`).

# %%
print(SimpleMLP(784, hidden, 2, activation))
pd.Series({"input": "784 standardised pixels", "hidden units": hidden, "activation": activation,
           "output": "2 logits", "loss": "cross-entropy", "optimizer": optimizer, "learning rate": lr,
           "epochs": epochs, "batch sizes": batch_sizes, "seeds": seeds, "device": str(dev),
           "initialisation": "PyTorch default (Kaiming-uniform), drawn from the seed"}, name="value").to_frame()

# %% [markdown]
# ## Batch-size sweep
#
# Time is the wall time of the training loop only (evaluation excluded; on a GPU the clock is read after a
# synchronisation). `time_s` is the wall time of the stack that trained the row (all seeds of one batch size
# together, `models_in_step` models); `time_share_s` is one model's equal share of it. Accuracies are in %.

# %%
configs = [TrainConfig(hidden=hidden, activation=activation, optimizer=optimizer, lr=lr, epochs=epochs,
                       batch_size=b, seed=s) for s in seeds for b in batch_sizes]
with run.phase("train"):
    results, curves = sweep_configs(configs, load, out_features=2, store=run.rows("results", CONFIG_KEY),
                                curves_store=run.rows("curves", [*CONFIG_KEY, "epoch"]), val_curves=False)
results[["batch_size", "seed", "models_in_step", "time_s", "time_share_s", "train_acc", "val_acc", "test_acc", "diverged"]].round(3)

# %%
trained = results[~results.diverged]
summary = mean_std(trained, ["batch_size"], ["train_acc", "val_acc", "test_acc"], digits=2)
summary.columns = ["train acc (%)", "val acc (%)", "test acc (%)"]
# the seeds of a batch size train in one stack: its wall time is theirs together; per model, an equal share
summary.insert(0, "training time, all seeds (s)", trained.groupby("batch_size").time_share_s.sum().round(2))
summary.insert(1, "per model (s)", trained.groupby("batch_size").time_share_s.mean().round(2))
run.save_table(summary, "summary")
if results.diverged.any():
    print("Diverged (non-finite loss), left out of the summary:", results.loc[results.diverged, ["batch_size", "seed"]].to_dict("records"))
summary

# %%
fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
mean_band(axes[0], trained, "batch_size", "time_share_s", logx=True)
accuracy = trained.melt(id_vars="batch_size", value_vars=["train_acc", "val_acc", "test_acc"], var_name="split",
                        value_name="accuracy (%)")
accuracy["split"] = accuracy.split.str.removesuffix("_acc")
mean_band(axes[1], accuracy, "batch_size", "accuracy (%)", by=["split"], logx=True)
axes[1].legend(title="split")
learning_curves(axes[2], curves[curves.batch_size.isin(trained.batch_size)], ["batch_size"])
axes[2].set_yscale("log"); axes[2].legend(); axes[2].set_title("training loss, mean over seeds")
axes[0].set_title("training time"); axes[1].set_title("accuracy, mean ± std over seeds")
fig.tight_layout(); run.save_figure(fig, "batch_size"); plt.show()

# %% [markdown]
# ## What the numbers show
#
# The findings below are written by `mnist_hw.questions.q1` from the tables above, so they stay true when the
# notebook is rerun with other parameters. The batch size chosen as best is the one with the highest mean
# *validation* accuracy; the test accuracy is reported for it, never used to choose.

# %%
display(Markdown(q1.findings(trained, epochs, len(splits.train), setting=f"{optimizer} at learning rate {lr:g}")))

# %%
run.finish(headline=q1.headline(trained))
