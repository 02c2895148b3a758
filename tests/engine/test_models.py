"""The models as they print, refuse bad arguments and are seeded (mnist_hw.engine.models)."""
import pytest
import torch

from mnist_hw.engine.models import Autoencoder, SimpleMLP, seeded


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


def test_seeded_init_is_reproducible_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, b = seeded(5, SimpleMLP, 4, 3, 2), seeded(5, SimpleMLP, 4, 3, 2)
    assert torch.rand(1) == before
    assert torch.equal(a.fc1.weight, b.fc1.weight)
    assert not torch.equal(a.fc1.weight, seeded(6, SimpleMLP, 4, 3, 2).fc1.weight)
