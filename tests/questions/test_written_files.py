"""The files mnist_hw.publish.grade reads are written by package functions: Q3's ranking and headline rebuilt from the
committed results.csv equal the committed files, and Q4's per-split MSE table has the layout grade reads."""
import shutil

import pandas as pd
import pytest
import torch

from mnist_hw.publish import grade
from mnist_hw.questions import q3, q4
from mnist_hw.engine.data import Split
from mnist_hw.engine.models import PCA, Autoencoder, seeded
from mnist_hw.engine.stack import MLPStack
from mnist_hw.questions.q4 import per_image_mse, split_mse
from mnist_hw.questions.q3.scores import headline_table, ranking

Q3 = grade.RESULTS / "q3_imbalance"


@pytest.fixture
def q3_reference():
    if not (Q3 / "headline.csv").exists():
        pytest.skip("results/ has no committed Q3 run (make run writes it)")
    return pd.read_csv(Q3 / "results.csv", dtype={"weight": str})


def test_q3_ranking_and_headline_rebuilt_from_the_rows_equal_the_committed_files(q3_reference, tmp_path):
    rank = ranking(q3_reference)
    pd.testing.assert_frame_equal(rank, pd.read_csv(Q3 / "ranking.csv"), check_dtype=False)
    shutil.copytree(Q3, tmp_path / "q3")
    headline_table(q3_reference, rank).to_csv(tmp_path / "q3" / "headline.csv", index=False)  # as run.save_table
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "q3" / "headline.csv"), pd.read_csv(Q3 / "headline.csv"))
    assert all(c.passed for c in q3.grade(Q3, tmp_path / "q3"))


def test_q3_headline_without_the_proposal_is_the_ranking_first(q3_reference):
    rows = q3_reference[q3_reference.method != "augmented_gap"]
    rank = ranking(rows)
    head = headline_table(rows, rank).iloc[0]
    first = rows[(rows.method == rank.method[0]) & (rows.weight == rank.weight[0]) & (rows.N == rows.N.max())]
    assert head.method == rank.method[0] and head.seeds == len(first) and head.value == first.f1_prior.mean()


@pytest.mark.parametrize("diverged", [False, True])
def test_q4_split_mse_has_the_layout_grade_reads(tmp_path, diverged):
    g = torch.Generator().manual_seed(0)
    splits = {name: Split(x := torch.rand(40, 784, generator=g), x) for name in ("train", "val", "test")}
    stack = MLPStack([seeded(0, Autoencoder, 4)])
    pca = PCA(4).fit(splits["train"].x)
    split_mse(per_image_mse(stack, pca, splits, diverged)).to_csv(tmp_path / "results.csv")  # as run.save_table
    table = pd.read_csv(tmp_path / "results.csv", index_col="split")
    assert list(table.index) == ["train", "val", "test"] and list(table.columns) == ["autoencoder", "PCA-4"]
    test = splits["test"].x
    assert table.loc["test", "PCA-4"] == pytest.approx((pca.reconstruct(test) - test).pow(2).mean().item(), rel=1e-6)
    if diverged:
        assert table.autoencoder.isna().all()
    else:
        own = (stack.to_models()[0](test) - test).pow(2).mean().item()
        assert table.loc["test", "autoencoder"] == pytest.approx(own, rel=1e-6)
        mse_checks = [c for c in q4.grade(tmp_path, tmp_path) if "MSE" in c.check]
        assert len(mse_checks) == 3 and all(c.passed for c in mse_checks)
