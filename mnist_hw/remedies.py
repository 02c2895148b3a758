"""Remedies for class imbalance in the 0-vs-1 MLP: each method is a small function that trains on one N and seed
and returns a `Scored` (a score per sample and model, higher meaning more "1"-like, and a threshold per model), so
one evaluation serves MLPs, a nearest-centroid rule and a one-class detector alike."""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import pandas as pd
import torch
from scipy.stats import chi2
from torch import Tensor
from tqdm.auto import tqdm

from .data import MEAN, STD, Split, generator
from .imbalance import Imbalanced, distort, load_imbalanced
from .losses import MSE, AutogradLoss, CrossEntropy, Mixed, focal, margin
from .metrics import Confusion, prior_f1, prior_f1_interval
from .models import Autoencoder, MLPStack, SimpleMLP, seeded
from .training import TrainConfig, fit, predict, synchronize

STACKED = ("baseline", "weighted", "logit_adjusted", "focal", "threshold")  # CE-family: one lockstep stack
METHODS = STACKED + ("resampled", "augmented", "augmented_gap", "centroid", "autoencoder")
FACTORS = ("1", "N/10", "N/2", "n0/n1")  # the seed's up-weightings of the "1"s
KEY = ["N", "seed", "method", "weight"]  # what identifies a result row


@dataclass
class Scored:
    """Models of one method: names (method, weight label), scores x -> (n, M), thresholds (M,), train time."""

    names: list[tuple[str, str]]
    score: Callable[[Tensor], Tensor]
    threshold: Tensor
    seconds: float

    def classify(self, x: Tensor) -> Tensor:
        """0/1 predictions (n, M)."""
        return (self.score(x) > self.threshold.to(x.device)).long()


@dataclass(frozen=True)
class Head:
    """One cross-entropy model of the lockstep stack: its name, class weights and training-only logit offsets."""

    method: str
    weight: str = "1"
    class_weight: tuple[float, float] = (1.0, 1.0)
    offset: tuple[float, float] = (0.0, 0.0)


def factors(N: int, train_y: Tensor) -> dict[str, float]:
    """The seed's weights for the "1"s: 1, N/10, N/2 and n0/n1 (full compensation of the training imbalance)."""
    n1 = int(train_y.sum())
    return dict(zip(FACTORS, (1.0, N / 10, N / 2, (len(train_y) - n1) / n1)))


def _seeded_stack(seed: int, hidden: int, activation: str, count: int, device: torch.device, streams: int = 1) -> MLPStack:
    """`count` 784-hidden-2 MLPs all initialised from `seed`, as they would be alone (on `streams` streams)."""
    return MLPStack([seeded(seed, SimpleMLP, 784, hidden, 2, activation) for _ in range(count)], device, streams)


def heads(data: Imbalanced, methods: Sequence[str]) -> list[Head]:
    """The cross-entropy models that `methods` need ('threshold' reuses the baseline's)."""
    out = []
    if "baseline" in methods or "threshold" in methods:
        out.append(Head("baseline"))
    if "weighted" in methods:
        out += [Head("weighted", k, (1.0, w)) for k, w in factors(data.N, data.splits.train.y).items()]
    if "logit_adjusted" in methods:  # Menon et al. 2021: add log-priors to the logits in training only
        out.append(Head("logit_adjusted", offset=(math.log(1 - data.prior), math.log(data.prior))))
    return out


def train_stacked(data: Imbalanced, cfg: TrainConfig, methods: Sequence[str]) -> Scored:
    """Baseline, class-weighted CE, logit adjustment and focal loss trained in lockstep on one minibatch stream;
    'threshold' is the baseline's model with its threshold moved to the highest score of a validation "0"."""
    train, val = data.splits.train, data.splits.val
    ce, n_focal = heads(data, methods), int("focal" in methods)
    stack = _seeded_stack(cfg.seed, cfg.hidden, cfg.activation, len(ce) + n_focal, train.x.device)
    loss = Mixed([(CrossEntropy(torch.tensor([h.class_weight for h in ce]), torch.tensor([h.offset for h in ce])), len(ce)),
                  (AutogradLoss(focal), n_focal)])
    seconds = fit(stack, train, cfg.options, loss=loss).seconds
    names = [(h.method, h.weight) for h in ce] + [("focal", "1")] * n_focal
    columns, thresholds = list(range(len(names))), [0.0] * len(names)
    if "threshold" in methods:  # the baseline is column 0 whenever 'threshold' is asked for
        columns.append(0)
        thresholds.append(margin(predict(stack, val.x[val.y == 0]))[:, 0].max().item())
        names.append(("threshold", "1"))
    keep = [i for i, (method, _) in enumerate(names) if method in methods]
    cols = torch.tensor(columns)[keep]
    return Scored([names[i] for i in keep], lambda x: margin(predict(stack, x))[:, cols.to(x.device)],
                  torch.tensor(thresholds)[keep], seconds)


def train_resampled(data: Imbalanced, cfg: TrainConfig) -> list[Scored]:
    """One model per factor, on minibatches drawn with replacement with the "1"s up-weighted by the factor
    (what torch's WeightedRandomSampler does). Each factor needs its own minibatch stream, so the models train
    as the streams of one stack, each initialised and shuffled from cfg.seed as it would be alone."""
    train, ups = data.splits.train, factors(data.N, data.splits.train.y)
    stack = _seeded_stack(cfg.seed, cfg.hidden, cfg.activation, len(ups), train.x.device, streams=len(ups))
    ones = train.y.cpu().double()  # on the CPU: mps has no float64
    seconds = fit(stack, [train] * len(ups), dataclasses.replace(cfg.options, seed=[cfg.seed] * len(ups)),
                  sample_weights=[1 + (w - 1) * ones for w in ups.values()]).seconds
    # every stream's model scores the same inputs; the stack's time is shared by its models
    return [Scored([("resampled", label)], lambda x, m=m: margin(predict(stack, x))[:, m:m + 1], torch.zeros(1),
                   seconds / len(ups)) for m, label in enumerate(ups)]


def train_augmented(data: Imbalanced, cfg: TrainConfig, methods: Sequence[str] = ("augmented", "augmented_gap"),
                    share: float = 0.1, hidden: int = 16, ensemble: int = 1, tail: int = 25) -> Scored:
    """One 784-hidden-2 MLP (or the mean margin of an `ensemble` of them) trained after topping the "1"s up with
    distorted copies (see imbalance.distort) until they are `share` of the "0"s; 'augmented' thresholds its logit
    margin at 0, 'augmented_gap' in the gap between the validation "0"s and held-out distorted "1"s (see
    gap_threshold, over the top `tail` "0" scores). share 0.1 and hidden 16 are the best of
    benchmarks/q3_tuning.py's grid, ensemble 1 and tail 25 the best of its --crossfit run, all scored on data that
    is not the test set (dropped training "1"s, held-out validation "0"s, out-of-fold training "0"s)."""
    train, val = data.splits.train, data.splits.val
    start = time.perf_counter()
    ones, zeros = train.x[train.y == 1], train.x[train.y == 0]
    extra = distort(ones, max(0, int(share * len(zeros)) - len(ones)), generator(cfg.seed, "augment"))
    grown = Split(torch.cat([train.x, extra]), torch.cat([train.y, train.y.new_ones(len(extra))]))
    # `ensemble` models in one lockstep stack (the first initialised from cfg.seed, as alone), their margins averaged
    inits = [cfg.seed] + [int(torch.randint(2**62, (1,), generator=generator(cfg.seed, f"ensemble-{j}"))) for j in range(1, ensemble)]
    stack = MLPStack([seeded(s, SimpleMLP, 784, hidden, 2, cfg.activation) for s in inits], train.x.device)
    fit(stack, grown, cfg.options)
    score = lambda x: margin(predict(stack, x)).mean(1, keepdim=True)
    thresholds = {"augmented": 0.0}
    if "augmented_gap" in methods:
        held_out = score(held_out_ones(data, cfg.seed))[:, 0]
        thresholds["augmented_gap"] = gap_threshold(score(val.x[val.y == 0])[:, 0], held_out, data.prior, tail)
    synchronize(train.x.device)
    names = [m for m in thresholds if m in methods]
    return Scored([(m, "1") for m in names], lambda x: score(x).expand(-1, len(names)),
                  torch.tensor([thresholds[m] for m in names]), time.perf_counter() - start)


def held_out_ones(data: Imbalanced, seed: int, count: int = 1000) -> Tensor:
    """`count` fresh distortions (a stream of their own) of every labelled "1", training and validation: "1"-like
    images the augmented model never trained on, from which gap_threshold reads the true-positive rate."""
    train, val = data.splits.train, data.splits.val
    return distort(torch.cat([train.x[train.y == 1], val.x[val.y == 1]]), count, generator(seed, "held-out"))


def gap_threshold(zeros: Tensor, ones: Tensor, prior: float, tail: int = 25, level: float = 0.0) -> float:
    """The threshold that maximises the F1 expected at `prior`, with the false-positive rate beyond the observed
    "0"s extrapolated and the true-positive rate read off held-out "1"-like scores.

    A validation set of n "0"s cannot measure a false-positive rate below about 1/n, yet at a prior of 1e-4 that
    rate must be far smaller. So the upper tail of the "0"s' scores is modelled as exponential (peaks over
    threshold): above u, the `tail`-th largest score, FPR(t) = tail/n * exp(-(t - u) / beta) with beta the mean
    excess over u. With `level` > 0, beta is the upper `level` confidence bound of that estimate instead (a heavier
    tail, so a higher threshold): for k exceedances 2k * mean / beta is chi-squared with 2k degrees of freedom.
    The result is always above the highest "0".
    """
    zeros, ones = zeros.double().cpu(), ones.double().cpu()
    top = zeros.topk(min(tail + 1, len(zeros))).values
    u, beta = top[-1], (top[:-1] - top[-1]).mean().clamp_min(1e-12)
    if level > 0:
        beta = scale_upper_bound(beta, len(top) - 1, level)
    candidates = torch.linspace(top[0].item(), max(top[0].item(), ones.max().item()), 400, dtype=torch.float64)
    fpr = (len(top) - 1) / len(zeros) * torch.exp(-(candidates - u) / beta)
    tpr = (ones[None, :] > candidates[:, None]).double().mean(1)
    f1 = torch.tensor([prior_f1(t, f, prior) for t, f in zip(tpr.tolist(), fpr.tolist())], dtype=torch.float64)
    return candidates[int(f1.argmax())].item()


def scale_upper_bound(mean_excess: float, k: int, level: float) -> float:
    """The upper `level` confidence bound of an exponential tail's scale from k exceedances with this mean excess
    (2k * mean_excess / scale is chi-squared with 2k degrees of freedom)."""
    return mean_excess * 2 * k / float(chi2.ppf(1 - level, 2 * k))


def train_centroid(data: Imbalanced) -> Scored:
    """Nearest class mean (prototype) in pixel space: needs one "1" at least, no optimisation."""
    train = data.splits.train
    start = time.perf_counter()
    c0, c1 = (train.x[train.y == c].mean(0) for c in (0, 1))
    synchronize(train.x.device)
    seconds = time.perf_counter() - start
    score = lambda x: ((x - c0).pow(2).sum(1) - (x - c1).pow(2).sum(1))[:, None]
    return Scored([("centroid", "1")], score, torch.zeros(1), seconds)


def train_autoencoder(zeros: Split, val_zeros: Split, cfg: TrainConfig, hidden: int = 32,
                      quantile: float = 0.99) -> Scored:
    """One-class detector trained on "0"s only: an autoencoder whose reconstruction error scores "1"-ness,
    flagged above the `quantile` of the validation "0"s' errors. It never sees a "1", so it is the same for every N."""
    pixels = lambda x: x * STD + MEAN  # the sigmoid output reconstructs pixels on the [0, 1] scale
    stack = MLPStack([seeded(cfg.seed, Autoencoder, hidden, cfg.activation)], zeros.x.device)
    seconds = fit(stack, Split(pixels(zeros.x), pixels(zeros.x)), cfg.options, loss=MSE()).seconds
    error = lambda x: (predict(stack, pixels(x))[:, 0] - pixels(x)).pow(2).mean(1, keepdim=True)
    return Scored([("autoencoder", "-")], error, error(val_zeros.x)[:, 0].cpu().quantile(quantile).view(1), seconds)


def score_rows(scored: Scored, data: Imbalanced) -> pd.DataFrame:
    """Per model: accuracy (%), F1 on validation, sparse test and full test, the full test's confusion counts,
    and the F1 at the training prior with its 95 % interval (see metrics.prior_f1_interval)."""
    s, conf = data.splits, {}
    for split_name, split in (("train", s.train), ("val", s.val), ("test", s.test), ("full", data.full_test)):
        pred = scored.classify(split.x)
        conf[split_name] = [Confusion.of(split.y, pred[:, m]) for m in range(pred.shape[1])]
    table = pd.DataFrame(scored.names, columns=["method", "weight"])
    table["train_time_s"] = scored.seconds
    for name in ("train", "val", "test", "full"):
        table[f"{name}_acc"] = [100 * c.accuracy() for c in conf[name]]
    for name in ("val", "test", "full"):
        table[f"f1_{name}"] = [c.f1() for c in conf[name]]
    full = conf["full"]
    table["tp_full"], table["fn_full"] = [c.tp for c in full], [c.fn for c in full]
    table["fp_full"], table["tn_full"] = [c.fp for c in full], [c.tn for c in full]
    table["tpr_full"], table["fpr_full"] = [c.recall() for c in full], [c.fpr() for c in full]
    table["val_fp"] = [c.fp for c in conf["val"]]
    table["f1_prior"] = [prior_f1(c.recall(), c.fpr(), data.prior) for c in full]
    table["f1_prior_lo"], table["f1_prior_hi"] = zip(*(prior_f1_interval(c, data.prior) for c in full))
    return table


def run_methods(data: Imbalanced, cfg: TrainConfig, methods: Sequence[str], detector: Scored | None = None,
                aug_hidden: int = 16) -> pd.DataFrame:
    """Train every requested method on one N and seed; one row per model (the detector is trained elsewhere)."""
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose from {list(METHODS)}")
    if "autoencoder" in methods and detector is None:
        raise ValueError("method 'autoencoder' needs the detector trained on this seed's \"0\"s (train_autoencoder)")
    scored = []
    if set(methods) & set(STACKED):
        scored.append(train_stacked(data, cfg, methods))
    if "resampled" in methods:
        scored += train_resampled(data, cfg)
    if {"augmented", "augmented_gap"} & set(methods):
        scored.append(train_augmented(data, cfg, methods, hidden=aug_hidden))
    if "centroid" in methods:
        scored.append(train_centroid(data))
    if "autoencoder" in methods:
        scored.append(detector)
    counts = data.counts()['"1"s']
    rows = pd.concat([score_rows(s, data) for s in scored], ignore_index=True)
    return rows.assign(N=data.N, seed=cfg.seed, batch_size=cfg.batch_size, prior=data.prior,
                       train_ones=counts["train"], val_ones=counts["val"], test_ones=counts["test (sparse)"])


class Store(Protocol):
    """Where finished rows go (results.RowStore, or anything with these two methods)."""

    def done(self) -> pd.DataFrame: ...

    def append(self, rows: pd.DataFrame) -> None: ...


def sweep(N_list: Sequence[int], seeds: Sequence[int], methods: Sequence[str], cfg: TrainConfig, *,
          ae_hidden: int = 32, ae_quantile: float = 0.99, aug_hidden: int = 16, root: str | None = None,
          device: torch.device | str = "cpu", store: Store | None = None, progress: bool = True) -> pd.DataFrame:
    """Every N x seed x method. With a store, each (N, seed)'s rows are appended as soon as they are trained, and
    rows already there (same N, seed, method) are not trained again: a missing method trains alone.

    The autoencoder sees only "0"s, whose split does not depend on N, so it is trained once per seed and reused.
    """
    done = store.done() if store is not None else pd.DataFrame(columns=KEY)
    have = set(zip(done.N, done.seed, done.method)) if len(done) else set()
    rows, detectors = [done], {}
    for N in tqdm(N_list, desc="N", disable=not progress):
        for seed in seeds:
            todo = [m for m in methods if (N, seed, m) not in have]
            if not todo:
                continue
            data, run_cfg = load_imbalanced(N, seed, root, device), dataclasses.replace(cfg, seed=seed)
            if "autoencoder" in todo and seed not in detectors:
                tr, va = data.splits.train, data.splits.val
                detectors[seed] = train_autoencoder(tr.subset(tr.y == 0), va.subset(va.y == 0), run_cfg, ae_hidden, ae_quantile)
            new = run_methods(data, run_cfg, todo, detectors.get(seed), aug_hidden)
            if store is not None:
                store.append(new)
            rows.append(new)
    rows = pd.concat([r for r in rows if len(r)], ignore_index=True).astype({"weight": str})
    return rows[rows.N.isin(N_list) & rows.seed.isin(seeds) & rows.method.isin(methods)].reset_index(drop=True)


def label(results: pd.DataFrame) -> pd.Series:
    """'method' or 'method (weight)' for families with several weights."""
    several = results.groupby("method")["weight"].transform("nunique") > 1
    return results.method.where(~several, results.method + " (" + results.weight.astype(str) + ")")


def representatives(results: pd.DataFrame, column: str = "f1_val") -> pd.DataFrame:
    """Each method's weighting with the highest mean validation F1 over every N and seed where it is defined
    (validation data only: the test set never chooses); families with one weighting keep it."""
    score = results.groupby(["method", "weight"])[column].mean().reset_index()
    best = score.sort_values(column, ascending=False, na_position="last").drop_duplicates("method")
    return results.merge(best[["method", "weight"]], on=["method", "weight"])


def ranking(results: pd.DataFrame) -> pd.DataFrame:
    """Each method's validation-chosen weighting (see representatives), ordered by its validation F1 at the hardest
    N where validation holds a "1" (mean over seeds; then by the mean over all such N); beside it, test results
    only reported: the mean F1 at the training prior at its worst N and, at the largest N, its mean, std, the mean
    ends of the per-seed 95 % intervals, the test false positives and the full-test F1."""
    reps = representatives(results)
    by = ["method", "weight"]
    val = reps.groupby(by + ["N"]).f1_val.mean().groupby(level=by)
    largest = reps[reps.N == reps.N.max()].groupby(by)
    table = pd.DataFrame({
        "validation_f1": val.min(), "validation_f1_mean": val.mean(),
        "worst_N_f1_prior": reps.groupby(by + ["N"]).f1_prior.mean().groupby(level=by).min(),
        "f1_prior": largest.f1_prior.mean(), "f1_prior_std": largest.f1_prior.std(),
        "f1_prior_lo": largest.f1_prior_lo.mean(), "f1_prior_hi": largest.f1_prior_hi.mean(),
        "test_fp": largest.fp_full.mean(), "f1_full": largest.f1_full.mean()})
    return table.sort_values(["validation_f1", "validation_f1_mean"], ascending=False, na_position="last").reset_index()
