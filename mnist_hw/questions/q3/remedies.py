"""Q3's remedies for class imbalance in the 0-vs-1 MLP: each method is a small function that trains on one N and
seed and returns a `Scored` (a score per sample and model, higher meaning more "1"-like, and a threshold per model),
so one evaluation (mnist_hw.questions.q3.scores) serves MLPs, a nearest-centroid rule and a one-class detector alike."""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import torch
from torch import Tensor

from ...engine.data import MEAN, STD, Split, generator
from .data import Imbalanced, distort
from ...engine.losses import MSE, AutogradLoss, CrossEntropy, Mixed, focal, margin
from .metrics import prior_f1
from ...engine.models import Autoencoder, SimpleMLP, seeded
from ...engine.stack import MLPStack
from ...engine.train import TrainConfig, fit, predict
from ...engine.device import synchronize

STACKED = ("baseline", "weighted", "logit_adjusted", "focal", "threshold")  # CE-family: one lockstep stack
METHODS = STACKED + ("resampled", "augmented", "augmented_gap", "centroid", "autoencoder")
FACTORS = ("1", "N/10", "N/2", "n0/n1")  # the earlier report's up-weightings of the "1"s


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
    """The earlier report's weights for the "1"s: 1, N/10, N/2 and n0/n1 (full compensation of the training imbalance)."""
    n1 = int(train_y.sum())
    return dict(zip(FACTORS, (1.0, N / 10, N / 2, (len(train_y) - n1) / n1)))


def weights_of(method: str) -> tuple[str, ...]:
    """The weight labels of a method's models (its rows): the factors for the weighted families, '-' for the
    detector, which has no weighting, else '1'."""
    return FACTORS if method in ("weighted", "resampled") else ("-",) if method == "autoencoder" else ("1",)


def _seeded_stack(seeds: Sequence[int], hidden: int, activation: str, count: int, device: torch.device) -> MLPStack:
    """A stream per seed of `count` 784-hidden-2 MLPs, each initialised from its stream's seed as it would be alone."""
    return MLPStack([seeded(seed, SimpleMLP, 784, hidden, 2, activation) for seed in seeds for _ in range(count)],
                    device, streams=len(seeds))


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
    """train_stacked_seeds for one seed (cfg.seed)."""
    return train_stacked_seeds([data], cfg, [cfg.seed], methods)[0]


def train_stacked_seeds(data: Sequence[Imbalanced], cfg: TrainConfig, seeds: Sequence[int],
                        methods: Sequence[str]) -> list[Scored]:
    """Baseline, class-weighted CE, logit adjustment and focal loss trained in lockstep, one stack with a minibatch
    stream per seed (data[i] of one N for seeds[i]); 'threshold' is the baseline's model with its threshold moved to
    the highest score of a validation "0". One Scored per seed, with its share of the stack's time."""
    ce, n_focal = [heads(d, methods) for d in data], int("focal" in methods)
    stack = _seeded_stack(seeds, cfg.hidden, cfg.activation, len(ce[0]) + n_focal, data[0].splits.train.x.device)
    loss = Mixed([(CrossEntropy(torch.tensor([h.class_weight for hs in ce for h in hs]),
                                torch.tensor([h.offset for hs in ce for h in hs])), len(ce[0])),
                  (AutogradLoss(focal), n_focal)])
    seconds = fit(stack, [d.splits.train for d in data], cfg, seeds=list(seeds),
                  loss=loss).seconds
    return [_stacked_scored(one, d, hs, n_focal, methods, seconds / len(seeds))
            for one, d, hs in zip(stack.streams_apart(), data, ce)]


def _stacked_scored(stack: MLPStack, data: Imbalanced, ce: list[Head], n_focal: int, methods: Sequence[str],
                    seconds: float) -> Scored:
    """One seed's models of train_stacked_seeds, scored (its stream of the trained stack)."""
    val = data.splits.val
    names = [(h.method, h.weight) for h in ce] + [("focal", "1")] * n_focal
    columns, thresholds = list(range(len(names))), [0.0] * len(names)
    if "threshold" in methods:
        base = names.index(("baseline", "1"))
        columns.append(base)
        thresholds.append(margin(predict(stack, val.x[val.y == 0]))[:, base].max().item())
        names.append(("threshold", "1"))
    keep = [i for i, (method, _) in enumerate(names) if method in methods]
    cols = torch.tensor(columns)[keep]
    return Scored([names[i] for i in keep], lambda x: margin(predict(stack, x))[:, cols.to(x.device)],
                  torch.tensor(thresholds)[keep], seconds)


def train_resampled(data: Imbalanced, cfg: TrainConfig) -> list[Scored]:
    """train_resampled_seeds for one seed (cfg.seed)."""
    return train_resampled_seeds([data], cfg, [cfg.seed])[0]


def train_resampled_seeds(data: Sequence[Imbalanced], cfg: TrainConfig, seeds: Sequence[int]) -> list[list[Scored]]:
    """One model per seed and factor, on minibatches drawn with replacement with the "1"s up-weighted by the factor
    (what torch's WeightedRandomSampler does). Each needs its own minibatch stream, so the models train as the
    streams of one stack (seed-major), each initialised and shuffled from its seed as it would be alone. Per seed,
    one Scored per factor."""
    ups = [factors(d.N, d.splits.train.y) for d in data]
    streams = [(seed, d.splits.train, w) for seed, d, up in zip(seeds, data, ups) for w in up.values()]
    stack = MLPStack([seeded(seed, SimpleMLP, 784, cfg.hidden, 2, cfg.activation) for seed, _, _ in streams],
                     data[0].splits.train.x.device, streams=len(streams))
    seconds = fit(stack, [train for _, train, _ in streams], cfg, seeds=[s for s, _, _ in streams],
                  sample_weights=[1 + (w - 1) * train.y.cpu().double() for _, train, w in streams]).seconds  # CPU: mps has no float64
    apart, K = stack.streams_apart(), len(ups[0])
    # each model scores alone; the stack's time is shared by its models
    return [[Scored([("resampled", weight)], lambda x, one=apart[i * K + k]: margin(predict(one, x)), torch.zeros(1),
                    seconds / len(streams)) for k, weight in enumerate(up)] for i, up in enumerate(ups)]


def augmented_split(data: Imbalanced, seed: int, share: float) -> Split:
    """The training split with its "1"s topped up by distorted copies (imbalance.distort) to `share` of the "0"s."""
    train = data.splits.train
    ones, zeros = train.x[train.y == 1], train.x[train.y == 0]
    extra = distort(ones, max(0, int(share * len(zeros)) - len(ones)), generator(seed, "augment"))
    return Split(torch.cat([train.x, extra]), torch.cat([train.y, train.y.new_ones(len(extra))]))


def train_augmented(data: Imbalanced, cfg: TrainConfig, methods: Sequence[str] = ("augmented", "augmented_gap"),
                    share: float = 0.1, tail: int = 25) -> Scored:
    """train_augmented_seeds for one seed (cfg.seed)."""
    return train_augmented_seeds([data], cfg, [cfg.seed], methods, share, tail)[0]


def train_augmented_seeds(data: Sequence[Imbalanced], cfg: TrainConfig, seeds: Sequence[int],
                          methods: Sequence[str] = ("augmented", "augmented_gap"), share: float = 0.1,
                          tail: int = 25) -> list[Scored]:
    """Per seed, one 784-cfg.hidden-2 MLP trained on that seed's augmented split (see augmented_split), the seeds as
    the streams of one stack; 'augmented' thresholds its logit margin at 0, 'augmented_gap' in the gap between the
    validation "0"s and held-out distorted "1"s (see gap_threshold). share 0.1, hidden 16 and tail 25 were chosen by
    benchmarks/q3_tuning.py on data that is not the test set."""
    unknown = sorted(set(methods) - {"augmented", "augmented_gap"})
    if unknown:
        raise ValueError(f"train_augmented trains 'augmented' and 'augmented_gap', not {unknown}")
    start = time.perf_counter()
    grown = [augmented_split(d, seed, share) for d, seed in zip(data, seeds)]
    stack = _seeded_stack(seeds, cfg.hidden, cfg.activation, 1, grown[0].x.device)
    fit(stack, grown, cfg, seeds=list(seeds))
    scored = []
    for one, d, seed in zip(stack.streams_apart(), data, seeds):
        score = lambda x, one=one: margin(predict(one, x))
        thresholds = {"augmented": 0.0}
        if "augmented_gap" in methods:
            val, held_out = d.splits.val, score(held_out_ones(d, seed))[:, 0]
            thresholds["augmented_gap"] = gap_threshold(score(val.x[val.y == 0])[:, 0], held_out, d.prior, tail)
        names = [m for m in thresholds if m in methods]
        scored.append(Scored([(m, "1") for m in names], lambda x, score=score, k=len(names): score(x).expand(-1, k),
                             torch.tensor([thresholds[m] for m in names]), 0.0))
    synchronize(grown[0].x.device)
    seconds = (time.perf_counter() - start) / len(seeds)
    return [replace(s, seconds=seconds) for s in scored]


def held_out_ones(data: Imbalanced, seed: int, count: int = 1000) -> Tensor:
    """`count` fresh distortions (a stream of their own) of every labelled "1", training and validation: "1"-like
    images the augmented model never trained on, from which gap_threshold reads the true-positive rate."""
    train, val = data.splits.train, data.splits.val
    return distort(torch.cat([train.x[train.y == 1], val.x[val.y == 1]]), count, generator(seed, "held-out"))


@dataclass(frozen=True)
class Tail:
    """The upper tail of the "0"s' scores as exponential (peaks over threshold): above u, the `tail`-th largest of
    n scores, FPR(t) = k/n * exp(-(t - u) / beta), with beta the mean excess over u of the k scores above it."""

    top: Tensor  # the k + 1 largest scores, highest first
    u: Tensor
    beta: Tensor
    n: int

    @property
    def k(self) -> int:
        return len(self.top) - 1


def tail_fit(zeros: Tensor, tail: int = 25) -> Tail:
    """The exponential tail of the "0" scores over their top `tail` (see Tail)."""
    zeros = zeros.double().cpu()
    top = zeros.topk(min(tail + 1, len(zeros))).values
    return Tail(top, top[-1], (top[:-1] - top[-1]).mean().clamp_min(1e-12), len(zeros))


def threshold_in_gap(fitted: Tail, ones: Tensor, prior: float) -> float:
    """The threshold, from the highest "0" up to the highest "1"-like score, that maximises the F1 expected at
    `prior`, with the FPR extrapolated by the tail and the TPR read off the held-out "1"-like scores `ones`."""
    ones, top = ones.double().cpu(), fitted.top
    candidates = torch.linspace(top[0].item(), max(top[0].item(), ones.max().item()), 400, dtype=torch.float64)
    fpr = fitted.k / fitted.n * torch.exp(-(candidates - fitted.u) / fitted.beta)
    tpr = (ones[None, :] > candidates[:, None]).double().mean(1)
    f1 = torch.tensor([prior_f1(t, f, prior) for t, f in zip(tpr.tolist(), fpr.tolist())], dtype=torch.float64)
    return candidates[int(f1.argmax())].item()


def gap_threshold(zeros: Tensor, ones: Tensor, prior: float, tail: int = 25) -> float:
    """The threshold of 'augmented_gap': a validation set of n "0"s cannot measure a false-positive rate below
    about 1/n, yet at a prior of 1e-4 that rate must be far smaller, so the FPR beyond the observed "0"s is
    extrapolated by their exponential tail (tail_fit) and the threshold placed by threshold_in_gap; it is always
    above the highest "0"."""
    return threshold_in_gap(tail_fit(zeros, tail), ones, prior)


def train_centroid(data: Imbalanced) -> Scored:
    """Nearest class mean (prototype) in pixel space: needs one "1" at least, no optimisation."""
    train = data.splits.train
    start = time.perf_counter()
    c0, c1 = (train.x[train.y == c].mean(0) for c in (0, 1))
    synchronize(train.x.device)
    seconds = time.perf_counter() - start
    score = lambda x: ((x - c0).pow(2).sum(1) - (x - c1).pow(2).sum(1))[:, None]
    return Scored([("centroid", "1")], score, torch.zeros(1), seconds)


def train_autoencoder(zeros: Split, val_zeros: Split, cfg: TrainConfig, quantile: float = 0.99) -> Scored:
    """train_autoencoders for one seed (cfg.seed)."""
    return train_autoencoders([zeros], [val_zeros], cfg, [cfg.seed], quantile)[0]


def train_autoencoders(zeros: Sequence[Split], val_zeros: Sequence[Split], cfg: TrainConfig, seeds: Sequence[int],
                       quantile: float = 0.99) -> list[Scored]:
    """One-class detectors trained on "0"s only, one per seed (the streams of one stack): a 784-cfg.hidden-784
    autoencoder whose reconstruction error scores "1"-ness, flagged above the `quantile` of the validation "0"s'
    errors. It never sees a "1", so it is the same for every N."""
    pixels = lambda x: x * STD + MEAN  # the sigmoid output reconstructs pixels on the [0, 1] scale
    stack = MLPStack([seeded(seed, Autoencoder, cfg.hidden, cfg.activation) for seed in seeds], zeros[0].x.device,
                     streams=len(seeds))
    seconds = fit(stack, [Split(pixels(z.x), pixels(z.x)) for z in zeros], cfg, seeds=list(seeds),
                  loss=MSE()).seconds
    scored = []
    for one, val in zip(stack.streams_apart(), val_zeros):
        error = lambda x, one=one: (predict(one, pixels(x))[:, 0] - pixels(x)).pow(2).mean(1, keepdim=True)
        scored.append(Scored([("autoencoder", "-")], error, error(val.x)[:, 0].cpu().quantile(quantile).view(1),
                             seconds / len(seeds)))
    return scored
