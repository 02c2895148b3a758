"""Binary metrics of Q3: F1 (NaN where undefined), F1 at a prior, and exact binomial intervals."""
import itertools
import math

import pytest
import torch

from mnist_hw.questions.q3.metrics import Confusion, clopper_pearson, prior_f1, prior_f1_interval, zeros_to_certify


def reference_f1(y: list[int], pred: list[int]) -> float:
    """F1 of the positive class written from the definitions, pair by pair (no library, no shortcut formula)."""
    pairs = list(zip(y, pred))
    tp = sum(1 for t, p in pairs if t == 1 and p == 1)
    predicted, actual = sum(p for _, p in pairs), sum(t for t, _ in pairs)
    if actual == 0:  # no positives: recall is 0/0, so F1 is undefined whatever was predicted
        return math.nan
    precision = tp / predicted if predicted else 0.0
    recall = tp / actual if actual else 0.0
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def test_confusion_counts_labels_then_predictions():
    c = Confusion.of(torch.tensor([1, 1, 1, 0, 0]), torch.tensor([1, 0, 0, 1, 0]))
    assert (c.tp, c.fp, c.fn, c.tn) == (1, 1, 2, 1)
    assert c.precision() == 0.5 and c.recall() == pytest.approx(1 / 3)
    assert c.f1() == pytest.approx(2 * 0.5 * (1 / 3) / (0.5 + 1 / 3)) == pytest.approx(0.4)
    # swapping labels and predictions (the earlier report's bug) swaps precision and recall
    swapped = Confusion.of(torch.tensor([1, 0, 0, 1, 0]), torch.tensor([1, 1, 1, 0, 0]))
    assert swapped.precision() == c.recall() and swapped.recall() == c.precision()


def test_f1_matches_reference_on_every_small_case():
    for n in range(1, 6):
        for y in itertools.product([0, 1], repeat=n):
            for pred in itertools.product([0, 1], repeat=n):
                got, want = Confusion.of(torch.tensor(y), torch.tensor(pred)).f1(), reference_f1(y, pred)
                assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want), (y, pred)


def test_undefined_metrics_are_nan():
    nothing = Confusion.of(torch.zeros(5, dtype=torch.long), torch.zeros(5, dtype=torch.long))
    assert math.isnan(nothing.f1()) and math.isnan(nothing.precision()) and math.isnan(nothing.recall())
    missed = Confusion.of(torch.tensor([1, 0]), torch.tensor([0, 0]))  # positives exist, none found: 0, not n/a
    assert missed.f1() == 0 and math.isnan(missed.precision()) and missed.recall() == 0
    false_alarm = Confusion.of(torch.tensor([0, 0]), torch.tensor([1, 0]))
    assert math.isnan(false_alarm.f1()) and math.isnan(false_alarm.recall()) and false_alarm.fpr() == 0.5


def test_prior_adjusted_f1():
    # at a 1/1000 prior a 1 % false-positive rate swamps the positives: precision p, F1 their harmonic mean with TPR 1
    p = 0.001 / (0.001 + 0.999 * 0.01)
    assert prior_f1(1.0, 0.01, 0.001) == pytest.approx(2 * p / (p + 1))
    # the F1 of a test set that has the prior's class balance equals the prior-adjusted F1 of its rates
    y = torch.tensor([1] * 10 + [0] * 90)
    pred = torch.tensor([1] * 8 + [0] * 2 + [1] * 9 + [0] * 81)
    c = Confusion.of(y, pred)
    assert prior_f1(c.recall(), c.fpr(), 0.1) == pytest.approx(c.f1())
    assert prior_f1(0.0, 0.0, 0.01) == 0 and prior_f1(1.0, 0.0, 0.01) == 1
    assert math.isnan(prior_f1(math.nan, 0.1, 0.01))


# ---------- Clopper-Pearson ----------

@pytest.mark.parametrize("k,n,lo,hi", [  # published exact intervals (e.g. R's binom.test)
    (5, 10, 0.187086, 0.812914),
    (1, 10, 0.002529, 0.445016),
    (0, 10, 0.0, 0.308497),
    (10, 10, 0.691503, 1.0),
])
def test_clopper_pearson_known_cases(k, n, lo, hi):
    assert clopper_pearson(k, n) == pytest.approx((lo, hi), abs=1e-6)


def test_no_false_positive_in_980_zeros_bounds_the_rate_at_rule_of_three():
    lo, hi = clopper_pearson(0, 980)
    assert lo == 0 and hi == pytest.approx(1 - 0.025 ** (1 / 980)) and hi == pytest.approx(0.00376, abs=1e-5)
    # one-sided 95 % (two-sided 90 %): the rule of three, 3 / n
    assert clopper_pearson(0, 980, level=0.90)[1] == pytest.approx(3 / 980, rel=0.01)


def test_clopper_pearson_is_symmetric_and_covers():
    for k in (0, 3, 17, 40):
        lo, hi = clopper_pearson(k, 40)
        assert clopper_pearson(40 - k, 40) == pytest.approx((1 - hi, 1 - lo), abs=1e-9)
    # exact: for any true rate, the interval misses it with probability at most 5 %
    n = 25
    for p in (0.02, 0.3, 0.5, 0.9):
        covered = sum(math.comb(n, k) * p ** k * (1 - p) ** (n - k) for k in range(n + 1)
                      if clopper_pearson(k, n)[0] <= p <= clopper_pearson(k, n)[1])
        assert covered >= 0.95


@pytest.mark.parametrize("k,n", [(-1, 10), (11, 10), (1, 0), (1.5, 10)])
def test_clopper_pearson_rejects_impossible_counts(k, n):
    with pytest.raises(ValueError, match="0 <= k <= n"):
        clopper_pearson(k, n)


def test_prior_f1_interval_from_worst_and_best_rates():
    prior = 2e-4
    c = Confusion(tp=1100, fp=0, fn=35, tn=980)
    lo, hi = prior_f1_interval(c, prior)
    assert lo < prior_f1(c.recall(), c.fpr(), prior) < hi
    each = 0.95 ** 0.5  # both rates hold together with 95 %
    tpr_lo, tpr_hi = clopper_pearson(1100, 1135, each)
    fpr_hi = clopper_pearson(0, 980, each)[1]
    assert lo == pytest.approx(prior_f1(tpr_lo, fpr_hi, prior)) and hi == pytest.approx(prior_f1(tpr_hi, 0.0, prior))
    assert lo < 0.1  # 980 "0"s cannot show a false-positive rate small enough for a 2e-4 prior
    assert all(math.isnan(v) for v in prior_f1_interval(Confusion(0, 1, 0, 9), prior))


@pytest.mark.parametrize("prior, f1", [(2e-4, 0.9), (1e-2, 0.8), (0.3, 0.95)])
def test_zeros_to_certify_is_the_smallest_count(prior, f1):
    n = zeros_to_certify(prior, f1)
    each = 0.95 ** 0.5  # as in prior_f1_interval: each rate's interval at level ** 0.5
    assert prior_f1(1.0, clopper_pearson(0, n, each)[1], prior) >= f1 > prior_f1(1.0, clopper_pearson(0, n - 1, each)[1], prior)
