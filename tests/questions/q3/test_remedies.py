"""Q3 data and methods on tiny synthetic data: the imbalance builder, distortions, the remedies, the sweep's
resume by row identity, and the mean ± std formatter."""
import math

import pandas as pd
import pytest
import torch

import dataclasses

from mnist_hw.questions.q3 import remedies
from mnist_hw.questions.q3 import sweep as q3_sweep
from mnist_hw.engine.data import Split
from mnist_hw.questions.q3.data import build, distort, max_N, sparsify
from mnist_hw.engine.losses import AutogradLoss, CrossEntropy, Mixed, focal
from mnist_hw.questions.q3.remedies import METHODS, factors, gap_threshold, train_augmented, train_autoencoder, train_centroid
from mnist_hw.questions.q3.sweep import ROW_KEY, run_methods, sweep
from mnist_hw.runs import sweep as runs_sweep
from mnist_hw.runs.store import RowStore
from mnist_hw.questions.tables import mean_std
from mnist_hw.engine.train import TrainConfig


def toy(n0: int, n1: int, seed: int = 0) -> Split:
    """Standardised-looking 784-pixel rows; "1"s carry a fixed pattern the "0"s lack."""
    g = torch.Generator().manual_seed(seed)
    y = torch.cat([torch.zeros(n0, dtype=torch.long), torch.ones(n1, dtype=torch.long)])
    y = y[torch.randperm(len(y), generator=g)]
    x = torch.randn(len(y), 784, generator=g) + 2 * y[:, None].float() * torch.linspace(-1, 1, 784)
    return Split(x, y)


# ---------- imbalance builder ----------

def test_builder_counts_and_zero_split_independent_of_N():
    train, test = toy(500, 1000), toy(100, 300, seed=1)
    by_N = {N: build(train, test, N, seed=3) for N in (1, 10, 100, 400)}
    for N, d in by_N.items():
        counts = d.counts()
        kept = 1000 // N
        assert counts.loc["train", '"1"s'] + counts.loc["val", '"1"s'] == kept
        assert counts.loc["val", '"1"s'] == int(kept * 0.2) and counts.loc["val", '"0"s'] == 100
        assert counts.loc["test (sparse)", '"1"s'] == 300 // N and counts.loc["test (full)", '"1"s'] == 300
        assert d.prior == pytest.approx(counts.loc["train", '"1"s'] / len(d.splits.train))
    zeros = [d.splits.train.x[d.splits.train.y == 0] for d in by_N.values()]
    assert all(torch.equal(zeros[0], z) for z in zeros)  # one detector on "0"s serves every N


def test_builder_is_deterministic_per_seed():
    train, test = toy(200, 400), toy(50, 60)
    a, b, c = build(train, test, 7, seed=0), build(train, test, 7, seed=0), build(train, test, 7, seed=1)
    assert torch.equal(a.splits.train.x, b.splits.train.x) and torch.equal(a.splits.test.x, b.splits.test.x)
    assert not torch.equal(a.splits.train.x, c.splits.train.x)


def test_builder_N_limits():
    train, test = toy(100, 50), toy(20, 10)
    assert max_N(train.y) == 50
    for bad in (0, -5, 51, 2.5):
        with pytest.raises(ValueError, match=rf"N must be an integer in 1\.\.50 .*N={bad}"):
            build(train, test, bad, seed=0)


def test_sparsify_keeps_all_zeros_first():
    y = torch.tensor([1, 0, 1, 1, 0, 1])
    idx = sparsify(y, 2, torch.Generator().manual_seed(0))
    assert idx[:2].tolist() == [1, 4] and len(idx) == 4 and (y[idx[2:]] == 1).all()


def test_distort_moves_a_stroke_and_is_seeded():
    image = torch.zeros(28, 28)
    image[4:24, 12:16] = 1  # a vertical bar 4 pixels wide, a "1"
    x = ((image.flatten() - 0.1307) / 0.3081)[None]
    a = distort(x, 64, torch.Generator().manual_seed(0))
    b = distort(x, 64, torch.Generator().manual_seed(0))
    assert a.shape == (64, 784) and torch.equal(a, b)
    ink = a * 0.3081 + 0.1307
    assert ink.min() >= -1e-5 and ink.max() <= 1 + 1e-5  # still pixels on the [0, 1] scale
    assert (ink.sum(1) > 5).all() and ink.sum(1).std() > 1  # the bar survives, with varied stroke width
    assert (ink > 0.5).ne(image.flatten() > 0.5).any(1).float().mean() > 0.9  # almost every copy moved
    assert distort(x[:0], 5, torch.Generator()).shape == (0, 784)


# ---------- remedies ----------

def test_factors_are_the_seeds():
    y = torch.tensor([0] * 90 + [1] * 10)
    assert factors(100, y) == {"1": 1.0, "N/10": 10.0, "N/2": 50.0, "n0/n1": 9.0}


def test_mixed_loss_splits_models():
    out, y = torch.randn(6, 3, 2), torch.tensor([0, 1, 0, 0, 1, 0])
    ce = CrossEntropy()
    losses, grad = Mixed([(ce, 2), (AutogradLoss(focal), 1)])(out, y)
    ref_ce, ref_focal = ce(out[:, :2], y), AutogradLoss(focal)(out[:, 2:], y)
    torch.testing.assert_close(losses, torch.cat([ref_ce[0], ref_focal[0]]))
    torch.testing.assert_close(grad, torch.cat([ref_ce[1], ref_focal[1]], 1))


def test_mixed_loss_on_streams_equals_each_stream_alone():
    """Models stream-major (2 streams of 2 CE + 1 focal): one call with per-model labels equals a call per stream."""
    g = torch.Generator().manual_seed(0)
    out, y = torch.randn(6, 6, 2, generator=g), torch.randint(2, (2, 6), generator=g)
    weight = torch.tensor([[1.0, 3.0], [1.0, 5.0], [1.0, 2.0], [1.0, 7.0]])  # per CE model, stream-major
    losses, grad = Mixed([(CrossEntropy(weight), 2), (AutogradLoss(focal), 1)])(out, y.repeat_interleave(3, 0).T)
    for s in range(2):
        ref = Mixed([(CrossEntropy(weight[2 * s:2 * s + 2]), 2), (AutogradLoss(focal), 1)])(out[:, 3 * s:3 * s + 3], y[s])
        torch.testing.assert_close(losses[3 * s:3 * s + 3], ref[0])  # a mean over the batch: rounding may differ
        torch.testing.assert_close(grad[:, 3 * s:3 * s + 3], ref[1], rtol=0, atol=0)


def test_focal_is_torchvisions_sigmoid_focal_loss():
    from torchvision.ops import sigmoid_focal_loss
    g = torch.Generator().manual_seed(0)
    out, y = 3 * torch.randn(50, 4, 2, generator=g), torch.randint(2, (50,), generator=g)
    ref = sigmoid_focal_loss(out[..., 1] - out[..., 0], y[:, None].float().expand(-1, 4), alpha=-1, gamma=2,
                             reduction="none").mean(0)
    torch.testing.assert_close(focal(out, y), ref, rtol=0, atol=0)
    torch.testing.assert_close(focal(out, y[:, None].expand(-1, 4)), ref, rtol=0, atol=0)  # per-model labels


def test_seeds_as_streams_give_each_seeds_rows_alone():
    """One N's seeds trained as the streams of each method's stack: every row as that seed trained alone."""
    train, test = toy(300, 300), toy(60, 60, seed=1)
    data = [build(train, test, 5, seed) for seed in (0, 3)]
    cfg = TrainConfig(hidden=4, epochs=2, batch_size=32)
    zeros = lambda d, name: getattr(d.splits, name).subset(getattr(d.splits, name).y == 0)
    detectors = remedies.train_autoencoders([zeros(d, "train") for d in data], [zeros(d, "val") for d in data],
                                            dataclasses.replace(cfg, hidden=8), [0, 3])
    together = q3_sweep.run_methods_seeds(data, cfg, [0, 3], METHODS, detectors, aug_hidden=8)
    alone = pd.concat([run_methods(d, dataclasses.replace(cfg, seed=seed), METHODS,
                                   train_autoencoder(zeros(d, "train"), zeros(d, "val"),
                                                     dataclasses.replace(cfg, hidden=8, seed=seed)), aug_hidden=8)
                       for d, seed in zip(data, (0, 3))], ignore_index=True)
    assert len(together) == 2 * (len(METHODS) + 6) and together.f1_val.notna().any()
    pd.testing.assert_frame_equal(together.drop(columns="train_time_s"), alone.drop(columns="train_time_s"))


def test_gap_threshold_clears_every_zero_and_keeps_separated_ones():
    g = torch.Generator().manual_seed(0)
    zeros, ones = torch.randn(2000, generator=g), 12 + torch.randn(500, generator=g)
    t = gap_threshold(zeros, ones, prior=1e-4)
    assert zeros.max() < t and (ones > t).float().mean() > 0.95
    # the rarer the "1"s, the fewer false alarms are affordable: the threshold never moves down
    ts = [gap_threshold(zeros, 5 + torch.randn(500, generator=g), prior) for prior in (1e-1, 1e-2, 1e-4)]
    assert ts == sorted(ts) and ts[0] >= zeros.max()


def test_every_method_runs_and_learns_on_synthetic_data():
    d = build(toy(400, 400), toy(100, 100, seed=1), 10, seed=0)
    cfg = TrainConfig(hidden=4, epochs=3, batch_size=32, seed=0)
    tr, va = d.splits.train, d.splits.val
    detector = train_autoencoder(tr.subset(tr.y == 0), va.subset(va.y == 0), dataclasses.replace(cfg, hidden=8))
    rows = run_methods(d, cfg, METHODS, detector, aug_hidden=8)
    assert set(rows.method) == set(METHODS)
    assert len(rows) == len(METHODS) + 2 * 3  # weighted and resampled come with 4 factors each
    assert rows.f1_full.between(0, 1).all() and rows.f1_prior.between(0, 1).all()
    assert (rows.f1_prior_lo <= rows.f1_prior).all() and (rows.f1_prior <= rows.f1_prior_hi).all()
    easy = rows.set_index(["method", "weight"]).loc[[("centroid", "1"), ("weighted", "n0/n1"), ("augmented_gap", "1")]]
    assert (easy.f1_full > 0.8).all()
    gap = rows.set_index("method").loc["augmented_gap"]
    assert gap.val_fp == 0 and gap.fp_full + gap.tn_full == 100 and gap.tp_full + gap.fn_full == 100
    with pytest.raises(ValueError, match="unknown methods"):
        run_methods(d, cfg, ["smote"])


def test_centroid_scores_the_nearer_mean():
    d = build(toy(100, 100), toy(20, 20), 5, seed=0)
    scored = train_centroid(d)
    c0, c1 = (d.splits.train.x[d.splits.train.y == c].mean(0) for c in (0, 1))
    assert scored.classify(torch.stack([c0, c1]))[:, 0].tolist() == [0, 1]


def test_sweep_resumes_by_row_identity(monkeypatch, tmp_path):
    train, test = toy(300, 300), toy(60, 60, seed=1)
    monkeypatch.setattr(q3_sweep, "load_imbalanced", lambda N, seed, root, device: build(train, test, N, seed))
    cfg = TrainConfig(hidden=4, epochs=1, batch_size=64)
    store, appended, real = RowStore(tmp_path / "results.csv", ROW_KEY), [], runs_sweep.commit

    def recording(*parts):  # what each unit's commit brought to the store
        real(*parts)
        appended.extend(rows for target, rows in parts if target is store)
    monkeypatch.setattr(runs_sweep, "commit", recording)
    first = sweep([5], [0], ["baseline"], cfg, store=store, progress=False)
    assert len(first) == 1 and len(appended) == 1
    both = sweep([5], [0, 1], ["baseline", "weighted", "centroid"], cfg, store=store, progress=False)
    new = pd.concat(appended[1:])
    # (5, 0): only the missing weighted and centroid train; (5, 1): every method
    assert sorted(set(zip(new.seed, new.method))) == [(0, "centroid"), (0, "weighted"), (1, "baseline"),
                                                      (1, "centroid"), (1, "weighted")]
    assert not store.done().duplicated(ROW_KEY).any() and len(both) == 2 * (1 + 4 + 1)
    timing = ["train_time_s"]
    pd.testing.assert_frame_equal(both[both.method == "baseline"].iloc[:1].drop(columns=timing).reset_index(drop=True),
                                  first.drop(columns=timing), check_dtype=False)
    again = sweep([5], [0, 1], ["baseline", "weighted", "centroid"], cfg, store=store, progress=False)
    assert len(appended) == 3 and len(again) == len(both)  # nothing left to train
    alone = sweep([5], [0, 1], ["baseline", "weighted", "centroid"], cfg, progress=False)  # no store: the same rows
    pd.testing.assert_frame_equal(alone.drop(columns=timing), again.drop(columns=timing), check_dtype=False)


def test_methods_refuse_what_they_cannot_train():
    d = build(toy(100, 100), toy(20, 20), 5, seed=0)
    with pytest.raises(ValueError, match=r"train_augmented trains 'augmented' and 'augmented_gap', not \['baseline'\]"):
        train_augmented(d, TrainConfig(hidden=4, epochs=1), ("augmented", "baseline"))


def test_threshold_uses_the_baseline_wherever_it_sits(monkeypatch):
    d = build(toy(200, 200), toy(40, 40, seed=1), 5, seed=0)
    cfg = TrainConfig(hidden=4, epochs=1, batch_size=32)
    first = remedies.train_stacked(d, cfg, ["baseline", "threshold", "weighted"])
    heads = remedies.heads
    monkeypatch.setattr(remedies, "heads", lambda data, methods: heads(data, methods)[::-1])  # baseline last
    last = remedies.train_stacked(d, cfg, ["baseline", "threshold", "weighted"])
    x = d.full_test.x
    pick = lambda s, name: s.score(x)[:, s.names.index(name)]
    torch.testing.assert_close(pick(first, ("threshold", "1")), pick(first, ("baseline", "1")))
    torch.testing.assert_close(pick(last, ("threshold", "1")), pick(last, ("baseline", "1")))


def test_mean_std_formats_over_seeds():
    table = pd.DataFrame({"N": [1, 1, 2, 3, 3], "f1": [0.5, 0.7, 0.9, math.nan, math.nan]})
    got = mean_std(table, ["N"], ["f1"], digits=2)["f1"]
    assert got.to_dict() == {1: "0.60 ± 0.14", 2: "0.90", 3: "n/a"}
