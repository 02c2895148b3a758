import pytest
import torch
import torch.nn.functional as F

from mnist_hw.engine.losses import MSE, AutogradLoss, CrossEntropy
from mnist_hw.engine.activations import ACTIVATIONS
from mnist_hw.engine.models import Autoencoder, SimpleMLP, seeded
from mnist_hw.engine.stack import MLPStack

ARCHS = [(4, "relu"), (7, "sigmoid"), (4, "relu"), (2, "tanh"), (7, "sigmoid")]  # groups, interleaved


def autograd_grads(model, x, loss_fn):
    model.zero_grad()
    loss_fn(model(x)).backward()
    return [p.grad.clone() for p in model.parameters()]


def test_simple_mlp_prints_like_the_seed():
    text = str(SimpleMLP(784, 5, 2, "sigmoid"))
    assert text.startswith("SimpleMLP(") and "(fc1): Linear(in_features=784, out_features=5" in text
    assert "(activation): Sigmoid()" in text and "(fc2): Linear(in_features=5, out_features=2" in text
    assert "(activation_output): Sigmoid()" in str(Autoencoder())


def test_bad_model_arguments():
    with pytest.raises(ValueError, match="activation"):
        SimpleMLP(4, 3, 2, "swish")
    with pytest.raises(ValueError, match="hidden"):
        SimpleMLP(4, 0, 2)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_derivative_matches_autograd(name):
    act = ACTIVATIONS[name]
    h = torch.linspace(-3, 3, 13, dtype=torch.double).requires_grad_()
    a = act.forward(h)
    (want,) = torch.autograd.grad(a.sum(), h)
    torch.testing.assert_close(a, act.module()(h))
    torch.testing.assert_close(act.derivative(h.detach(), a.detach()), want)


def test_seeded_init_is_reproducible_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, b = seeded(5, SimpleMLP, 4, 3, 2), seeded(5, SimpleMLP, 4, 3, 2)
    assert torch.rand(1) == before
    assert torch.equal(a.fc1.weight, b.fc1.weight)
    assert not torch.equal(a.fc1.weight, seeded(6, SimpleMLP, 4, 3, 2).fc1.weight)


def test_stack_forward_matches_each_model(blobs):
    x, _ = blobs
    models = [seeded(i, SimpleMLP, 20, h, 3, a) for i, (h, a) in enumerate(ARCHS)]
    out, _ = MLPStack(models).forward(x)
    assert out.shape == (200, len(ARCHS), 3)
    for m, model in enumerate(models):
        torch.testing.assert_close(out[:, m], model(x))


@pytest.mark.parametrize("output_activation", [None, "sigmoid", "relu", "tanh"])
def test_stack_backward_matches_autograd_for_every_activation(blobs, output_activation):
    """Every hidden activation (ARCHS) under every output activation, on 2 streams with their own inputs."""
    x, _ = blobs
    x = torch.stack([x[:50], x[50:100]]).double()
    models = [seeded(10 * s + i, SimpleMLP, 20, h, 3, a, output_activation).double()
              for s in range(2) for i, (h, a) in enumerate(ARCHS)]
    stack = MLPStack(models, streams=2)
    out, cache = stack.forward(x)
    dout = torch.randn(out.shape, generator=torch.Generator().manual_seed(0), dtype=out.dtype)
    stack.backward(x, cache, dout)
    for m, (model, stacked) in enumerate(zip(models, stack.to_models())):
        xs = x[m // len(ARCHS)]
        torch.testing.assert_close(out[:, m], model(xs))
        want = autograd_grads(model, xs, lambda z: (z * dout[:, m]).sum())
        for p, exp in zip(stacked.parameters(), want):
            torch.testing.assert_close(p.grad, exp)


def test_stack_gradients_match_autograd_cross_entropy(blobs):
    x, y = blobs
    models = [seeded(i, SimpleMLP, 20, h, 3, a) for i, (h, a) in enumerate(ARCHS)]
    stack = MLPStack(models)
    out, cache = stack.forward(x)
    weight = torch.tensor([1.0, 2.0, 5.0])
    losses, dout = CrossEntropy(weight=weight)(out, y)
    stack.backward(x, cache, dout)
    for m, (model, stacked) in enumerate(zip(models, stack.to_models())):
        want = autograd_grads(model, x, lambda z: F.cross_entropy(z, y, weight=weight))
        for p, exp in zip(stacked.parameters(), want):
            torch.testing.assert_close(p.grad, exp)
        torch.testing.assert_close(losses[m], F.cross_entropy(model(x), y, weight=weight))


def test_diverged_model_does_not_leak_into_the_others(blobs):
    x, y = blobs
    models = [seeded(i, SimpleMLP, 20, 4, 3, "relu") for i in range(3)]
    with torch.no_grad():
        models[1].fc2.weight[0, 0] = float("nan")
    stack = MLPStack(models)
    out, cache = stack.forward(x)
    stack.backward(x, cache, CrossEntropy()(out, y)[1])
    finite = [all(p.grad.isfinite().all() for p in m.parameters()) for m in stack.to_models()]
    assert finite == [True, False, True]


def test_logit_offsets_shift_logits_in_training_loss(blobs):
    x, y = blobs
    offset = torch.tensor([[0.5, -1.0, 0.0], [0.0, 0.0, 2.0]])
    z = torch.randn(200, 2, 3, requires_grad=True)
    losses, grad = CrossEntropy(offset=offset)(z.detach(), y)
    want = torch.stack([F.cross_entropy(z[:, m] + offset[m], y) for m in range(2)])
    (auto,) = torch.autograd.grad(want.sum(), z)
    torch.testing.assert_close(losses, want.detach())
    torch.testing.assert_close(grad, auto)


def test_autoencoder_gradients_match_autograd(blobs):
    x, _ = blobs
    x = torch.sigmoid(x)
    model = seeded(0, SimpleMLP, 20, 6, 20, "relu", "sigmoid")
    stack = MLPStack([model])
    out, cache = stack.forward(x)
    losses, dout = MSE()(out, x)
    stack.backward(x, cache, dout)
    want = autograd_grads(model, x, lambda r: F.mse_loss(r, x))
    for p, exp in zip(stack.to_models()[0].parameters(), want):
        torch.testing.assert_close(p.grad, exp)
    torch.testing.assert_close(losses[0], F.mse_loss(model(x), x))


def test_autograd_loss_gives_gradient_of_any_loss(blobs):
    x, y = blobs
    z = torch.randn(200, 1, 3)
    losses, grad = AutogradLoss(lambda out, t: (out[..., 0] ** 2).mean(0))(z, y)
    torch.testing.assert_close(grad[..., 0], 2 * z[..., 0] / 200)
    assert grad[..., 1:].abs().max() == 0 and losses.shape == (1,)


def test_to_models_round_trip(blobs):
    x, _ = blobs
    models = [seeded(i, SimpleMLP, 20, h, 3, a) for i, (h, a) in enumerate(ARCHS * 2)]
    stack = MLPStack(models, streams=2)
    assert len(stack) == 10
    for a, b in zip(models, stack.to_models()):
        assert str(a) == str(b)
        for p, q in zip(a.parameters(), b.parameters()):
            assert torch.equal(p, q)


def test_stack_rejects_mixed_shapes_and_unequal_streams(blobs):
    with pytest.raises(ValueError, match="share"):
        MLPStack([SimpleMLP(4, 3, 2), SimpleMLP(4, 3, 3)])
    with pytest.raises(ValueError, match="streams=2 must divide"):
        MLPStack([SimpleMLP(4, 3, 2)] * 3, streams=2)
    with pytest.raises(ValueError, match="same"):
        MLPStack([SimpleMLP(4, 3, 2), SimpleMLP(4, 5, 2)], streams=2)
    with pytest.raises(ValueError, match=r"x must have shape"):
        MLPStack([SimpleMLP(4, 3, 2)] * 2, streams=2).forward(torch.zeros(3, 5, 4))


def test_losses_take_one_target_column_per_model():
    """Models on different minibatch streams get their own targets in one call, as if each were called alone."""
    out, y, t = torch.randn(5, 4, 3), torch.randint(0, 3, (5, 4)), torch.randn(5, 4, 3)
    for loss, target in ((CrossEntropy(), y), (CrossEntropy(weight=torch.tensor([1.0, 2.0, 3.0])), y), (MSE(), t)):
        losses, grad = loss(out, target)
        for m in range(4):
            alone, alone_grad = loss(out[:, m:m + 1], target[:, m])
            torch.testing.assert_close(losses[m:m + 1], alone)
            torch.testing.assert_close(grad[:, m:m + 1], alone_grad)
