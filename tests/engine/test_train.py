"""The engine's training (mnist_hw.engine.train): the configuration's checks, fit against plain PyTorch, streams
equal to training alone, divergence, prediction and evaluation."""
import pytest
import torch

from mnist_hw.engine import classic
from mnist_hw.engine.data import Split
from mnist_hw.engine.stack import MLPStack
from mnist_hw.engine.models import SimpleMLP, seeded
from mnist_hw.engine.train import TrainConfig, evaluate, fit, predict


@pytest.mark.parametrize("field,value", [("batch_size", 0), ("batch_size", -4), ("epochs", 0), ("hidden", 2.5),
                                         ("activation", "swish"), ("optimizer", "rmsprop"), ("lr", 0.0)])
def test_config_rejects_bad_values(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})


def test_fit_matches_plain_pytorch_training(blobs):
    train = Split(*blobs)
    model = seeded(3, SimpleMLP, 20, 6, 3, "sigmoid")
    stack = MLPStack([model])
    fit(stack, train, TrainConfig(epochs=3, batch_size=16, lr=0.01, seed=3))
    classic.train(model, train, epochs=3, batch_size=16, lr=0.01, seed=3)  # torch.optim.Adam + autograd, same batches
    torch.testing.assert_close(stack.to_models()[0].fc1.weight, model.fc1.weight, rtol=1e-5, atol=1e-6)


def test_streams_equal_training_alone_in_float64(splits, trained_alone):
    """Two seeds as two streams, each on its own data: each stream ends bitwise where its single-stream stack
    ends, and every model within float64 rounding of where it would end alone."""
    x, y = splits.train.x.double(), splits.train.y
    data = [Split(x, y), Split(x.flip(0), y.flip(0))]
    configs = [[TrainConfig(hidden=h, activation=a, epochs=2, batch_size=8, lr=0.01, seed=s)
                for h, a in [(4, "relu"), (9, "sigmoid"), (6, "tanh"), (4, "relu")]] for s in (1, 2)]

    def trained(streams):
        models = [seeded(c.seed, SimpleMLP, 20, c.hidden, 3, c.activation).double() for cs in streams for c in cs]
        stack = MLPStack(models, streams=len(streams))
        fit(stack, [data[c[0].seed - 1] for c in streams], TrainConfig(epochs=2, batch_size=8, lr=0.01), seeds=[c[0].seed for c in streams])
        return stack.to_models()

    both = trained(configs)
    for s, cs in enumerate(configs):
        for stacked, single in zip(both[4 * s:4 * s + 4], trained([cs])):
            assert all(torch.equal(p, q) for p, q in zip(stacked.parameters(), single.parameters()))
        for stacked, c in zip(both[4 * s:4 * s + 4], cs):
            for p, q in zip(stacked.parameters(), trained_alone(c, data[s], torch.float64).parameters()):
                torch.testing.assert_close(p, q, rtol=1e-13, atol=1e-14)


def test_diverged_models_are_marked_and_get_no_accuracy(splits):
    models = [seeded(i, SimpleMLP, 20, 4, 3) for i in range(3)]
    with torch.no_grad():
        models[1].fc1.weight[0, 0] = float("inf")
    stack = MLPStack(models)
    history = fit(stack, splits.train, TrainConfig(epochs=2, batch_size=16), val=splits.val)
    assert history.diverged.tolist() == [False, True, False] and history.curves.epoch.max() == 2
    accuracy = evaluate(stack, splits.val)["accuracy"]
    assert accuracy[1].isnan() and accuracy[[0, 2]].isfinite().all()
    assert history.curves.query("model == 1").val_accuracy.isna().all()


def test_fit_stops_when_every_model_diverged(splits):
    stack = MLPStack([seeded(0, SimpleMLP, 20, 4, 3)])
    history = fit(stack, splits.train, TrainConfig(epochs=5, batch_size=16, optimizer="sgd", lr=1e30))
    assert history.diverged.all() and history.curves.epoch.max() < 5


def test_fit_rejects_mismatched_streams(splits):
    stack = MLPStack([seeded(0, SimpleMLP, 20, 4, 3)] * 2, streams=2)
    with pytest.raises(ValueError, match="seeds must be an int or a list of 2"):
        fit(stack, splits.train, TrainConfig(epochs=1, batch_size=8), seeds=[0, 1, 2])
    with pytest.raises(ValueError, match="train must be one Split or a list of 2"):
        fit(stack, [splits.train] * 3, TrainConfig(epochs=1, batch_size=8))
    with pytest.raises(ValueError, match="equal lengths"):
        fit(stack, [splits.train, splits.val], TrainConfig(epochs=1, batch_size=8))


def test_fit_is_reproducible_and_learns(blobs):
    train = Split(*blobs)
    runs = []
    for _ in range(2):
        stack = MLPStack([seeded(0, SimpleMLP, 20, 8, 3)])
        history = fit(stack, train, TrainConfig(epochs=5, batch_size=16, lr=0.01, seed=0), val=train)
        runs.append(stack.params.clone())
    assert torch.equal(*runs)
    assert evaluate(stack, train)["accuracy"][0] > 0.95
    assert list(history.curves.columns) == ["epoch", "model", "time_s", "train_loss", "val_loss", "val_accuracy"]
    assert history.curves["train_loss"].iloc[-1] < history.curves["train_loss"].iloc[0]
    assert not history.diverged.any()


def test_predict_and_evaluate_per_stream(splits):
    models = [seeded(s, SimpleMLP, 20, 4, 3) for s in range(2)]
    stack = MLPStack(models, streams=2)
    x = torch.stack([splits.val.x, splits.val.x.flip(0)])
    out = predict(stack, x, batch_size=7)
    assert out.shape == (30, 2, 3)
    for s, model in enumerate(models):
        torch.testing.assert_close(out[:, s], model(x[s]))
    flipped = Split(splits.val.x.flip(0), splits.val.y.flip(0))
    accuracy = evaluate(stack, [splits.val, flipped])["accuracy"]
    torch.testing.assert_close(accuracy, evaluate(stack, splits.val)["accuracy"])  # same points, other order



def test_streams_that_share_a_split_keep_one_copy_and_draw_the_same_batches():
    """Resampling's streams draw from one split: the table holds it once, and every step's minibatches are those of
    a table holding a copy per stream."""
    from mnist_hw.engine.train import MinibatchStreams
    g = torch.Generator().manual_seed(0)
    train = Split(torch.randn(50, 784, generator=g), torch.randint(2, (50,), generator=g))
    stack = MLPStack([seeded(0, SimpleMLP, 784, 4, 2) for _ in range(3)], streams=3)
    weights = [torch.ones(50), torch.linspace(1, 5, 50), torch.linspace(5, 1, 50)]
    shared = MinibatchStreams(stack, [train] * 3, [0, 1, 2], 8, weights)
    copies = MinibatchStreams(stack, [train, Split(train.x.clone(), train.y.clone()), Split(train.x.clone(), train.y.clone())],
                              [0, 1, 2], 8, weights)
    assert len(shared.table) == 50 and len(copies.table) == 150
    for (xa, ya), (xb, yb) in zip(shared.epoch(), copies.epoch(), strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
