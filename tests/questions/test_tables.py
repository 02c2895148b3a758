"""The result tables as answers show them: mean ± std, and choices made on validation columns only
(mnist_hw.questions.tables)."""
import pandas as pd
import pytest

from mnist_hw.questions.tables import best_by_validation, highlight_best, mean_std


def test_choices_are_made_on_validation_columns_only():
    table = pd.DataFrame({"opt": ["a", "a", "b"], "val_acc": [90.0, 95.0, 80.0], "test_acc": [99.0, 90.0, 70.0]})
    assert best_by_validation(table).val_acc.tolist() == [95.0]
    assert best_by_validation(table, by=["opt"]).opt.tolist() == ["a", "b"]
    for bad in ("test_acc", "f1_full"):
        with pytest.raises(ValueError, match="validation data only"):
            best_by_validation(table, bad)
        with pytest.raises(ValueError, match="validation data only"):
            highlight_best(table, "opt", bad)
    css = highlight_best(table, "opt")
    assert css.loc[1].str.contains("#fff3a0").all() and css.loc[2].str.contains("#ffb3b3").all()


def test_mean_std_formats_undefined_as_na():
    table = pd.DataFrame({"g": [1, 1, 2, 3], "v": [1.0, 3.0, 5.0, float("nan")]})
    assert mean_std(table, ["g"], ["v"], digits=2).v.tolist() == ["2.00 ± 1.41", "5.00", "n/a"]
