"""Binary metrics for the positive class ("1"), with undefined values as NaN instead of a made-up number."""
from __future__ import annotations

import math
from dataclasses import dataclass

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


def prior_precision(tpr: float, fpr: float, prior: float) -> float:
    """Precision a classifier with this TPR and FPR would have where positives make up `prior` of the data."""
    return _ratio(prior * tpr, prior * tpr + (1 - prior) * fpr)


def prior_f1(tpr: float, fpr: float, prior: float) -> float:
    """F1 at the positive prior `prior` from rates measured on a test set with any class balance: the F1 of the
    expected counts tp = prior·TPR, fp = (1 − prior)·FPR, fn = prior·(1 − TPR); it equals the harmonic mean of
    prior_precision and TPR, and is 0 (not undefined) when nothing is found."""
    if math.isnan(tpr) or math.isnan(fpr):
        return NAN
    return _ratio(2 * prior * tpr, prior * tpr + (1 - prior) * fpr + prior)


def show(value: float, digits: int = 3) -> str:
    """A metric for a table: 'n/a' when undefined."""
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else NAN
