"""The optimizers step by step against torch.optim, with the learning rate changing between steps
(mnist_hw.engine.optim)."""
import pytest
import torch

from mnist_hw.engine.optim import Adam, make_optimizer
from mnist_hw.engine.stack import MLPStack
from mnist_hw.engine.models import SimpleMLP


@pytest.mark.parametrize("name,cls,direct", [("adam", torch.optim.Adam, True), ("adam", torch.optim.Adam, False),
                                             ("sgd", torch.optim.SGD, None)])
def test_optimizers_match_torch(name, cls, direct):
    torch.manual_seed(0)
    stack = MLPStack([SimpleMLP(5, 3, 2)])
    ref = stack.params.clone().requires_grad_()
    ours = make_optimizer(name, stack, 0.01) if direct is None else Adam(stack.params, stack.grad, 0.01, direct=direct)
    theirs = cls([ref], lr=0.01, foreach=False)
    for step in range(5):
        ours.lr = theirs.param_groups[0]["lr"] = 0.01 / (step + 1)  # a schedule changes lr between steps
        g = torch.randn_like(ref)
        stack.grad.copy_(g)
        ref.grad = g.clone()
        ours.step()
        theirs.step()
    torch.testing.assert_close(stack.params, ref.detach())
