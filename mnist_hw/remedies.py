"""Remedies for class imbalance in the 0-vs-1 MLP, each a small function returning scored models.

Every method ends as a `Scored`: a score per sample and model (higher means more "1"-like) and a threshold per
model, so one evaluation serves MLPs, a nearest-centroid rule and a one-class detector alike.
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from torch import Tensor
from torchvision.ops import sigmoid_focal_loss
from torchvision.transforms import v2
from tqdm.auto import tqdm

from .data import MEAN, STD, Split, generator
from .imbalance import Imbalanced, load_imbalanced
from .losses import MSE, Autograd, CrossEntropy, LossGrad
from .metrics import Confusion, prior_f1, show
from .models import MLPStack, RegressionMLP, SimpleMLP, seeded
from .training import TrainConfig, fit_config, predict, synchronize

STACKED = ("baseline", "weighted", "logit_adjusted", "focal", "threshold")  # CE-family: one lockstep stack
METHODS = STACKED + ("resampled", "augmented", "centroid", "autoencoder")
FACTORS = ("1", "N/10", "N/2", "n0/n1")  # the seed's up-weightings of the "1"s


@dataclass
class Scored:
    """Models of one method: names (method, weight label), scores x -> (n, M), thresholds (M,), train time."""

    names: list[tuple[str, str]]
    score: Callable[[Tensor], Tensor]
    threshold: Tensor
    seconds: float

    def predict(self, x: Tensor) -> Tensor:
        """0/1 predictions (n, M)."""
        return (self.score(x) > self.threshold.to(x.device)).long()


def factors(N: int, train_y: Tensor) -> dict[str, float]:
    """The seed's weights for the "1"s: 1, N/10, N/2 and n0/n1 (full compensation of the training imbalance)."""
    n1 = int(train_y.sum())
    return dict(zip(FACTORS, (1.0, N / 10, N / 2, (len(train_y) - n1) / n1)))


def margin(out: Tensor) -> Tensor:
    """The logit difference out[..., 1] - out[..., 0]: the classifier's score for "1"."""
    return out[..., 1] - out[..., 0]


def focal(out: Tensor, y: Tensor, gamma: float = 2.0) -> Tensor:
    """Per-model focal loss (torchvision's sigmoid_focal_loss, no alpha) on the logit difference."""
    target = y[:, None].float().expand(-1, out.shape[1])
    return sigmoid_focal_loss(margin(out), target, alpha=-1, gamma=gamma, reduction="none").mean(0)


class Mixed:
    """Different losses for consecutive groups of models in one stack: [(loss, number of models), ...]."""

    def __init__(self, parts: Sequence[tuple[Callable[[Tensor, Tensor], LossGrad], int]]):
        self.parts = [(loss, n) for loss, n in parts if n]

    def __call__(self, out: Tensor, y: Tensor) -> LossGrad:
        results = [loss(chunk, y) for (loss, _), chunk in zip(self.parts, out.split([n for _, n in self.parts], 1))]
        return torch.cat([r[0] for r in results]), torch.cat([r[1] for r in results], 1)


def _stack(cfg: TrainConfig, count: int, device: torch.device) -> MLPStack:
    """`count` 784-hidden-2 MLPs all initialised from cfg.seed, as they would be alone."""
    return MLPStack([seeded(cfg.seed, SimpleMLP, 784, cfg.hidden, 2, cfg.activation) for _ in range(count)], device)


def train_stacked(data: Imbalanced, cfg: TrainConfig, methods: Sequence[str]) -> Scored:
    """Baseline, class-weighted CE, logit adjustment and focal loss trained in lockstep on one minibatch stream;
    'threshold' reuses the baseline model with its threshold moved (no training of its own)."""
    train, val = data.splits.train, data.splits.val
    prior = data.prior
    ce = []  # (name, weight label, class weights, logit offsets) of the cross-entropy models
    if "baseline" in methods or "threshold" in methods:
        ce.append(("baseline", "1", [1.0, 1.0], [0.0, 0.0]))
    if "weighted" in methods:
        ce += [("weighted", k, [1.0, w], [0.0, 0.0]) for k, w in factors(data.N, train.y).items()]
    if "logit_adjusted" in methods:  # Menon et al. 2021: add log-priors to the logits in training only
        ce.append(("logit_adjusted", "1", [1.0, 1.0], [math.log(1 - prior), math.log(prior)]))
    n_focal = int("focal" in methods)
    stack = _stack(cfg, len(ce) + n_focal, train.x.device)
    loss = Mixed([(CrossEntropy(torch.tensor([c[2] for c in ce]), torch.tensor([c[3] for c in ce])), len(ce)),
                  (Autograd(focal), n_focal)])
    seconds = fit_config(stack, train, cfg, loss=loss).seconds
    names = [c[:2] for c in ce] + [("focal", "1")] * n_focal
    columns, thresholds = list(range(len(names))), [0.0] * len(names)
    if "threshold" in methods:  # the baseline's score, thresholded at the highest score of a validation "0"
        columns.append(0)
        thresholds.append(margin(predict(stack, val.x[val.y == 0]))[:, 0].max().item())
        names.append(("threshold", "1"))
    keep = [i for i, (name, _) in enumerate(names) if name in methods]
    cols = torch.tensor(columns)[keep]
    return Scored([names[i] for i in keep], lambda x: margin(predict(stack, x))[:, cols.to(x.device)],
                  torch.tensor(thresholds)[keep], seconds)


def train_resampled(data: Imbalanced, cfg: TrainConfig) -> list[Scored]:
    """One model per factor, on minibatches drawn with replacement with the "1"s up-weighted by the factor
    (what torch's WeightedRandomSampler does); each needs its own stream."""
    out, train = [], data.splits.train
    for label, w in factors(data.N, train.y).items():
        stack = _stack(cfg, 1, train.x.device)
        weights = 1 + (w - 1) * train.y.cpu().double()  # on the CPU: mps has no float64
        seconds = fit_config(stack, train, cfg, sample_weights=weights).seconds
        out.append(Scored([("resampled", label)], lambda x, s=stack: margin(predict(s, x)), torch.zeros(1), seconds))
    return out


def augment(x: Tensor, copies: int, gen: torch.Generator) -> Tensor:
    """`copies` random affine distortions (torchvision v2) of randomly chosen rows of standardised images x."""
    affine = v2.RandomAffine(degrees=15, translate=(0.1, 0.1), scale=(0.85, 1.15), shear=10)
    picks = torch.randint(len(x), (copies,), generator=gen)
    pixels = (x.cpu()[picks] * STD + MEAN).view(-1, 1, 28, 28)
    with torch.random.fork_rng(devices=[]):  # v2 draws its parameters from the global generator
        torch.manual_seed(int(torch.randint(2**31, (1,), generator=gen)))
        for image in pixels:  # one call per image: a batch would share one transform
            image.copy_(affine(image))
    return ((pixels.view(copies, x.shape[1]) - MEAN) / STD).to(x.device)


def train_augmented(data: Imbalanced, cfg: TrainConfig, share: float = 0.1) -> Scored:
    """Plain CE after topping the "1"s up with affine-distorted copies until they are `share` of the "0"s."""
    train = data.splits.train
    start = time.perf_counter()
    ones = train.x[train.y == 1]
    extra = augment(ones, max(0, int(share * int((train.y == 0).sum())) - len(ones)), generator(cfg.seed, "augment"))
    grown = Split(torch.cat([train.x, extra]), torch.cat([train.y, torch.ones(len(extra), dtype=torch.long, device=extra.device)]))
    stack = _stack(cfg, 1, train.x.device)
    fit_config(stack, grown, cfg)
    synchronize(train.x.device)
    return Scored([("augmented", "1")], lambda x: margin(predict(stack, x)), torch.zeros(1), time.perf_counter() - start)


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
    stack = MLPStack([seeded(cfg.seed, RegressionMLP, hidden, cfg.activation)], zeros.x.device)
    seconds = fit_config(stack, Split(pixels(zeros.x), pixels(zeros.x)), cfg, loss=MSE()).seconds
    error = lambda x: (predict(stack, pixels(x))[:, 0] - pixels(x)).pow(2).mean(1, keepdim=True)
    return Scored([("autoencoder", "-")], error, error(val_zeros.x)[:, 0].cpu().quantile(quantile).view(1), seconds)


def score_rows(scored: Scored, data: Imbalanced) -> pd.DataFrame:
    """Accuracy (%), F1 on validation, sparse test and full test, and the prior-adjusted F1, per model."""
    s, rows = data.splits, {}
    for split_name, split in (("train", s.train), ("val", s.val), ("test", s.test), ("full", data.full_test)):
        pred = scored.predict(split.x)
        rows[split_name] = [Confusion.of(split.y, pred[:, m]) for m in range(pred.shape[1])]
    table = pd.DataFrame(scored.names, columns=["method", "weight"])
    table["train_time_s"] = scored.seconds
    for name in ("train", "val", "test", "full"):
        table[f"{name}_acc"] = [100 * c.accuracy() for c in rows[name]]
    for name in ("val", "test", "full"):
        table[f"f1_{name}"] = [c.f1() for c in rows[name]]
    table["tpr_full"] = [c.recall() for c in rows["full"]]
    table["fpr_full"] = [c.fpr() for c in rows["full"]]
    table["f1_prior"] = [prior_f1(c.recall(), c.fpr(), data.prior) for c in rows["full"]]
    return table


def run_methods(data: Imbalanced, cfg: TrainConfig, methods: Sequence[str], detector: Scored | None = None) -> pd.DataFrame:
    """Train every requested method on one N and seed; one row per model (the detector is trained elsewhere)."""
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose from {list(METHODS)}")
    scored = []
    if set(methods) & set(STACKED):
        scored.append(train_stacked(data, cfg, methods))
    if "resampled" in methods:
        scored += train_resampled(data, cfg)
    if "augmented" in methods:
        scored.append(train_augmented(data, cfg))
    if "centroid" in methods:
        scored.append(train_centroid(data))
    if "autoencoder" in methods:
        if detector is None:
            raise ValueError("method 'autoencoder' needs the detector trained on this seed's \"0\"s (train_autoencoder)")
        scored.append(detector)
    counts = data.counts()['"1"s']
    rows = pd.concat([score_rows(s, data) for s in scored], ignore_index=True)
    return rows.assign(N=data.N, seed=cfg.seed, batch_size=cfg.batch_size, prior=data.prior,
                       train_ones=counts["train"], val_ones=counts["val"], test_ones=counts["test (sparse)"])


def sweep(N_list: Sequence[int], seeds: Sequence[int], methods: Sequence[str], cfg: TrainConfig, *,
          ae_hidden: int = 32, ae_quantile: float = 0.99, root: str | None = None, device: torch.device | str = "cpu",
          csv: Path | None = None, resume: bool = True, progress: bool = True) -> pd.DataFrame:
    """Every N x seed x method; with csv, the table is rewritten after each N (an interrupted run keeps the
    finished N) and, with resume, (N, seed) pairs already there with the same settings are not trained again.

    The autoencoder sees only "0"s, whose split does not depend on N, so it is trained once per seed and reused.
    """
    settings = {"epochs": cfg.epochs, "hidden": cfg.hidden, "lr": cfg.lr, "ae_hidden": ae_hidden, "ae_quantile": ae_quantile}
    rows = _previous(csv, settings, cfg.batch_size) if csv is not None and resume and csv.exists() else pd.DataFrame()
    detectors: dict[int, Scored] = {}
    for N in tqdm(N_list, desc="N", disable=not progress):
        for seed in seeds:
            if len(rows) and set(methods) <= set(rows.method[(rows.N == N) & (rows.seed == seed)]):
                continue
            data, run_cfg = load_imbalanced(N, seed, root, device), dataclasses.replace(cfg, seed=seed)
            if "autoencoder" in methods and seed not in detectors:
                tr, va = data.splits.train, data.splits.val
                detectors[seed] = train_autoencoder(tr.subset(tr.y == 0), va.subset(va.y == 0), run_cfg, ae_hidden, ae_quantile)
            new = run_methods(data, run_cfg, methods, detectors.get(seed)).assign(**settings)
            rows = pd.concat([rows, new], ignore_index=True) if len(rows) else new
        if csv is not None:
            rows.to_csv(csv, index=False)
    return rows[rows.N.isin(N_list) & rows.seed.isin(seeds) & rows.method.isin(methods)].reset_index(drop=True)


def _previous(csv: Path, settings: dict, batch_size: int) -> pd.DataFrame:
    """Rows of an earlier run trained with the same settings (the others are dropped)."""
    rows = pd.read_csv(csv, keep_default_na=True)
    same = (rows.batch_size == batch_size) if "batch_size" in rows else pd.Series(False, index=rows.index)
    for key, value in settings.items():
        same &= rows[key] == value if key in rows else False
    return rows[same].astype({"weight": str}).reset_index(drop=True)


def label(results: pd.DataFrame) -> pd.Series:
    """'method' or 'method (weight)' for families with several weights."""
    several = results.groupby("method")["weight"].transform("nunique") > 1
    return results.method.where(~several, results.method + " (" + results.weight.astype(str) + ")")


def stability(results: pd.DataFrame, column: str = "f1_full") -> pd.DataFrame:
    """Per model label: worst mean and largest std over N of `column`, and its mean at the largest N; best first."""
    stats = results.assign(label=label(results)).groupby(["label", "N"])[column].agg(["mean", "std"]).reset_index()
    largest = stats[stats.N == stats.N.max()].set_index("label")["mean"]
    table = stats.groupby("label").agg(worst_mean=("mean", "min"), largest_std=("std", "max"))
    return table.assign(at_largest_N=largest).sort_values(["worst_mean", "at_largest_N"], ascending=False)


def mean_pm(results: pd.DataFrame, index: Sequence[str], column: str, digits: int = 3) -> pd.Series:
    """'mean ± std' of `column` over seeds per `index` group; 'n/a' where every value is undefined."""
    stats = results.groupby(list(index))[column].agg(["mean", "std"])
    return pd.Series([show(m, digits) if pd.isna(s) or pd.isna(m) else f"{m:.{digits}f} ± {s:.{digits}f}"
                      for m, s in zip(stats["mean"], stats["std"])], index=stats.index, name=column)
