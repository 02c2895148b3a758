"""Binary metrics for the positive class ("1"), with undefined values as NaN instead of a made-up number,
and exact (Clopper-Pearson) intervals for the rates they rest on."""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from scipy.stats import beta
from torch import Tensor

NAN = float("nan")


@dataclass(frozen=True)
class Confusion:
    """Confusion counts of the positive class."""

    tp: int
    fp: int
    fn: int
    tn: int

    @classmethod
    def of(cls, y: Tensor, pred: Tensor) -> Confusion:
        """Counts from true labels and predictions (0/1 tensors of the same shape); order matters."""
        y, pred = y.bool(), pred.bool()
        return cls(int((y & pred).sum()), int((~y & pred).sum()), int((y & ~pred).sum()), int((~y & ~pred).sum()))

    @property
    def positives(self) -> int:
        return self.tp + self.fn

    @property
    def negatives(self) -> int:
        return self.fp + self.tn

    def precision(self) -> float:
        """tp / predicted positives; NaN when nothing is predicted positive."""
        return _ratio(self.tp, self.tp + self.fp)

    def recall(self) -> float:
        """tp / actual positives (the true-positive rate); NaN when there are no positives."""
        return _ratio(self.tp, self.positives)

    def fpr(self) -> float:
        """fp / actual negatives; NaN when there are no negatives."""
        return _ratio(self.fp, self.negatives)

    def f1(self) -> float:
        """Harmonic mean of precision and recall, 2tp / (2tp + fp + fn): 0 when positives exist but none are
        found, NaN when there are no positives (recall, and so F1, is undefined; false alarms show in fpr)."""
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn) if self.positives else NAN

    def accuracy(self) -> float:
        return _ratio(self.tp + self.tn, self.positives + self.negatives)


def prior_f1(tpr: float, fpr: float, prior: float) -> float:
    """F1 at the positive prior `prior` from rates measured on a test set with any class balance: the F1 of the
    expected counts tp = prior·TPR, fp = (1 − prior)·FPR, fn = prior·(1 − TPR); it equals the harmonic mean of
    the precision at that prior and TPR, and is 0 (not undefined) when nothing is found."""
    if math.isnan(tpr) or math.isnan(fpr):
        return NAN
    return _ratio(2 * prior * tpr, prior * tpr + (1 - prior) * fpr + prior)


def prior_f1_interval(c: Confusion, prior: float, level: float = 0.95) -> tuple[float, float]:
    """A `level` confidence interval for prior_f1 of the rates behind `c`: Clopper-Pearson intervals for TPR
    (on the positives) and FPR (on the negatives), each at level ** 0.5 so that, the two samples being
    independent, both hold together with probability >= level; prior_f1 rises with TPR and falls with FPR,
    so its ends are the worst (low TPR, high FPR) and best combinations."""
    if not c.positives or not c.negatives:
        return NAN, NAN
    each = level ** 0.5
    tpr_lo, tpr_hi = clopper_pearson(c.tp, c.positives, each)
    fpr_lo, fpr_hi = clopper_pearson(c.fp, c.negatives, each)
    return prior_f1(tpr_lo, fpr_hi, prior), prior_f1(tpr_hi, fpr_lo, prior)


@functools.lru_cache(maxsize=None)
def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact two-sided binomial interval for a rate after k successes in n trials (Clopper-Pearson, from the beta
    quantiles): 0 as the lower end when k = 0, 1 as the upper end when k = n."""
    if not (isinstance(k, int) and isinstance(n, int) and 0 <= k <= n and n > 0):
        raise ValueError(f"clopper_pearson needs integers 0 <= k <= n, n > 0; got k={k!r}, n={n!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    tail = (1 - level) / 2
    lo = 0.0 if k == 0 else float(beta.ppf(tail, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - tail, k + 1, n - k))
    return lo, hi


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else NAN


def zeros_to_certify(prior: float, f1: float, level: float = 0.95) -> int:
    """The fewest negatives that, with no false positive among them (and every positive found), put the lower end
    of prior_f1_interval at `f1` or above: the Clopper-Pearson upper FPR bound 1 - ((1 - level**0.5) / 2) ** (1/n)
    must reach the FPR at which prior_f1(1, fpr, prior) = f1, i.e. 2·prior·(1/f1 - 1) / (1 - prior)."""
    fpr = 2 * prior * (1 / f1 - 1) / (1 - prior)
    return math.ceil(math.log((1 - level ** 0.5) / 2) / math.log1p(-fpr))
