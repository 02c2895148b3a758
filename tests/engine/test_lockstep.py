"""Configurations trained in lockstep equal the same configurations trained alone (mnist_hw.engine.lockstep)."""
import pytest
import torch

from mnist_hw.engine.lockstep import train_group
from mnist_hw.engine.models import SimpleMLP, seeded
from mnist_hw.engine.stack import MLPStack
from mnist_hw.engine.train import TrainConfig, evaluate, fit


def test_lockstep_equals_training_alone(splits, trained_alone):
    configs = [TrainConfig(hidden=h, activation=a, epochs=2, batch_size=8, lr=0.01, seed=1)
               for h, a in [(4, "relu"), (9, "sigmoid"), (6, "tanh"), (4, "relu")]]
    together, _ = train_group(configs, splits, 3)
    stack = MLPStack([seeded(1, SimpleMLP, 20, c.hidden, 3, c.activation) for c in configs])
    fit(stack, splits.train, TrainConfig(epochs=2, batch_size=8, lr=0.01, seed=1))
    for c, lock in zip(configs, stack.to_models()):
        for p, q in zip(lock.parameters(), trained_alone(c, splits.train).parameters()):
            torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
    alone_rows = [train_group([c], splits, 3)[0] for c in configs]
    for i, rows in enumerate(alone_rows):
        assert rows["test_acc"][0] == pytest.approx(together["test_acc"][i])


def test_seeds_train_as_streams_of_one_stack(splits, trained_alone):
    configs = [TrainConfig(hidden=h, epochs=1, batch_size=8, seed=s) for s in (0, 1, 2) for h in (4, 6)]
    configs.append(TrainConfig(hidden=5, epochs=1, batch_size=8, seed=3))  # another architecture list: own stack
    rows, curves = train_group(configs, lambda seed: splits, 3)
    assert list(rows.seed) == [c.seed for c in configs] and list(rows.models_in_step) == [6] * 6 + [1]
    for c, acc in zip(configs, rows.val_acc):
        alone = MLPStack([trained_alone(c, splits.train)])
        assert acc == pytest.approx(evaluate(alone, splits.val)["accuracy"][0].item() * 100)
    assert len(curves) == len(configs)
