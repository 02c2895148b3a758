# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Q2 — Ten digits: the training loop, a hyper-parameter grid and what it shows
#
# A one-hidden-layer MLP 784-h-10 with cross-entropy classifies all ten digits. We first write the training loop
# the assignment asks for (a plain `nn.Module` + `torch.optim` loop) and check that the fast engine used for the
# grid computes the same thing. Then we train the grid — batch size × (optimizer, learning rate) × hidden units ×
# activation — on one seeded 80/20 train/validation split, report training time and train / validation / test
# accuracy, retrain the best configurations over several seeds to measure how much of the grid's differences is
# noise, widen the hidden layer, and analyse the results.
#
# Every choice below (best configuration, highlights, the configurations of the seed study) is made on
# **validation** accuracy; test accuracy is reported, never used to choose. Headless example:
# `papermill notebooks/q2_ten_digits_grid.ipynb out.ipynb -p epochs 2 -y '{hidden_sizes: [32, 128], batch_sizes: [128]}'`.

# %%
import inspect

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from mnist_hw.engine import classic
from mnist_hw.questions import q2
from mnist_hw.runs.guard import ParameterGuard
from mnist_hw.engine.data import load_splits
from mnist_hw.engine.stack import MLPStack
from mnist_hw.engine.models import SimpleMLP, seeded
from mnist_hw.questions.plots import learning_curves, log2_axis
from mnist_hw.questions.tables import best_by_validation, highlight_best, mean_std
from mnist_hw.runs.folder import open_run
from mnist_hw.engine.lockstep import train_group
from mnist_hw.runs.sweep import resolve_workers, sweep_configs
from mnist_hw.engine.train import CONFIG_KEY, TrainConfig, fit
from mnist_hw.engine.device import resolve_device

guard = ParameterGuard(globals())

# %% tags=["parameters"]
batch_sizes: list[int] = [64, 128, 1024]  # minibatch sizes of the grid
optimizers: list[str] = ["adam", "sgd"]  # optimizers of the grid, each paired with the learning rate at the same position in lrs
lrs: list[float] = [1e-3, 1e-2]  # learning rate of each optimizer
hidden_sizes: list[int] = [4, 32, 64, 128]  # hidden units of the grid
activations: list[str] = ["sigmoid", "relu"]  # hidden activations of the grid
epochs: int = 10  # passes over the training split
schedule: str = "cosine"  # learning-rate schedule: constant, or cosine decay to 0 over training
seed: int = 0  # the grid's seed: fixes the split, every initialisation and the shuffling
noise_top: int = 2  # the best grid configurations (by validation accuracy) retrained over noise_seeds
noise_seeds: list[int] = [0, 1, 2, 3, 4]  # seeds of that study (split, init, shuffling); empty list to skip
extension_hidden: list[int] = [256, 800]  # wider hidden layers trained with the best grid setting, up to Simard et al.'s 800 (empty list to skip)
lockstep: bool = True  # train configurations that share a minibatch stream together (False: one at a time)
workers: int = 0  # stacks trained at the same time, each on a share of the CPU threads (0: one per CPU thread on the CPU, 1 on a GPU)
device: str = "auto"  # auto (cuda > cpu; mps only by name) | cpu | cuda | mps
data_root: str = ""  # folder holding MNIST/raw/ (empty: $MNIST_HW_DATA, else data/ in the repository)
run_dir: str = ""  # folder for this run's CSVs, figures and manifest (empty: runs/q2-<hash of parameters and code>)

# %%
# Check every parameter before any data is loaded or any model trained, then open this run's folder.
params = guard.check(globals(), q2.rules())
dev = resolve_device(device)
run = open_run(q2, params, dev)
print(run.describe())

# %% [markdown]
# ## Data
#
# All ten digits, pixels standardised with the MNIST mean and standard deviation, a seeded 80/20 random split of
# the training images, and the official test set.

# %%
# NBVAL_CHECK_OUTPUT
# (nbval reruns this cell with the tiny test parameters, same first seed, and compares its output with the record)
load = lambda s: load_splits(digits=range(10), seed=s, root=data_root or None, device=dev)
with run.phase("data"):
    splits = load(seed)
pd.Series(splits.sizes(), name="images").to_frame().T

# %% [markdown]
# ## The training loop
#
# This is the loop the assignment asks for, as it lives in `mnist_hw.engine.classic`: a model, cross-entropy, autograd and
# a `torch.optim` optimizer, one step per minibatch of a seeded random permutation.

# %%
# NBVAL_CHECK_OUTPUT
# (nbval reruns this cell with the tiny test parameters, same first seed, and compares its output with the record)
print(inspect.getsource(classic.train))

# %% [markdown]
# Training every grid model with that loop pays PyTorch's per-step overhead once per model and step. The grid therefore runs on
# `mnist_hw`'s lockstep engine (`MLPStack` + `fit`): models that share a minibatch stream are stacked — their hidden
# layers concatenated into one matrix product, each output layer applied to its own units only — with the backward
# pass written out by hand. Before trusting it, the check below trains two models (one sigmoid, one ReLU) for one
# epoch on 4 096 training images with both the loop above and the engine, from the same initial weights and on the
# same minibatches, and compares the weights: the largest difference relative to the tensor's scale, max |a − b| /
# max(|a| + |b|) (float32 rounding alone gives about 1e-7 per operation, and it grows slowly over steps; cs231n's
# element-wise ratio would be dominated by the weights that sit near zero).

# %%
check = splits.train.subset(slice(0, 4096))
setting = dict(epochs=1, batch_size=64, optimizer=optimizers[0], lr=lrs[0], schedule=schedule, seed=seed)
alone = [seeded(seed, SimpleMLP, 784, 32, 10, a).to(dev) for a in ("sigmoid", "relu")]
stack = MLPStack([seeded(seed, SimpleMLP, 784, 32, 10, a) for a in ("sigmoid", "relu")], dev)
for model in alone:
    classic.train(model, check, **setting)
fit(stack, check, TrainConfig(**setting))
errors = {f"{a} {name}": classic.relative_error(p_engine, p_loop)
          for a, engine, loop in zip(("sigmoid", "relu"), stack.to_models(), alone)
          for (name, p_engine), p_loop in zip(engine.named_parameters(), loop.parameters())}
print("\n".join(f"relative error {k:<18} {v:.1e}" for k, v in errors.items()))
assert max(errors.values()) < 1e-4, "the engine disagrees with the reference loop"
print(f"largest: {max(errors.values()):.1e} < 1e-4 after {-(-len(check) // 64)} steps: the engine trains the same models as the loop")

# %% [markdown]
# ## Model and training details
#
# The largest model of the grid is printed; the others differ only in hidden units and activation.

# %%
parallel = resolve_workers(workers, dev)  # stacks trained at the same time
print(SimpleMLP(784, max(hidden_sizes), 10, activations[-1]))
pd.Series({"input": "784 standardised pixels", "output": "10 logits", "loss": "cross-entropy",
           "hidden units": hidden_sizes, "activations": activations, "batch sizes": batch_sizes,
           "optimizer (learning rate)": [f"{o} ({lr:g})" for o, lr in zip(optimizers, lrs)],
           "learning-rate schedule": schedule, "epochs": epochs, "seed": seed, "device": str(dev),
           "training": ("lockstep stacks, one per minibatch stream" if lockstep else "one model at a time")
                       + (f"; {parallel} trained at the same time, sharing the CPU threads" if parallel > 1 else ""),
           "initialisation": "PyTorch default (Kaiming-uniform), drawn from the seed"}, name="value").to_frame()

# %% [markdown]
# ## The grid
#
# Accuracies in %. `time_s` is the wall time of the training loop that trained the row: in lockstep mode that is
# the whole stack's time, shared by its `models_in_step` models; `time_share_s` splits it in proportion to each
# model's arithmetic (its hidden units), an estimate of what the model costs within the stack. With `workers`
# above 1 (the default on a multi-core CPU) several stacks train at the same time, each on its share of the CPU
# threads, so every time is measured beside the other stacks. Highlighted: the best
# configuration by **validation** accuracy for each optimizer (yellow for the first optimizer, orange for the
# others) and the worst by validation accuracy (red).

# %%
configs = [TrainConfig(hidden=h, activation=a, optimizer=o, lr=lr, epochs=epochs, batch_size=b, seed=seed, schedule=schedule)
           for b in batch_sizes for o, lr in zip(optimizers, lrs) for h in hidden_sizes for a in activations]
with run.phase("grid"):
    grid, curves = sweep_configs(configs, lambda s: splits, out_features=10, lockstep=lockstep, workers=parallel,
                             store=run.rows("results", CONFIG_KEY), curves_store=run.rows("curves", [*CONFIG_KEY, "epoch"]))
shown = grid.drop(columns=["seed", "epochs", "schedule"])
shown.style.set_uuid("grid").apply(highlight_best, axis=None, by="optimizer", score="val_acc").format(precision=2)

# %%
ok = grid[~grid.diverged]  # a diverged model (non-finite loss) has no accuracy to compare
if grid.diverged.any():
    print(f"{grid.diverged.sum()} of {len(grid)} configurations diverged and are left out of every comparison:")
    display(grid.loc[grid.diverged, ["batch_size", "optimizer", "lr", "hidden", "activation"]])
fig, axes = plt.subplots(1, len(batch_sizes), figsize=(4.5 * len(batch_sizes), 3.6), sharey=True, squeeze=False)
for ax, b in zip(axes[0], batch_sizes):
    for (o, a), df in ok[ok.batch_size == b].groupby(["optimizer", "activation"]):
        ax.plot(df.hidden, df.val_acc, marker="o", label=f"{o}, {a}")
    if len(hidden_sizes) > 1:
        log2_axis(ax, hidden_sizes)
    ax.set_title(f"batch {b}"); ax.set_xlabel("hidden units"); ax.grid(alpha=0.3)
axes[0][0].set_ylabel("validation accuracy (%)"); axes[0][-1].legend()
fig.tight_layout(); run.save_figure(fig, "accuracy_vs_hidden"); plt.show()

# %%
stacks = grid.groupby(["batch_size", "optimizer", "lr"], sort=False)
times = stacks.time_share_s.sum()
fig, ax = plt.subplots(figsize=(8, 0.5 + 0.4 * len(times)))
ax.barh([f"batch {b}, {o} lr {lr:g}" for b, o, lr in times.index], times.values)
ax.set_xlabel("training wall time (s)")
ax.set_title("training time per (batch size, optimizer): " + ("one lockstep stack each" if lockstep else "sum over its models, one at a time")
             + (f", {parallel} at a time" if parallel > 1 else ""))
fig.tight_layout(); run.save_figure(fig, "time"); plt.show()
print(f"whole grid: {times.sum():.1f} s of training, summed over its stacks, for {len(grid)} configurations"
      + (f" ({parallel} stacks trained at a time, so the grid took less wall time: phases_s in manifest.json)" if parallel > 1 else ""))

# %%
top = best_by_validation(ok, "val_acc", by=["optimizer"])
pick = curves.merge(top[CONFIG_KEY], on=CONFIG_KEY) if len(top) else curves.head(0)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
learning_curves(axes[0], pick, ["optimizer", "batch_size", "hidden", "activation"], "train_loss"); axes[0].set_yscale("log")
learning_curves(axes[1], pick, ["optimizer", "batch_size", "hidden", "activation"], "val_acc"); axes[1].legend(fontsize=8)
fig.suptitle("learning curves of the best configuration per optimizer (chosen on validation accuracy)")
fig.tight_layout(); run.save_figure(fig, "learning_curves"); plt.show()

# %% [markdown]
# ## How much of the grid is noise?
#
# One seed per configuration cannot tell a real difference from luck: the split, the initialisation and the order
# of the minibatches all move the accuracy a little. The `noise_top` best configurations (by validation accuracy)
# are retrained over `noise_seeds`; the seeds of one configuration train together in one stack, each on its own
# split and minibatch stream. At the grid's own seed the grid's row is that run, so it is reused, not trained twice.

# %%
ranked = best_by_validation(ok, "val_acc", n=noise_top if noise_seeds else 0)
noise_configs = [TrainConfig(**{**{k: r[k] for k in CONFIG_KEY}, "seed": s}) for _, r in ranked.iterrows() for s in noise_seeds]
with run.phase("noise"):
    noise, _ = sweep_configs(noise_configs, load, out_features=10, lockstep=lockstep, store=run.rows("noise", CONFIG_KEY),
                         val_curves=False, reuse=grid, workers=parallel)  # the grid's own seed is already trained: its rows are reused
config_cols = ["batch_size", "optimizer", "lr", "hidden", "activation"]
noise_table = mean_std(noise[~noise.diverged], config_cols, ["val_acc", "test_acc"], digits=2) if len(noise) else pd.DataFrame()
noise_table

# %% [markdown]
# ## Wider hidden layers
#
# The best grid setting (by validation accuracy) is retrained with wider hidden layers, to see how close one
# hidden layer gets to the 98.4 % that Simard et al. (2003) report for 800 hidden units.

# %%
b0 = best_by_validation(ok, "val_acc").iloc[0] if len(ok) else None
wide_configs = [TrainConfig(hidden=h, activation=b0.activation, optimizer=b0.optimizer, lr=b0.lr, epochs=epochs,
                            batch_size=int(b0.batch_size), seed=seed, schedule=schedule)
                for h in (extension_hidden if b0 is not None else [])]
with run.phase("wide"):
    wide, _ = sweep_configs(wide_configs, lambda s: splits, out_features=10, lockstep=lockstep, store=run.rows("wide", CONFIG_KEY),
                        val_curves=False, workers=parallel)
if b0 is None:
    print("Every grid configuration diverged: no setting to widen.")
same = ok[(ok.activation == b0.activation) & (ok.optimizer == b0.optimizer) & (ok.batch_size == b0.batch_size)] if b0 is not None else ok
both = (pd.concat([same, wide[~wide.diverged]] if len(wide) else [same], ignore_index=True)
        .drop_duplicates("hidden", keep="last").sort_values("hidden").reset_index(drop=True))
fig, ax = plt.subplots(figsize=(6, 3.6))
for split in ("val", "test"):
    if len(both):
        ax.plot(both.hidden, both[f"{split}_acc"], marker="o", label=f"{split} ({b0.optimizer}, {b0.activation}, batch {b0.batch_size})")
ax.axhline(98.4, color="gray", ls="--", label="Simard et al. 2003, 800 hidden units (test)")
if len(both):
    log2_axis(ax, both.hidden)
ax.set_xlabel("hidden units"); ax.set_ylabel("accuracy (%)"); ax.grid(alpha=0.3); ax.legend(fontsize=8)
fig.tight_layout(); run.save_figure(fig, "wider_hidden"); plt.show()
both[["hidden", "time_s", "train_acc", "val_acc", "test_acc"]].round(2)

# %% [markdown]
# ## Analysis
#
# Each statement below is written by `mnist_hw.questions.q2` from the tables above (validation accuracy for every
# comparison that picks a winner; test accuracy only reported), so it stays true when the notebook is rerun with
# other parameters.

# %%
display(Markdown(q2.analysis(ok, noise, both if len(wide) else None, epochs, len(splits.train), len(noise_seeds))))

# %% [markdown]
# ## Challenges faced
#
# * **Cost.** The grid's configurations, trained one at a time with the textbook loop above, spend most of their
#   time in per-step overhead, not arithmetic. Stacking the models of one minibatch stream into one network, with
#   the backward pass written out, turns many small problems into one large matrix product per stream (the benchmark, `make bench`, measures the
#   speed-up against the textbook pipeline on this machine).
# * **Trusting the fast engine.** A hand-written backward pass is easy to get subtly wrong (an activation's
#   derivative, an output activation). The inline check above compares it with autograd and `torch.optim` on the
#   same data; the unit tests compare every activation's gradient with autograd.
# * **Honest timing.** Models trained in one stack share one wall time. The table gives both the shared time and a
#   per-model estimate proportional to each model's arithmetic, and the plot sums per stream, so no model is
#   credited with a time it did not take alone.
# * **Noise.** One run per configuration hides how much seeds move the result; the seed study measures it, and the
#   analysis says which differences it can and cannot separate.
# * **Floating point.** A model trained inside a stack and the same model trained alone agree to rounding error
#   after a few steps, but rounding differences grow over thousands of steps (and differ between thread counts
#   and devices), so reruns elsewhere match to a tolerance, not to the last digit.

# %% [markdown]
# ## Devices
#
# The earlier report found the CPU faster than the Apple GPU for these small models. When an accelerator is
# present, the cell below times one epoch of the best configuration's stack on it and on the CPU; on a CPU-only
# machine it says so.

# %%
if dev.type == "cpu" or b0 is None:
    print("No accelerator in use (device is cpu): nothing to compare." if b0 is not None else "Nothing to time: every configuration diverged.")
else:
    group = [c for c in configs if (c.batch_size, c.optimizer) == (b0.batch_size, b0.optimizer)]
    one_epoch = [TrainConfig(**{**c.__dict__, "epochs": 1}) for c in group]
    rows = {d: train_group(one_epoch, load_splits(range(10), seed=seed, root=data_root or None, device=d), 10)[0].time_s[0]
            for d in ("cpu", dev.type)}
    print(pd.Series(rows, name=f"seconds for one epoch of {len(group)} models, batch {b0.batch_size}").to_frame())

# %%
run.finish(headline=q2.headline(ok, times.sum()))
