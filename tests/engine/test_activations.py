"""Each activation's derivative, defined beside its forward, against autograd (mnist_hw.engine.activations)."""
import pytest
import torch

from mnist_hw.engine.activations import ACTIVATIONS


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_derivative_matches_autograd(name):
    act = ACTIVATIONS[name]
    h = torch.linspace(-3, 3, 13, dtype=torch.double).requires_grad_()
    a = act.forward(h)
    (want,) = torch.autograd.grad(a.sum(), h)
    torch.testing.assert_close(a, act.module()(h))
    torch.testing.assert_close(act.derivative(h.detach(), a.detach()), want)
