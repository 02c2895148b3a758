import dataclasses

import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from mnist_hw.data import Split, Splits, generator, minibatches
from mnist_hw.models import MLPStack, SimpleMLP, seeded
from mnist_hw.sweeps import mean_std, run_sweep, train_group
from mnist_hw.training import TrainConfig, evaluate, fit, make_optimizer, resolve_device


def test_auto_device_and_cpu():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in {"cpu", "cuda", "mps"}


def test_unknown_or_absent_device_is_a_clear_error():
    with pytest.raises(ValueError, match="device must be one of"):
        resolve_device("tpu")
    for name in ("cuda", "mps"):
        available = torch.cuda.is_available() if name == "cuda" else torch.backends.mps.is_available()
        if not available:
            with pytest.raises(RuntimeError, match="not available"):
                resolve_device(name)


@pytest.mark.parametrize("field,value", [("batch_size", 0), ("batch_size", -4), ("epochs", 0), ("hidden", 2.5),
                                         ("activation", "swish"), ("optimizer", "rmsprop"), ("lr", 0.0)])
def test_config_rejects_bad_values(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})


@pytest.mark.parametrize("name,cls", [("adam", torch.optim.Adam), ("sgd", torch.optim.SGD)])
def test_optimizers_match_torch(name, cls):
    torch.manual_seed(0)
    stack = MLPStack([SimpleMLP(5, 3, 2)])
    ref = stack.params.clone().requires_grad_()
    ours, theirs = make_optimizer(name, stack, 0.01), cls([ref], lr=0.01)
    for _ in range(5):
        g = torch.randn_like(ref)
        stack.grad.copy_(g)
        ref.grad = g.clone()
        ours.step()
        theirs.step()
    torch.testing.assert_close(stack.params, ref.detach())


def torch_reference(model, train, batch_size, epochs, lr, seed):
    """The textbook loop: torch.optim.Adam + autograd on the same seeded minibatch stream."""
    opt, gen = torch.optim.Adam(model.parameters(), lr=lr), generator(seed, "shuffle")
    for _ in range(epochs):
        for idx in minibatches(len(train), batch_size, gen):
            opt.zero_grad()
            F.cross_entropy(model(train.x[idx]), train.y[idx]).backward()
            opt.step()
    return model


def test_fit_matches_plain_pytorch_training(blobs):
    train = Split(*blobs)
    model = seeded(3, SimpleMLP, 20, 6, 3, "sigmoid")
    stack = MLPStack([model])
    fit(stack, train, epochs=3, batch_size=16, lr=0.01, seed=3)
    ref = torch_reference(model, train, 16, 3, 0.01, 3)
    torch.testing.assert_close(stack.to_models()[0].fc1.weight, ref.fc1.weight, rtol=1e-5, atol=1e-6)


def test_lockstep_equals_training_alone(blobs):
    x, y = blobs
    splits = Splits(Split(x, y), Split(x[:30], y[:30]), Split(x[:30], y[:30]))
    configs = [TrainConfig(hidden=h, activation=a, epochs=2, batch_size=8, lr=0.01, seed=1)
               for h, a in [(4, "relu"), (9, "sigmoid"), (6, "tanh")]]
    together, _ = train_group(configs, splits, 3)
    stack = MLPStack([seeded(1, SimpleMLP, 20, c.hidden, 3, c.activation) for c in configs])
    fit(stack, splits.train, epochs=2, batch_size=8, lr=0.01, seed=1)
    for c, lock in zip(configs, stack.to_models()):
        alone = MLPStack([seeded(1, SimpleMLP, 20, c.hidden, 3, c.activation)])
        fit(alone, splits.train, epochs=2, batch_size=8, lr=0.01, seed=1)
        torch.testing.assert_close(lock.fc1.weight, alone.to_models()[0].fc1.weight, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(lock.fc2.weight, alone.to_models()[0].fc2.weight, rtol=1e-5, atol=1e-6)
    alone_rows = [train_group([c], splits, 3)[0] for c in configs]
    for i, rows in enumerate(alone_rows):
        assert rows["test_acc"][0] == pytest.approx(together["test_acc"][i])


def test_lockstep_group_must_share_the_stream(blobs):
    splits = Splits(Split(*blobs), Split(*blobs), Split(*blobs))
    with pytest.raises(ValueError, match="share"):
        train_group([TrainConfig(batch_size=8), TrainConfig(batch_size=16)], splits, 3)


def test_fit_is_reproducible_and_learns(blobs):
    train = Split(*blobs)
    runs = []
    for _ in range(2):
        stack = MLPStack([seeded(0, SimpleMLP, 20, 8, 3)])
        history = fit(stack, train, epochs=5, batch_size=16, lr=0.01, seed=0, val=train)
        runs.append(stack.params.clone())
    assert torch.equal(*runs)
    assert evaluate(stack, train)["accuracy"][0] > 0.95
    assert list(history.epochs.columns) == ["epoch", "model", "time_s", "train_loss", "val_loss", "val_accuracy"]
    assert history.epochs["train_loss"].iloc[-1] < history.epochs["train_loss"].iloc[0]


def test_sweep_writes_rows_as_they_finish_and_resumes(blobs, tmp_path):
    x, y = blobs
    splits = Splits(Split(x, y), Split(x[:30], y[:30]), Split(x[:30], y[:30]))
    configs = [TrainConfig(hidden=4, epochs=1, batch_size=b, seed=s) for s in (0, 1) for b in (8, 32)]
    calls = []
    load = lambda seed: calls.append(seed) or splits
    csv = tmp_path / "r.csv"
    first, curves = run_sweep(configs[:3], load, 3, csv=csv, progress=False)
    assert len(first) == 3 and len(csv.read_text().splitlines()) == 4 and len(curves) == 3
    results, curves = run_sweep(configs, load, 3, csv=csv, progress=False)
    assert calls == [0, 1, 1]  # the rerun trained only the missing configuration
    assert list(results["batch_size"]) == [8, 32, 8, 32] and len(curves) == 4
    fresh, _ = run_sweep(configs, load, 3, csv=csv, resume=False, progress=False)
    pd.testing.assert_frame_equal(fresh.drop(columns="time_s"), results.drop(columns="time_s"))


def test_mean_std_formats_groups():
    df = pd.DataFrame({"b": [1, 1, 2], "acc": [1.0, 3.0, 5.0]})
    assert mean_std(df, ["b"], ["acc"])["acc"].tolist() == ["2.00 ± 1.41", "5.00"]


def test_interrupted_sweep_keeps_finished_rows_and_resumes(blobs, tmp_path):
    x, y = blobs
    splits = Splits(Split(x, y), Split(x[:30], y[:30]), Split(x[:30], y[:30]))
    configs = [TrainConfig(hidden=4, epochs=1, batch_size=8, seed=s) for s in (0, 1, 2)]

    def interrupted(seed):
        if seed == 2:
            raise KeyboardInterrupt  # Ctrl-C while the third group loads
        return splits

    csv = tmp_path / "r.csv"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(configs, interrupted, 3, csv=csv, progress=False)
    assert sorted(pd.read_csv(csv).seed) == [0, 1]
    loaded = []
    results, _ = run_sweep(configs, lambda s: loaded.append(s) or splits, 3, csv=csv, progress=False)
    assert loaded == [2] and list(results.seed) == [0, 1, 2]
