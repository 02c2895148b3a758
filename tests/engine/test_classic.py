"""The textbook loop's error measure (mnist_hw.engine.classic; its training loop is the reference of
tests/engine/test_train.py)."""
import pytest
import torch

from mnist_hw.engine import classic


def test_relative_error_is_the_largest_difference_over_the_tensors_scale():
    a, b = torch.tensor([1.0, 1e-6]), torch.tensor([1.0, 2e-6])
    assert classic.relative_error(a, b) == pytest.approx(1e-6 / 2.0)  # scale-relative: tiny
    # cs231n's element-wise ratio of the same tensors is 1/3, set by the near-zero element alone
    assert ((a - b).abs() / (a.abs() + b.abs())).max().item() == pytest.approx(1 / 3)
