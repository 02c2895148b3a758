"""Q3's written answers on small hand-made result tables: each sentence follows them (mnist_hw.questions.q3.answers)."""
import itertools

import numpy as np
import pandas as pd
import pytest

from mnist_hw.questions.q3 import answers as q3
from mnist_hw.questions.q3.scores import headline_table


@pytest.fixture
def q3_results():
    rows = []
    for N, seed in itertools.product([100, 1000], [0, 1]):
        for method, weight, f1 in [("baseline", "1", 0.5), ("weighted", "1", 0.6), ("weighted", "N/10", 0.8),
                                   ("resampled", "N/2", 0.7), ("augmented_gap", "1", 0.95)]:
            value = f1 - (N == 1000) * 0.1 + seed * 0.02
            rows.append(dict(N=N, seed=seed, method=method, weight=weight, f1_prior=value, f1_prior_lo=value - 0.2,
                             f1_prior_hi=min(1, value + 0.05), f1_full=value, f1_val=value, f1_test=np.nan if N == 1000 else value,
                             tpr_full=value, fpr_full=0.001, fp_full=1.0 if method == "baseline" else 0.0, prior=1 / N))
    return pd.DataFrame(rows)


def test_q3_weighted_answer_names_the_weighting_without_the_baseline(q3_results):
    """The weighting chosen on validation is named whether or not the baseline ran (an operator-precedence bug
    once dropped that sentence when it did not)."""
    without = q3.Study(q3_results[q3_results.method != "baseline"], test_zeros=980, test_ones=1135)
    text = q3.weighted_answer(without)
    assert "the weighting is **N/10**" in text and "0.810 at N = 100" in text and "Against the baseline" not in text
    with_base = q3.weighted_answer(q3.Study(q3_results, 980, 1135))
    assert "the weighting is **N/10**" in with_base and "Against the baseline (0.410 at N = 1000) the weighting helps" in with_base


def test_q3_answers_follow_the_results(q3_results):
    s = q3.Study(q3_results, test_zeros=980, test_ones=1135)
    base = q3.baseline_answer(s, pd.Series({100: 3, 1000: 0}))
    assert "0.510 ± 0.014 at N = 100 and 0.410 ± 0.014 at N = 1000" in base
    assert "no \"1\" from N = 1000 on" in base and "Its recall falls with N" in base
    assert "limited by missed \"1\"s (recall 0.410) and false alarms (1.0 of the 980 test \"0\"s" in base
    assert "the factor is **N/2**" in q3.resampled_answer(s, 1)
    table = q3.family_table(q3_results, "weighted")
    assert list(table.columns) == ["1", "N/10"] and list(table.index) == [100, 1000]


def test_q3_proposal_and_certification(q3_results):
    s = q3.Study(q3_results, test_zeros=980, test_ones=1135)
    priors = pd.Series({100: 1e-2, 1000: 1e-3})
    text = q3.proposal_answer(s, priors)
    assert "between 0.860 (N = 1000) and 0.960" in text and "missed at N = 1000" in text
    assert "cannot certify this" in text and "0 of the 980 test \"0\"s" in text
    best = q3.best_certifiable(s, priors)
    assert best[100] > best[1000] and best[1000] < 0.9  # a rarer positive needs more "0"s to certify
    table = headline_table(q3_results, pd.DataFrame([{"method": "weighted", "weight": "N/10"}]))
    assert q3.headline(table) == "augmented_gap: F1 at the training prior 0.860 ± 0.014 at N=1000 (95 % interval [0.66, 0.91])"
