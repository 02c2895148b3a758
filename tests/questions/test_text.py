"""The words the written answers share (mnist_hw.questions.text)."""
import pandas as pd

from mnist_hw.questions.text import trend


def test_trend_words():
    assert trend(pd.Series([1, 2, 3])) == "rises at every step"
    assert trend(pd.Series([3, 1])) == "falls at every step"
    assert trend(pd.Series([1, 3, 2])) == "is not monotone" and trend(pd.Series([1.0])) == "has a single value"
