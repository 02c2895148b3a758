"""MLPStack's forward and hand-derived backward against each model and autograd, for every activation, loss and
stream layout (mnist_hw.engine.stack)."""
import pytest
import torch
import torch.nn.functional as F

from mnist_hw.engine.losses import MSE, CrossEntropy
from mnist_hw.engine.models import SimpleMLP, seeded
from mnist_hw.engine.stack import MLPStack

ARCHS = [(4, "relu"), (7, "sigmoid"), (4, "relu"), (2, "tanh"), (7, "sigmoid")]  # groups, interleaved


def autograd_grads(model, x, loss_fn):
    model.zero_grad()
    loss_fn(model(x)).backward()
    return [p.grad.clone() for p in model.parameters()]


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


@pytest.mark.parametrize("activation, output_activation", [("relu", "sigmoid"), ("sigmoid", None), ("tanh", "relu")])
def test_one_model_fast_path_matches_autograd(blobs, activation, output_activation):
    """A stack of one model takes the plain-product path (no output slots), for (B, in) and (1, B, in) inputs."""
    x, _ = blobs
    x = x.double()
    model = seeded(3, SimpleMLP, 20, 6, 5, activation, output_activation).double()
    stack = MLPStack([model])
    for inputs in (x, x[None]):
        out, cache = stack.forward(inputs)
        assert cache[3] is None and out.shape == (200, 1, 5)
        dout = torch.randn(out.shape, generator=torch.Generator().manual_seed(1), dtype=out.dtype)
        stack.backward(inputs, cache, dout)
        torch.testing.assert_close(out[:, 0], model(x))
        want = autograd_grads(model, x, lambda z: (z * dout[:, 0]).sum())
        for p, exp in zip(stack.to_models()[0].parameters(), want):
            torch.testing.assert_close(p.grad, exp)


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
