# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] tags=["assignment"]
# # Question 3 — class imbalance, F1 with only 1 % of the "1"s
#
# **What the assignment asks**
#
# - **(a)** Build the imbalanced data set, every "0" and only 1 % of the "1"s.
# - **(b)** Write the training loop and the evaluation, with the F1 score.
# - **(c)** Train the MLP ignoring the imbalance; report its hyper-parameters and its test F1 score (the baseline).
# - **(d)** Try modifications against the imbalance; report them and their test F1 scores.
# - **(e)** Propose new ways that stay stable and satisfactory for large N = 500, 1000, ...

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from mnist_hw.notebook import ParameterGuard, SimpleMLP, TrainConfig, open_run, plots, tables
from mnist_hw.questions import q3

guard = ParameterGuard(globals())

# %% tags=["parameters"]
N_list: list[int] = [100, 250, 500, 750, 1000, 1250, 1500, 1750, 2000, 5000]  # keep 1 in N of the ones; 100 is the 1 % case
methods: list[str] = ["baseline", "weighted", "resampled", "logit_adjusted", "focal", "threshold", "augmented", "augmented_gap", "centroid", "autoencoder"]  # methods to compare (each described in section (d))
seeds: list[int] = [0, 1, 2, 3, 4]  # one run per seed (subsample, split, init, shuffling); tables show mean ± std
epochs: int = 5  # passes over the training split
hidden: int = 4  # hidden units of the 784-h-2 MLP (the earlier report used 4, ReLU)
lr: float = 1e-3  # Adam learning rate
batch_size: int = 64  # minibatch size (the earlier report used 64)
ae_hidden: int = 32  # hidden units of the one-class autoencoder 784-h-784
ae_quantile: float = 0.99  # the autoencoder flags errors above this quantile of validation zeros
aug_hidden: int = 16  # hidden units of the augmented / augmented_gap MLP 784-h-2
device: str = "auto"  # auto (cuda > cpu; mps only by name) | cpu | cuda | mps
workers: int = 0  # speed: N values trained at the same time, each on its share of the CPU threads (0: one per CPU thread on the CPU, 1 on a GPU)
data_root: str = ""  # folder holding MNIST/raw/ (empty: $MNIST_HW_DATA, else data/ in the repository)
run_dir: str = ""  # folder for this run's CSVs, figures and manifest (empty: runs/q3-<hash of parameters and code>)

# %% tags=["machinery"]
# Check every parameter before any data is loaded or any model trained, then open this run's folder (its CSVs,
# figures and manifest; rerunning the same parameters resumes from the rows already there).
params = guard.check(globals(), q3.rules())
run = open_run(q3, params, device)
dev = run.device
parallel = q3.resolve_workers(workers, dev)  # N values trained at the same time
print(run.describe())

# %% [markdown]
# ## (a) The imbalanced data
#
# We keep every "0" of MNIST and a seeded random 1/N of the "1"s (N = 100 is the assignment's 1 % case, larger N
# the follow-up), and split the kept training images 80/20 *per class* into training and validation. Counts for
# the first seed (other seeds draw other "1"s, the same numbers); every "0" is kept, so the "0"s and their split
# never depend on N. The training prior π is the share of "1"s in training.

# %%
with run.phase("data"):
    datasets = {N: q3.data.load_imbalanced(N, seeds[0], data_root or None) for N in N_list}
counts = pd.DataFrame({N: {'train "1"s': d.counts().loc["train", '"1"s'], 'val "1"s': d.counts().loc["val", '"1"s'],
                          'sparse test "1"s': d.counts().loc["test (sparse)", '"1"s'], "training prior π (%)": f"{100 * d.prior:.3g}"}
                       for N, d in datasets.items()}).T.rename_axis("N")
zeros, ones = (next(iter(datasets.values())).counts()[digit] for digit in ('"0"s', '"1"s'))
print(f'"0"s: {zeros["train"]} train, {zeros["val"]} validation, {zeros["test (full)"]} test; '
      f'"1"s in the full test set: {ones["test (full)"]}')
counts.T

# %% [markdown]
# ## (b) The training loop, the evaluation and the F1 score
#
# **Which F1 answers "does it work at large N"?** A test set sparsified like the training data holds no "1" at all
# from N ≈ 1135 on, and the full test set is 54 % "1"s — nothing like the data the model is trained for. So methods
# are ranked by the **F1 at the training prior π**: TPR on the 1135 test "1"s and FPR on the 980 test "0"s, with
# precision recomputed as π·TPR / (π·TPR + (1−π)·FPR). Its **95 % interval** comes from exact (Clopper–Pearson)
# intervals for both rates: with no false positive among 980 "0"s the FPR may still be up to ≈ 0.004, which at
# π ≈ 2·10⁻⁴ allows an F1 near 0.1 — the test set then *cannot certify* a good result, and the notebook says so.
# The sparse test set and the full test set stay as secondary views. Every choice (a family's weighting, the
# ranking order, thresholds) uses training and validation data only.
#
# The code: the training of the cross-entropy family (all its models trained together on the same minibatches),
# the evaluation of every model on every split, and the F1 score from the confusion counts; the F1 at the prior π
# from the true- and false-positive rates.

# %%
q3.answers.loop_code()

# %%
cfg = TrainConfig(hidden=hidden, activation="relu", optimizer="adam", lr=lr, epochs=epochs, batch_size=batch_size)
with run.phase("train"):
    results = q3.sweep.sweep(N_list, seeds, methods, cfg, ae_hidden=ae_hidden, ae_quantile=ae_quantile, aug_hidden=aug_hidden,
                          root=data_root or None, device=dev, store=run.rows("results", q3.sweep.ROW_KEY), workers=parallel)
# the earlier report's row-by-row layout (N, weight, times, accuracies, F1) stays available as a CSV
report_columns = ["train_time_s", "train_acc", "val_acc", "test_acc", "full_acc", "f1_val", "f1_test", "f1_full", "f1_prior"]
run.save_table(tables.mean_std(results, ["method", "N", "weight"], report_columns, 3), "seed_tables")
print(f"{len(results)} models trained and scored (one per N, seed and method or weighting)")

# %%
study = q3.answers.Study(results, test_zeros=int(zeros["test (full)"]), test_ones=int(ones["test (full)"]))
priors = pd.Series({N: d.prior for N, d in datasets.items()})  # the training prior π of each N
small, large = study.small, study.large

# %% [markdown]
# ## (c) The baseline: plain cross-entropy, imbalance ignored
#
# The earlier report's MLP 784-4-2 (ReLU), trained with Adam on minibatches of 64; one row per N, mean ± std over
# seeds.

# %%
print(SimpleMLP(784, hidden, 2, "relu"), f"Adam, learning rate {lr:g}, {epochs} epochs, batch size {batch_size}, seeds {seeds}", sep="\n")

# %%
if "baseline" in methods:
    display(q3.answers.baseline_table(results))

# %%
if "baseline" in methods:
    display(Markdown(q3.answers.baseline_answer(study, counts['sparse test "1"s'])))

# %% [markdown]
# ## (d) Modifications against the imbalance
#
# The methods compared, each in one sentence:

# %%
display(Markdown(q3.answers.methods_text(methods)))

# %% [markdown]
# ### Weighted loss
#
# Class-weighted cross-entropy (torch's weighted mean) with the "1"s up-weighted by the earlier report's factors 1, N/10, N/2
# and n0/n1 (full compensation). Table: F1 at the training prior per N and factor, mean ± std over seeds.

# %%
if "weighted" in methods:
    display(q3.answers.family_table(results, "weighted"))

# %%
if "weighted" in methods:
    display(Markdown(q3.answers.weighted_answer(study)))

# %% [markdown]
# ### Resampling
#
# Minibatches drawn with replacement, the "1"s drawn with the same factors (what `WeightedRandomSampler` does).
# Table: F1 at the training prior, mean ± std over seeds.

# %%
if "resampled" in methods:
    display(q3.answers.family_table(results, "resampled"))

# %%
if "resampled" in methods:
    display(Markdown(q3.answers.resampled_answer(study, counts.loc[large, 'train "1"s'])))

# %% [markdown]
# ## (e) A proposal for large N: `augmented_gap`
#
# At N = 5000 training holds **one** "1" (and validation none), and at π ≈ 2·10⁻⁴ a useful detector must flag
# essentially no "0": a false-positive rate equal to π already halves precision. So the method needs (i) a score with a
# wide gap between "0"s and "1"s and (ii) a threshold placed in that gap from validation "0"s alone:
#
# 1. **More "1"s:** the few training "1"s are topped up with random distortions until they are a tenth as many as the
#    "0"s: rotation ±25°, scale ±20 %, shear, shift, and a random stroke width (3×3 grey erosion or dilation) —
#    handwriting varies in exactly these ways, and recall on thick or slanted "1"s is what a single "1" lacks.
#    An MLP 784-`aug_hidden`-2 is trained on "0"s plus these "1"s (plain cross-entropy).
# 2. **Threshold in the gap:** 1185 validation "0"s cannot show an FPR below ≈ 1/1185, far above π. So the upper tail
#    of their scores is modelled as exponential (peaks over threshold, top 25 scores), which extrapolates the FPR
#    beyond the highest "0"; recall is read off fresh distortions of the labelled "1"s (never trained on). The
#    threshold maximises the F1 expected at π. The same model at threshold 0 is the `augmented` row.
#
# Nothing in the notebook chooses on the test set. The model's settings (hidden units 16 rather than the earlier report's 4,
# "1"s at a tenth of the "0"s) are the best of a small grid that `benchmarks/q3_tuning.py` scores on data that is
# **not** the test set: recall on the training-set "1"s that the 1-in-N sparsification dropped (never seen by the
# method) and false positives on a held-out half of the validation "0"s. That half (about 590 "0"s) cannot show a
# false-positive rate below ≈ 0.002, so the threshold rule is chosen by cross-fitting instead: the
# training "0"s are cut into five parts, each model trains without one part, and its false positives are counted on
# that part, so every training "0" is scored by a model that never saw it (about 4 740 per N and seed, four times the
# validation "0"s). By that measure the settings above, with the point estimate of the tail over the top 25 scores,
# beat the top 50 and 100, heavier-tailed rules (the scale's upper 90 % or 99 % confidence bound), an average of
# three models, 64 hidden units and a share of 0.3 (the Reproducibility appendix says where the numbers are). During development, exploratory runs also printed test rates; the tuning
# is what justifies the settings.

# %%
if "augmented_gap" in methods:
    proposal = q3.answers.proposal_table(study, counts['train "1"s'], priors)
    run.save_table(proposal, "proposal")
    display(proposal)

# %%
if "augmented_gap" in methods:
    display(Markdown(q3.answers.proposal_answer(study, priors)))

# %% [markdown]
# ### All methods: ranking and F1 against N
#
# One representative per family, its weighting chosen on validation F1; families ordered by their validation F1 at
# the hardest N where validation still holds a "1" (mean over seeds); how ties are broken is stated below the table. Validation cannot see beyond that N (it holds no
# "1" there), and `threshold` and `augmented_gap` place their thresholds above the validation "0"s, so their
# validation F1 is optimistic. The other columns are test results, reported, never used to choose.

# %%
rank = q3.scores.ranking(results)
run.save_table(rank, "ranking", index=False)
q3.answers.ranking_table(rank, large)

# %%
display(Markdown(q3.answers.tie_break(rank)))

# %%
fig = plots.f1_panels(rank, q3.scores.representatives(results))
run.save_figure(fig, "f1_vs_N"); plt.show()

# %%
display(Markdown(q3.answers.summary(study, rank, counts['val "1"s'])))

# %% tags=["machinery"]
headline = q3.scores.headline_table(results, rank)  # augmented_gap, the proposal, fixed by design: test results, reported
run.save_table(headline, "headline", index=False)
run.finish(headline=q3.answers.headline(headline))
