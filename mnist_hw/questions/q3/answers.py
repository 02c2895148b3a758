"""Q3's answers: per-N tables of the imbalance study and the answer under each sub-question, from its results."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .metrics import Confusion, clopper_pearson, prior_f1, prior_f1_interval, zeros_to_certify
from .remedies import FACTORS, train_stacked
from .scores import label, representatives, score_rows
from ..tables import mean_std, plus_minus
from ..text import bullets, show_code

PER_N = ["f1_prior", "f1_prior_lo", "f1_full", "f1_val", "tpr_full", "fpr_full", "fp_full", "prior"]


@dataclass
class Study:
    """The results of every (N, seed, method) with the per-(label, N) means and F1-at-prior std over seeds, and
    the test set's class counts."""

    results: pd.DataFrame
    test_zeros: int
    test_ones: int

    def __post_init__(self):
        self.results = self.results.assign(label=label(self.results))
        by = self.results.groupby(["label", "N"])
        self.mean, self.std = by[PER_N].mean(), by["f1_prior"].std()
        self.small, self.large = int(self.results.N.min()), int(self.results.N.max())

    def has(self, method: str) -> bool:
        return bool((self.results.method == method).any())

    def name(self, method: str, weight: str) -> str:
        """The label of a method's weighting in the tables: 'method (weight)' when the family has several."""
        rows = self.results[(self.results.method == method) & (self.results.weight == weight)]
        return rows.label.iloc[0]

    def chosen(self, method: str) -> str:
        """The family's weighting with the best mean validation F1 (validation data only)."""
        return representatives(self.results[self.results.method == method]).weight.iloc[0]

    def at(self, name: str, N: int) -> str:
        """'mean ± std' of F1 at the prior for one label at one N."""
        return f"{self.mean.loc[(name, N), 'f1_prior']:.3f} ± {self.std[name, N]:.3f}"

    def why(self, name: str, N: int) -> str:
        """What limits F1 at the prior at one N, read off the mean recall and test false positives."""
        m = self.mean.loc[(name, N)]
        if m.f1_prior >= 0.9:
            return f"high: recall {m.tpr_full:.3f} with {m.fp_full:.1f} test false positives on average"
        causes = [f"missed \"1\"s (recall {m.tpr_full:.3f})"] if m.tpr_full < 0.9 else []
        if m.fp_full >= 0.5:
            causes.append(f"false alarms ({m.fp_full:.1f} of the {self.test_zeros} test \"0\"s flagged on average, each "
                          f"worth an FPR of 1/{self.test_zeros} against a prior of {m.prior:.1e})")
        return "limited by " + " and ".join(causes or ["a few seeds"])


def at_prior(rows: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """F1 at the training prior (mean ± std over seeds) and the mean ends of the seeds' 95 % intervals."""
    table = mean_std(rows, by, ["f1_prior"])
    ends = rows.groupby(by)[["f1_prior_lo", "f1_prior_hi"]].mean()
    table["95 % interval"] = [f"[{lo:.2f}, {hi:.2f}]" for lo, hi in zip(ends.f1_prior_lo, ends.f1_prior_hi)]
    return table


def baseline_table(results: pd.DataFrame) -> pd.DataFrame:
    """The baseline per N: F1 under the three protocols, recall, test false positives, F1 at the prior."""
    base = results[results.method == "baseline"]
    table = pd.concat([mean_std(base, ["N"], ["f1_val", "f1_test", "f1_full", "tpr_full"]),
                       mean_std(base, ["N"], ["fp_full"], 1), at_prior(base, ["N"])], axis=1)
    table.columns = ["F1 val", "F1 (a) sparse test", "F1 (b) full test", "TPR (full test)", "test FP",
                     "F1 at prior", "95 % interval"]
    return table


def family_table(results: pd.DataFrame, method: str) -> pd.DataFrame:
    """F1 at the training prior per N (rows) and weighting (columns), mean ± std over seeds: as many columns as
    weightings, so that the table fits a printed page for any number of N."""
    rows = results[results.method == method]
    table = mean_std(rows, ["N", "weight"], ["f1_prior"])["f1_prior"].unstack("weight")
    return table[[w for w in FACTORS if w in table.columns]].rename_axis(columns="weight")


def proposal_table(s: Study, train_ones: pd.Series, priors: pd.Series) -> pd.DataFrame:
    """augmented_gap per N: training "1"s, recall, F1 at the prior with its interval, the lowest seed, the test
    false positives over all seeds, and the most this test set could certify (best_certifiable)."""
    gap = s.results[s.results.method == "augmented_gap"]
    per_N = gap.groupby("N")
    table = pd.concat([mean_std(gap, ["N"], ["tpr_full"]), at_prior(gap, ["N"])], axis=1)
    table.insert(0, 'train "1"s', train_ones)
    table["lowest seed"] = per_N.f1_prior.min().round(3)
    table["test FP (all seeds)"] = per_N.fp_full.sum()
    table["certifiable at best"] = best_certifiable(s, priors).round(3)
    table.columns = ['train "1"s', "TPR (full test)", "F1 at prior", "95 % interval", "lowest seed",
                     "test FP (all seeds)", "certifiable at best"]
    return table


def ranking_table(rank: pd.DataFrame, N: int) -> pd.DataFrame:
    """remedies.ranking for reading: validation columns first, then the test results at the worst and the largest
    N (given)."""
    large = f"F1 at prior, N = {N}"
    shown = rank.assign(**{large: [f"{m:.3f} ± {sd:.3f}" for m, sd in zip(rank.f1_prior, rank.f1_prior_std.fillna(0))],
                           "95 % interval": [f"[{lo:.2f}, {hi:.2f}]" for lo, hi in zip(rank.f1_prior_lo, rank.f1_prior_hi)]})
    shown = shown[["method", "weight", "validation_f1", "validation_f1_mean", "worst_N_f1_prior", large, "95 % interval",
                   "test_fp", "f1_full"]].round(3)
    shown.columns = ["method", "weight", "validation F1, worst N", "validation F1, mean", "F1 at prior, worst N", large,
                     "95 % interval", "test FP (mean)", "F1 (b) full test"]
    return shown.set_index(["method", "weight"])


def loop_code():
    """The training loop (the cross-entropy family, trained together), the evaluation and the F1 score, as they
    run: every row of the results comes from score_rows."""
    return show_code(train_stacked, score_rows, Confusion.of, Confusion.f1, prior_f1)


# What each method does, in one sentence (the notebook lists them before any ranking of them).
DESCRIPTIONS = {
    "baseline": "Plain cross-entropy, the imbalance ignored; a \"1\" is predicted where its logit is the larger.",
    "weighted": "Cross-entropy with each \"1\"'s loss multiplied by a factor (1, N/10, N/2 or n0/n1, the full "
                "compensation), the factor chosen on validation F1.",
    "resampled": "Minibatches drawn with replacement, the \"1\"s drawn more often by the same factors (what "
                 "`WeightedRandomSampler` does).",
    "logit_adjusted": "Cross-entropy with the log class priors added to the logits during training only (Menon et al. "
                      "2021), so the model is trained for the balanced error.",
    "focal": "Focal loss (Lin et al. 2017, γ = 2): each example's loss is scaled down the better it is already "
             "classified, so the rare, hard \"1\"s weigh more.",
    "threshold": "The baseline's model with its decision threshold raised to the highest score of a validation "
                 "\"0\": no validation \"0\" is flagged.",
    "augmented": "The few training \"1\"s topped up with random distortions (rotation, scale, shear, shift, stroke "
                 "width) to a tenth of the \"0\"s, then plain cross-entropy.",
    "augmented_gap": "The proposal: the augmented model with its threshold placed in the gap between \"0\"s and "
                     "\"1\"s, from a model of the validation \"0\"s' score tail (section 4).",
    "centroid": "No training: an image is a \"1\" if it lies nearer the mean training \"1\" than the mean training "
                "\"0\" (pixel distance).",
    "autoencoder": "A one-class detector: an autoencoder trained on \"0\"s only flags an image whose reconstruction "
                   "error is above the chosen quantile of the validation \"0\"s' errors.",
}


def methods_text(methods: list[str]) -> str:
    """The methods compared, each in one sentence, in the order given."""
    return bullets([f"**{m}**: {DESCRIPTIONS[m]}" for m in methods])


def tie_break(rank: pd.DataFrame, digits: int = 3) -> str:
    """The ranking's order rule, and each tie on its first key (validation F1 at the hardest N, as shown to
    `digits` places) with how it was broken."""
    text = ("Families are ordered by their validation F1 at their hardest N; equal values are ordered by their mean "
            "validation F1 over N, then by the order of the methods parameter.")
    shown = rank.validation_f1.round(digits)
    for value, tied in rank.groupby(shown, sort=False):
        if len(tied) > 1 and pd.notna(value):
            names = " and ".join(f"`{m}`" for m in tied.method)
            means = tied.validation_f1_mean.round(digits)
            rule = ("their mean validation F1 over N is equal too, so the order of the methods parameter"
                    if means.nunique() == 1 else f"their mean validation F1 over N ({', '.join(f'{v:.{digits}f}' for v in means)})")
            text += f" {names} tie at {value:.{digits}f}; {rule} puts `{tied.method.iloc[0]}` first."
    return text


def baseline_answer(s: Study, sparse_test_ones: pd.Series) -> str:
    """Sub-question 1: what ignoring the imbalance gives; sparse_test_ones: the sparse test set's "1"s per N."""
    b = s.mean.loc["baseline"]
    worst, empty = b.f1_prior.idxmin(), sparse_test_ones.index[sparse_test_ones == 0]
    return (f"Ignoring the imbalance, the baseline's F1 at the training prior is "
            f"{s.at('baseline', s.small)} at N = {s.small} and {s.at('baseline', s.large)} at N = {s.large} (lowest "
            f"mean {b.f1_prior[worst]:.3f}, at N = {worst}). At N = {s.large} it is {s.why('baseline', s.large)}. "
            + ("Its recall falls with N: cross-entropy is then minimised almost entirely by the \"0\"s, so scoring "
               "everything \"0\" costs little. " if b.tpr_full[s.large] < b.tpr_full[s.small] else "")
            + (f"The sparse test set holds no \"1\" from N = {empty.min()} on, so its F1 is n/a there — one reason "
               "to rank by F1 at the training prior." if len(empty) else ""))


def weighted_answer(s: Study) -> str:
    """Sub-question 2: the class weighting chosen on validation, and what it changes against the baseline."""
    name = s.name("weighted", s.chosen("weighted"))
    text = (f"Chosen on validation F1, the weighting is **{s.chosen('weighted')}**. Its F1 at the "
            f"training prior is {s.mean.loc[(name, s.small), 'f1_prior']:.3f} at N = {s.small} and "
            f"{s.at(name, s.large)} at N = {s.large}: {s.why(name, s.large)}.")
    if s.has("baseline"):
        mine, base = s.mean.loc[(name, s.large), "f1_prior"], s.mean.loc[("baseline", s.large), "f1_prior"]
        text += (f" Against the baseline ({base:.3f} at N = {s.large}) the weighting "
                 + ("helps" if mine > base else "does not help") + "; a class weight rescales the \"1\"s' few "
                 "gradients but gives the model no new \"1\" to learn from.")
    return text


def resampled_answer(s: Study, train_ones: int) -> str:
    """Sub-question 3: the resampling factor chosen on validation; train_ones: training "1"s at the largest N."""
    factor = s.chosen("resampled")
    name = s.name("resampled", factor)
    return (f"Chosen on validation F1, the factor is **{factor}**: F1 at the training prior "
            f"{s.mean.loc[(name, s.small), 'f1_prior']:.3f} at N = {s.small}, {s.at(name, s.large)} at N = {s.large}: "
            f"{s.why(name, s.large)}. Resampling draws the same {train_ones} training \"1\"(s) again and again: it adds "
            f"no new \"1\"-like image, so recall at N = {s.large} depends on which \"1\" a seed kept (seed std "
            f"{s.std[name, s.large]:.3f}).")


def best_certifiable(s: Study, priors: pd.Series) -> pd.Series:
    """Per N, the 95 % lower bound of F1 at the prior of a perfect model on this test set (all "1"s found, no "0"
    flagged): the most this test set can certify."""
    perfect = Confusion(tp=s.test_ones, fp=0, fn=0, tn=s.test_zeros)
    return pd.Series({N: prior_f1_interval(perfect, p)[0] for N, p in priors.items()})


def proposal_answer(s: Study, priors: pd.Series, target: float = 0.9, max_std: float = 0.1) -> str:
    """Sub-question 4: how augmented_gap does at every N, and whether this test set can certify it."""
    gap = s.results[s.results.method == "augmented_gap"]
    g = gap.groupby("N").f1_prior.agg(["mean", "std"])
    met = (g["mean"] >= target) & (g["std"].fillna(0) <= max_std)
    certifiable = best_certifiable(s, priors)
    short = certifiable.index[certifiable < target]
    text = (f"`augmented_gap` reaches a mean F1 at the training prior between {g['mean'].min():.3f} "
            f"(N = {g['mean'].idxmin()}) and {g['mean'].max():.3f} over N = {s.small}…{s.large}, with a seed std of at "
            f"most {g['std'].max():.3f}; the target (mean ≥ {target}, std ≤ {max_std} over "
            f"{gap.seed.nunique()} seeds) is " + ("met at every N." if met.all() else
                                                 f"missed at N = {', '.join(map(str, g.index[~met]))}.")
            + f" Its threshold flagged {int(gap.fp_full.sum())} of the {s.test_zeros} test \"0\"s summed over all "
            f"{len(gap)} (N, seed) runs, while keeping a mean recall of {gap.tpr_full.mean():.3f}.")
    if len(short):
        needed = zeros_to_certify(priors[s.large], target)
        text += (f" **The test set cannot certify this** from N = {short.min()} on: even a perfect model (every \"1\" "
                 f"found, no \"0\" flagged) has a 95 % lower bound below {target} there ({certifiable[s.large]:.3f} at "
                 f"N = {s.large}), because with no false positive among {s.test_zeros} \"0\"s the FPR may still be up to "
                 f"{clopper_pearson(0, s.test_zeros, 0.95 ** 0.5)[1]:.4f}. Certifying F1 ≥ {target} there would take about {needed:,} test \"0\"s "
                 "with no false positive.")
    return text


def summary(s: Study, rank: pd.DataFrame, val_ones: pd.Series, target: float = 0.9) -> str:
    """The closing summary: the validation ranking's first method, what the test set says of it, and how many
    representatives reach the target under protocols (b) and (c); val_ones: validation "1"s per N."""
    top, blind = rank.iloc[0], val_ones.index[val_ones == 0]
    share = s.test_ones / (s.test_ones + s.test_zeros)
    return (f"**Summary.** On validation, **{top.method}** ranks first (validation F1 {top.validation_f1:.3f} at its "
            f"hardest N); on the test set, at N = {s.large}, its F1 at the training prior is {top.f1_prior:.3f} (mean "
            f"95 % interval [{top.f1_prior_lo:.2f}, {top.f1_prior_hi:.2f}]). At N = {s.large}, "
            f"{int((rank.f1_full >= target).sum())} of the {len(rank)} representatives reach a mean F1 ≥ {target} on the "
            f"full test set (b), where \"1\"s are {share:.0%}, but only {int((rank.f1_prior >= target).sum())} at the "
            f"training prior (c), which only methods with (almost) no false alarm on the {s.test_zeros} test \"0\"s "
            "can reach." + (f" Validation holds no \"1\" from N = {blind.min()} on, so no validation-only ranking can "
                            "see those N; the test columns show them." if len(blind) else ""))


def headline(table: pd.DataFrame) -> str:
    """The manifest's line for the one-row headline table (remedy_scores.headline_table)."""
    h = table.iloc[0]
    return (f"{h.method}: F1 at the training prior {plus_minus(h.value, h.seed_std, 3)} at N={h.N} "
            f"(95 % interval [{h.interval_lo:.2f}, {h.interval_hi:.2f}])")
