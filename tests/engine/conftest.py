"""The engine tests' reference: one configuration trained alone, in a stack of its own."""
import pytest
import torch

from mnist_hw.engine.models import SimpleMLP, seeded
from mnist_hw.engine.stack import MLPStack
from mnist_hw.engine.train import fit


def train_alone(config, split, dtype=torch.float32):
    """The model of config (20 inputs, 3 classes) trained alone on split, as a plain module."""
    model = seeded(config.seed, SimpleMLP, 20, config.hidden, 3, config.activation).to(dtype)
    stack = MLPStack([model])
    fit(stack, split, config)
    return stack.to_models()[0]


@pytest.fixture
def trained_alone():
    """train_alone, for the tests that compare lockstep stacks and streams with it."""
    return train_alone
