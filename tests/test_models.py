import pytest
import torch
import torch.nn.functional as F

from mnist_hw.losses import MSE, Autograd, CrossEntropy
from mnist_hw.models import MLPStack, RegressionMLP, SimpleMLP, seeded


def autograd_grads(model, x, loss_fn):
    model.zero_grad()
    loss_fn(model(x)).backward()
    return [p.grad.clone() for p in (model.fc1.weight, model.fc1.bias, model.fc2.weight, model.fc2.bias)]


def stack_grads(stack, m):
    """The gradient block of model m inside the stack."""
    s = stack.unit_slices[m]
    O = stack.out_features
    return [stack.gW1[s], stack.gb1[s], stack.gW2[m * O:(m + 1) * O, s], stack.gb2[m * O:(m + 1) * O]]


def test_simple_mlp_prints_like_the_seed():
    text = str(SimpleMLP(784, 5, 2, "sigmoid"))
    assert text.startswith("SimpleMLP(") and "(fc1): Linear(in_features=784, out_features=5" in text
    assert "(activation): Sigmoid()" in text and "(fc2): Linear(in_features=5, out_features=2" in text
    assert "(activation_output): Sigmoid()" in str(RegressionMLP())


def test_bad_model_arguments():
    with pytest.raises(ValueError, match="activation"):
        SimpleMLP(4, 3, 2, "swish")
    with pytest.raises(ValueError, match="hidden"):
        SimpleMLP(4, 0, 2)


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
    models = [seeded(i, SimpleMLP, 20, h, 3, a) for i, (h, a) in enumerate([(4, "relu"), (7, "sigmoid"), (2, "tanh")])]
    out, _ = MLPStack(models).forward(x)
    assert out.shape == (200, 3, 3)
    for m, model in enumerate(models):
        torch.testing.assert_close(out[:, m], model(x))


def test_stack_gradients_match_autograd_cross_entropy(blobs):
    x, y = blobs
    models = [seeded(i, SimpleMLP, 20, h, 3, a) for i, (h, a) in enumerate([(4, "relu"), (7, "sigmoid"), (5, "tanh")])]
    stack = MLPStack(models)
    out, cache = stack.forward(x)
    weight = torch.tensor([1.0, 2.0, 5.0])
    losses, dout = CrossEntropy(weight=weight)(out, y)
    stack.backward(x, cache, dout)
    for m, model in enumerate(models):
        want = autograd_grads(model, x, lambda z: F.cross_entropy(z, y, weight=weight))
        for got, exp in zip(stack_grads(stack, m), want):
            torch.testing.assert_close(got, exp)
        torch.testing.assert_close(losses[m], F.cross_entropy(model(x), y, weight=weight))
    off_block = stack.gW2 * (1 - stack.block)
    assert off_block.abs().max() == 0


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
    for got, exp in zip(stack_grads(stack, 0), autograd_grads(model, x, lambda r: F.mse_loss(r, x))):
        torch.testing.assert_close(got, exp)
    torch.testing.assert_close(losses[0], F.mse_loss(model(x), x))


def test_autograd_loss_gives_gradient_of_any_loss(blobs):
    x, y = blobs
    z = torch.randn(200, 1, 3)
    losses, grad = Autograd(lambda out, t: (out[..., 0] ** 2).mean(0))(z, y)
    torch.testing.assert_close(grad[..., 0], 2 * z[..., 0] / 200)
    assert grad[..., 1:].abs().max() == 0 and losses.shape == (1,)


def test_to_models_round_trip(blobs):
    x, _ = blobs
    models = [seeded(i, SimpleMLP, 20, h, 3, "relu") for i, h in enumerate([3, 8])]
    for a, b in zip(models, MLPStack(models).to_models()):
        torch.testing.assert_close(a(x), b(x))


def test_stack_rejects_mixed_output_shapes():
    with pytest.raises(ValueError, match="share"):
        MLPStack([SimpleMLP(4, 3, 2), SimpleMLP(4, 3, 3)])
