# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Q3 — Class imbalance: 0 vs 1 with only 1/N of the "1"s
#
# We keep every "0" of MNIST and a seeded random 1/N of the "1"s (N = 100 is the assignment's 1 % case), split the
# kept training images 80/20 *per class*, and train the seed's MLP 784-4-2 (ReLU, batch 64, Adam). F1 is for the
# positive class "1" and *n/a* where a split holds no "1" (recall is 0/0 there).
#
# **Which F1 answers "does it work at large N"?** A test set sparsified like the training data holds no "1" at all
# from N ≈ 1135 on, and the full test set is 54 % "1"s — nothing like the data the model is trained for. So methods
# are ranked by the **F1 at the training prior π**: TPR on the 1135 test "1"s and FPR on the 980 test "0"s, with
# precision recomputed as π·TPR / (π·TPR + (1−π)·FPR). Its **95 % interval** comes from exact (Clopper–Pearson)
# intervals for both rates: with no false positive among 980 "0"s the FPR may still be up to ≈ 0.004, which at
# π ≈ 2·10⁻⁴ allows an F1 near 0.1 — the test set then *cannot certify* a good result, and the notebook says so.
# Protocols (a) sparse test and (b) full test stay as secondary views. Every choice (a family's weighting, the
# ranking order, thresholds) uses training and validation data only.

# %%
import math

import matplotlib.pyplot as plt
import pandas as pd
import torch
from IPython.display import Markdown, display

from mnist_hw.imbalance import load_imbalanced
from mnist_hw.metrics import Confusion, clopper_pearson, prior_f1_interval
from mnist_hw.models import SimpleMLP
from mnist_hw.checks import ParameterGuard, check_q3
from mnist_hw.remedies import FACTORS
from mnist_hw.remedy_scores import headline_table, label, ranking, representatives
from mnist_hw.remedy_sweep import KEY, sweep
from mnist_hw.results import mean_std, plus_minus
from mnist_hw.runs import open_run
from mnist_hw.training import TrainConfig, resolve_device

guard = ParameterGuard(globals())

# %% tags=["parameters"]
N_list: list[int] = [100, 250, 500, 750, 1000, 1250, 1500, 1750, 2000, 5000]  # keep 1 in N of the ones; 100 is the 1 % case
methods: list[str] = ["baseline", "weighted", "resampled", "logit_adjusted", "focal", "threshold", "augmented", "augmented_gap", "centroid", "autoencoder"]  # remedies to compare (see mnist_hw.remedies.METHODS)
seeds: list[int] = [0, 1, 2, 3, 4]  # one run per seed (subsample, split, init, shuffling); tables show mean ± std
epochs: int = 5  # passes over the training split
hidden: int = 4  # hidden units of the 784-h-2 MLP (the seed used 4, ReLU)
lr: float = 1e-3  # Adam learning rate
batch_size: int = 64  # minibatch size (the seed used 64)
ae_hidden: int = 32  # hidden units of the one-class autoencoder 784-h-784
ae_quantile: float = 0.99  # the autoencoder flags errors above this quantile of validation zeros
aug_hidden: int = 16  # hidden units of the augmented / augmented_gap MLP 784-h-2
device: str = "auto"  # auto (cuda > mps > cpu) | cpu | cuda | mps
cpu_threads: int = 1  # torch CPU threads; these matrices are too small to gain from more, and extra threads contend on shared cores
data_root: str = ""  # folder holding MNIST/raw/ (empty: $MNIST_HW_DATA, else data/ in the repository)
run_dir: str = ""  # folder for this run's CSVs, figures and manifest (empty: runs/q3-<hash of parameters and code>)

# %%
# Check every parameter before any data is loaded or any model trained, then open this run's folder.
params = guard.check(globals(), check_q3)
dev = resolve_device(device)
torch.set_num_threads(cpu_threads)
run = open_run("q3", params, dev)
print(run.describe())
cfg = TrainConfig(hidden=hidden, activation="relu", optimizer="adam", lr=lr, epochs=epochs, batch_size=batch_size)

# %% [markdown]
# ## Data and training
#
# Counts for the first seed (other seeds draw other "1"s, the same numbers). Every "0" is kept, so the "0"s and
# their split never depend on N.

# %%
with run.phase("data"):
    datasets = {N: load_imbalanced(N, seeds[0], data_root or None) for N in N_list}
counts = pd.DataFrame({N: {'train "1"s': d.counts().loc["train", '"1"s'], 'val "1"s': d.counts().loc["val", '"1"s'],
                          'sparse test "1"s': d.counts().loc["test (sparse)", '"1"s'], "training prior π": f"{d.prior:.2e}"}
                       for N, d in datasets.items()}).T.rename_axis("N")
zeros, ones = (next(iter(datasets.values())).counts()[digit] for digit in ('"0"s', '"1"s'))
print(f'"0"s: {zeros["train"]} train, {zeros["val"]} validation, {zeros["test (full)"]} test; '
      f'"1"s in the full test set: {ones["test (full)"]}')
print(SimpleMLP(784, hidden, 2, "relu"), f"Adam lr {lr}, {epochs} epochs, batch {batch_size}, seeds {seeds}", sep="\n")
counts.T

# %%
with run.phase("train"):
    results = sweep(N_list, seeds, methods, cfg, ae_hidden=ae_hidden, ae_quantile=ae_quantile, aug_hidden=aug_hidden,
                    root=data_root or None, device=dev, store=run.rows("results", KEY))
results["label"] = label(results)
# the seed report's row-by-row layout (N, weight, times, accuracies, F1) stays available as a CSV
seed_columns = ["train_time_s", "train_acc", "val_acc", "test_acc", "full_acc", "f1_val", "f1_test", "f1_full", "f1_prior"]
run.save_table(mean_std(results, ["method", "N", "weight"], seed_columns, 3), "seed_tables")
print(f"{len(results)} rows (one per N, seed and model) in results.csv; seed-layout tables in seed_tables.csv (run folder)")


# %%
def at_prior(rows: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """F1 at the training prior (mean ± std over seeds) and the mean ends of the seeds' 95 % intervals."""
    table = mean_std(rows, by, ["f1_prior"])
    ends = rows.groupby(by)[["f1_prior_lo", "f1_prior_hi"]].mean()
    table["95 % interval"] = [f"[{lo:.2f}, {hi:.2f}]" for lo, hi in zip(ends.f1_prior_lo, ends.f1_prior_hi)]
    return table


def family(method: str) -> pd.DataFrame:
    """F1 at the training prior per weighting (rows) and N (columns), mean ± std over seeds."""
    rows = results[results.method == method]
    order = {w: i for i, w in enumerate(FACTORS)}
    return mean_std(rows, ["weight", "N"], ["f1_prior"])["f1_prior"].unstack("N").sort_index(key=lambda s: s.map(order))


def chosen(method: str) -> str:
    """The family's weighting with the best mean validation F1 (validation data only)."""
    return representatives(results[results.method == method]).weight.iloc[0]


def why(m: pd.Series) -> str:
    """What limits F1 at the prior at one N, read off the mean recall and test false positives."""
    if m.f1_prior >= 0.9:
        return f"high: recall {m.tpr_full:.3f} with {m.fp_full:.1f} test false positives on average"
    causes = []
    if m.tpr_full < 0.9:
        causes.append(f"missed \"1\"s (recall {m.tpr_full:.3f})")
    if m.fp_full >= 0.5:
        causes.append(f"false alarms ({m.fp_full:.1f} of the 980 test \"0\"s flagged on average, each worth "
                      f"an FPR of 1/980 against a prior of {m.prior:.1e})")
    return "limited by " + " and ".join(causes or ["a few seeds"])


mean = results.groupby(["label", "N"])[["f1_prior", "f1_prior_lo", "f1_full", "f1_val", "tpr_full", "fpr_full", "fp_full", "prior"]].mean()
std = results.groupby(["label", "N"])["f1_prior"].std()
small, large = min(N_list), max(N_list)

# %% [markdown]
# ## 1. Baseline: plain cross-entropy, imbalance ignored
#
# Hyper-parameters as above (the seed's 784-4-2 ReLU MLP, Adam, batch 64). One row per N; mean ± std over seeds.

# %%
if "baseline" in methods:
    base = results[results.method == "baseline"]
    table = pd.concat([mean_std(base, ["N"], ["f1_val", "f1_test", "f1_full", "tpr_full"]),
                       mean_std(base, ["N"], ["fp_full"], 1), at_prior(base, ["N"])], axis=1)
    table.columns = ["F1 val", "F1 (a) sparse test", "F1 (b) full test", "TPR (full test)", "test FP (of 980)",
                     "F1 at prior", "95 % interval"]
    display(table)

# %%
if "baseline" in methods:
    b = mean.loc["baseline"]
    worst = b.f1_prior.idxmin()
    no_ones = counts.index[counts['sparse test "1"s'] == 0]
    display(Markdown(
        f"**Your answer.** Ignoring the imbalance, the baseline's F1 at the training prior is "
        f"{b.f1_prior[small]:.3f} ± {std['baseline', small]:.3f} at N = {small} and {b.f1_prior[large]:.3f} ± "
        f"{std['baseline', large]:.3f} at N = {large} (lowest mean {b.f1_prior[worst]:.3f}, at N = {worst}). "
        f"At N = {large} it is {why(b.loc[large])}. "
        + ("Its recall falls with N: cross-entropy is then minimised almost entirely by the \"0\"s, so scoring "
           "everything \"0\" costs little. " if b.tpr_full[large] < b.tpr_full[small] else "")
        + (f"The sparse test set holds no \"1\" from N = {no_ones.min()} on, so its F1 is n/a there — one reason to "
           "rank by F1 at the training prior." if len(no_ones) else "")))

# %% [markdown]
# ## 2. Weighted loss
#
# Class-weighted cross-entropy (torch's weighted mean) with the "1"s up-weighted by the seed's factors 1, N/10, N/2
# and n0/n1 (full compensation). Table: F1 at the training prior, mean ± std over seeds.

# %%
if "weighted" in methods:
    display(family("weighted"))

# %%
if "weighted" in methods:
    w = chosen("weighted")
    m = mean.loc[f"weighted ({w})"]
    display(Markdown(
        f"**Your answer.** Chosen on validation F1, the weighting is **{w}**. Its F1 at the training prior is "
        f"{m.f1_prior[small]:.3f} at N = {small} and {m.f1_prior[large]:.3f} ± {std[f'weighted ({w})', large]:.3f} "
        f"at N = {large}: {why(m.loc[large])}. Against the baseline ({mean.loc['baseline', 'f1_prior'][large]:.3f} "
        f"at N = {large}) the weighting " + ("helps" if m.f1_prior[large] > mean.loc["baseline", "f1_prior"][large] else "does not help")
        + f"; a class weight rescales the \"1\"s' few gradients but gives the model no new \"1\" to learn from."
        if "baseline" in methods else f"at N = {large}: {why(m.loc[large])}."))

# %% [markdown]
# ## 3. Resampling
#
# Minibatches drawn with replacement, the "1"s drawn with the same factors (what `WeightedRandomSampler` does).
# Table: F1 at the training prior, mean ± std over seeds.

# %%
if "resampled" in methods:
    display(family("resampled"))

# %%
if "resampled" in methods:
    r = chosen("resampled")
    m, kept = mean.loc[f"resampled ({r})"], counts.loc[large, 'train "1"s']
    display(Markdown(
        f"**Your answer.** Chosen on validation F1, the factor is **{r}**: F1 at the training prior "
        f"{m.f1_prior[small]:.3f} at N = {small}, {m.f1_prior[large]:.3f} ± {std[f'resampled ({r})', large]:.3f} at "
        f"N = {large}: {why(m.loc[large])}. Resampling draws the same {kept} training "
        f"\"1\"(s) again and again: it adds no new \"1\"-like image, so recall at N = {large} depends on which "
        f"\"1\" a seed kept (seed std {std[f'resampled ({r})', large]:.3f})."))

# %% [markdown]
# ## 4. A proposal for large N: `augmented_gap`
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
# Nothing in the notebook chooses on the test set. The model's settings (hidden units 16 rather than the seed's 4,
# "1"s at a tenth of the "0"s) are the best of a small grid that `benchmarks/q3_tuning.py` scores on data that is
# **not** the test set: recall on the training-set "1"s that the 1-in-N sparsification dropped (never seen by the
# method) and false positives on a held-out half of the validation "0"s. That half (about 590 "0"s) cannot show a
# false-positive rate below ≈ 0.002, so the threshold rule is chosen by `q3_tuning.py --crossfit` instead: the
# training "0"s are cut into five parts, each model trains without one part, and its false positives are counted on
# that part, so every training "0" is scored by a model that never saw it (about 4 740 per N and seed, four times the
# validation "0"s). By that measure the settings above, with the point estimate of the tail over the top 25 scores,
# beat the top 50 and 100, heavier-tailed rules (the scale's upper 90 % or 99 % confidence bound), an average of
# three models, 64 hidden units and a share of 0.3 (the README's *Q3 tuning* gives the numbers). During development, exploratory runs also printed test rates; the tuning
# is what justifies the settings.

# %%
if "augmented_gap" in methods:
    gap = results[results.method == "augmented_gap"]
    per_N = gap.groupby("N")
    table = pd.concat([mean_std(gap, ["N"], ["tpr_full"]), at_prior(gap, ["N"])], axis=1)
    table.insert(0, 'train "1"s', counts['train "1"s'])
    table["lowest seed"] = per_N.f1_prior.min().round(3)
    table["test FP (all seeds)"] = per_N.fp_full.sum()
    # the best any model could show on this test set: every "1" found, no "0" flagged
    perfect = {N: prior_f1_interval(Confusion(tp=1135, fp=0, fn=0, tn=980), d.prior)[0] for N, d in datasets.items()}
    table["certifiable at best"] = pd.Series(perfect).round(3)
    table.columns = ['train "1"s', "TPR (full test)", "F1 at prior", "95 % interval", "lowest seed",
                     "test FP (all seeds)", "certifiable at best"]
    run.save_table(table, "proposal")
    display(table)

# %%
if "augmented_gap" in methods:
    g = gap.groupby("N").f1_prior.agg(["mean", "std"])
    met = (g["mean"] >= 0.9) & (g["std"].fillna(0) <= 0.1)
    uncertifiable = [N for N, v in perfect.items() if v < 0.9]
    # zeros needed so that 0 false positives bound the FPR low enough for F1 0.9 at the largest N's prior
    # (each rate at 95 % ** 0.5, as in the interval; prior_f1(1, f, π) = 0.9 at f = 2π(1/0.9 - 1) / (1 - π))
    pi = datasets[large].prior
    n_zeros = int(zeros["test (full)"])
    fpr_bound = clopper_pearson(0, n_zeros, 0.95 ** 0.5)[1]
    zeros_needed = math.ceil(math.log((1 - 0.95 ** 0.5) / 2) / math.log1p(-2 * pi * (1 / 0.9 - 1) / (1 - pi)))
    display(Markdown(
        f"**Your answer.** `augmented_gap` reaches a mean F1 at the training prior between {g['mean'].min():.3f} "
        f"(N = {g['mean'].idxmin()}) and {g['mean'].max():.3f} over N = {small}…{large}, with a seed std of at most "
        f"{g['std'].max():.3f}; the target (mean ≥ 0.9, std ≤ 0.1 over {len(seeds)} seeds) is "
        + ("met at every N." if met.all() else f"missed at N = {', '.join(map(str, g.index[~met]))}.")
        + f" Its threshold flagged {int(gap.fp_full.sum())} of the 980 test \"0\"s summed over all "
        f"{len(gap)} (N, seed) runs, while keeping a mean recall of {gap.tpr_full.mean():.3f}. "
        + (f"**The test set cannot certify this** from N = {min(uncertifiable)} on: even a perfect model (every "
           f"\"1\" found, no \"0\" flagged) has a 95 % lower bound below 0.9 there "
           f"({perfect[large]:.3f} at N = {large}), because with no false positive among {n_zeros} \"0\"s the FPR may still be up to {fpr_bound:.4f}. "
           f"Certifying F1 ≥ 0.9 there would take about {zeros_needed:,} test \"0\"s with no false positive."
           if uncertifiable else "")))

# %% [markdown]
# ## Ranking and F1 against N
#
# One representative per family, its weighting chosen on validation F1; families ordered by their validation F1 at
# the hardest N where validation still holds a "1" (mean over seeds). Validation cannot see beyond that N (it holds no
# "1" there), and `threshold` and `augmented_gap` place their thresholds above the validation "0"s, so their
# validation F1 is optimistic. The other columns are test results, reported, never used to choose.

# %%
rank = ranking(results)
run.save_table(rank, "ranking", index=False)
shown = rank.assign(**{"F1 at prior (largest N)": [f"{m:.3f} ± {s:.3f}" for m, s in zip(rank.f1_prior, rank.f1_prior_std.fillna(0))],
                       "95 % interval": [f"[{lo:.2f}, {hi:.2f}]" for lo, hi in zip(rank.f1_prior_lo, rank.f1_prior_hi)]})
shown = shown[["method", "weight", "validation_f1", "validation_f1_mean", "worst_N_f1_prior", "F1 at prior (largest N)", "95 % interval",
               "test_fp", "f1_full"]].round(3)
shown.columns = ["method", "weight", "validation F1, worst N", "validation F1, mean", "F1 at prior, worst N", f"F1 at prior, N = {large}",
                 "95 % interval", "test FP (mean)", "F1 (b) full test"]
shown

# %%
reps = representatives(results)
protocols = [("f1_test", "(a) sparse test"), ("f1_full", "(b) full test"), ("f1_prior", "(c) at training prior")]
cols = min(5, len(rank))
fig, axes = plt.subplots(-(-len(rank) // cols), cols, figsize=(3.2 * cols, 2.6 * -(-len(rank) // cols)),
                         sharex=True, sharey=True, squeeze=False)
for ax, (_, r) in zip(axes.flat, rank.iterrows()):
    rows = reps[(reps.method == r.method) & (reps.weight == r.weight)]
    for column, name in protocols:
        stats = rows.groupby("N")[column].agg(["mean", "min", "max"]).dropna()  # n/a is left out, never drawn as 0
        ax.plot(stats.index, stats["mean"], marker=".", label=name)
        ax.fill_between(stats.index, stats["min"], stats["max"], alpha=0.2)
    ax.set_title(r.method + ("" if r.weight in ("1", "-") else f" ({r.weight})"), fontsize=9)
    ax.set_xscale("log"); ax.set_ylim(-0.02, 1.02); ax.grid(alpha=0.3)
for ax in axes.flat[len(rank):]:
    ax.axis("off")
for ax in axes[-1]:
    ax.set_xlabel("N (1 in N \"1\"s kept)")
for ax in axes[:, 0]:
    ax.set_ylabel("F1 of the \"1\"s")
axes.flat[0].legend(fontsize=7, loc="lower left")
fig.suptitle("Mean over seeds, band: min–max; panels in validation ranking order", fontsize=10)
fig.tight_layout(); run.save_figure(fig, "f1_vs_N"); plt.show()

# %%
top = rank.iloc[0]
blind = next((N for N in sorted(N_list) if counts.loc[N, 'val "1"s'] == 0), None)
good_full, good_prior = int((rank.f1_full >= 0.9).sum()), int((rank.f1_prior >= 0.9).sum())
display(Markdown(
    f"**Summary.** On validation, **{top.method}** ranks first (validation F1 {top.validation_f1:.3f} at its hardest N); "
    f"on the test set, at N = {large}, its "
    f"F1 at the training prior is {top.f1_prior:.3f} (mean 95 % interval [{top.f1_prior_lo:.2f}, {top.f1_prior_hi:.2f}]). "
    f"At N = {large}, {good_full} of the {len(rank)} representatives reach a mean F1 ≥ 0.9 on the full test set (b), "
    f"where \"1\"s are 54 %, but only {good_prior} at the training prior (c), which only methods with (almost) no false "
    "alarm on the 980 test \"0\"s can reach."
    + (f" Validation holds no \"1\" from N = {blind} on, so no validation-only ranking can see those N; the test "
       "columns show them." if blind else "")))

# %%
# The headline is the proposal of section 4, fixed by design before any result (not picked by a score);
# without it, the validation ranking's first method. Its numbers are test results, reported.
headline = headline_table(results, rank)
run.save_table(headline, "headline", index=False)
h = headline.iloc[0]
run.finish(headline=f"{h.method}: F1 at the training prior {plus_minus(h.value, h.seed_std, 3)} at N={h.N} "
                    f"(95 % interval [{h.interval_lo:.2f}, {h.interval_hi:.2f}])")
