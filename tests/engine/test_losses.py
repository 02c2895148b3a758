"""The losses and their gradients against torch's, one target column per model (mnist_hw.engine.losses)."""
import torch
import torch.nn.functional as F

from mnist_hw.engine.losses import MSE, AutogradLoss, CrossEntropy


def test_logit_offsets_shift_logits_in_training_loss(blobs):
    x, y = blobs
    offset = torch.tensor([[0.5, -1.0, 0.0], [0.0, 0.0, 2.0]])
    z = torch.randn(200, 2, 3, requires_grad=True)
    losses, grad = CrossEntropy(offset=offset)(z.detach(), y)
    want = torch.stack([F.cross_entropy(z[:, m] + offset[m], y) for m in range(2)])
    (auto,) = torch.autograd.grad(want.sum(), z)
    torch.testing.assert_close(losses, want.detach())
    torch.testing.assert_close(grad, auto)


def test_autograd_loss_gives_gradient_of_any_loss(blobs):
    x, y = blobs
    z = torch.randn(200, 1, 3)
    losses, grad = AutogradLoss(lambda out, t: (out[..., 0] ** 2).mean(0))(z, y)
    torch.testing.assert_close(grad[..., 0], 2 * z[..., 0] / 200)
    assert grad[..., 1:].abs().max() == 0 and losses.shape == (1,)


def test_losses_take_one_target_column_per_model():
    """Models on different minibatch streams get their own targets in one call, as if each were called alone."""
    out, y, t = torch.randn(5, 4, 3), torch.randint(0, 3, (5, 4)), torch.randn(5, 4, 3)
    for loss, target in ((CrossEntropy(), y), (CrossEntropy(weight=torch.tensor([1.0, 2.0, 3.0])), y), (MSE(), t)):
        losses, grad = loss(out, target)
        for m in range(4):
            alone, alone_grad = loss(out[:, m:m + 1], target[:, m])
            torch.testing.assert_close(losses[m:m + 1], alone)
            torch.testing.assert_close(grad[:, m:m + 1], alone_grad)
