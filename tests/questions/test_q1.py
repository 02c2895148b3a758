"""Q1's written answer on a small hand-made result table: each sentence follows it (mnist_hw.questions.q1)."""
import pandas as pd
import pytest

from mnist_hw.questions import q1


@pytest.fixture
def q1_rows():
    rows = [dict(batch_size=b, seed=s, time_share_s=t, train_acc=99.9, val_acc=v + s / 100, test_acc=99.0 + s / 10)
            for (b, t, v) in [(2, 8.0, 99.5), (128, 0.5, 99.8)] for s in (0, 1)]
    return pd.DataFrame(rows)


def test_q1_findings_follow_the_table(q1_rows):
    text = q1.findings(q1_rows, epochs=5, train_size=1000, setting="adam at learning rate 0.001")
    assert "batch 2 is the slowest (8.00 s) and batch 128 the fastest (0.50 s), 16x apart for the same 5 epochs" in text
    assert "Batch 128 has the highest mean validation accuracy (99.81 %); its test accuracy is 99.05 %" in text
    assert "leads the next batch size by 0.30 points" in text and "larger than that noise" in text
    assert "2: 2500, 128: 40" in text  # optimizer steps: 5 epochs of ceil(1000 / b)
    assert q1.headline(q1_rows) == "test acc (mean over seeds) b2: 99.05%, b128: 99.05%; best by validation: batch 128"


def test_q1_when_every_model_diverged(q1_rows):
    assert "Every model diverged" in q1.findings(q1_rows.head(0), 5, 1000, "sgd at learning rate 1e+06")
    assert q1.headline(q1_rows.head(0)) == "every model diverged"
