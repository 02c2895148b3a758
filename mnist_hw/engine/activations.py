"""The hidden and output nonlinearities, each with its forward and its derivative side by side (as micrograd keeps them)."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .rules import Choice


class Activation:
    """An elementwise nonlinearity: its forward and its derivative, side by side (as micrograd keeps them)."""

    name: str
    module: type[nn.Module]  # the nn.Module a SimpleMLP holds, so models print like any PyTorch model

    def forward(self, h: Tensor) -> Tensor:
        raise NotImplementedError

    def derivative(self, h: Tensor, a: Tensor) -> Tensor:
        """d a / d h, given the input h and the output a = forward(h) (whichever is cheaper to use)."""
        raise NotImplementedError


class Sigmoid(Activation):
    name, module = "sigmoid", nn.Sigmoid

    def forward(self, h: Tensor) -> Tensor:
        return torch.sigmoid(h)

    def derivative(self, h: Tensor, a: Tensor) -> Tensor:
        return a * (1 - a)


class ReLU(Activation):
    name, module = "relu", nn.ReLU

    def forward(self, h: Tensor) -> Tensor:
        return torch.relu(h)

    def derivative(self, h: Tensor, a: Tensor) -> Tensor:
        return torch.sign(a)  # 1 where h > 0, else 0: a = max(h, 0) is positive exactly there


class Tanh(Activation):
    name, module = "tanh", nn.Tanh

    def forward(self, h: Tensor) -> Tensor:
        return torch.tanh(h)

    def derivative(self, h: Tensor, a: Tensor) -> Tensor:
        return 1 - a * a


ACTIVATIONS: dict[str, Activation] = {act.name: act for act in (Sigmoid(), ReLU(), Tanh())}
ACTIVATION = Choice(ACTIVATIONS)
