import pytest
import torch

from mnist_hw import data
from mnist_hw.data import generator, minibatches, select_digits, split_indices, to_inputs


def test_select_digits_keeps_only_those_and_relabels():
    images = torch.arange(10 * 4, dtype=torch.uint8).view(10, 2, 2)
    labels = torch.tensor([0, 1, 2, 3, 1, 0, 7, 1, 9, 0])
    x, y = select_digits(images, labels, (1, 7))
    assert y.tolist() == [0, 0, 1, 0]
    assert torch.equal(x, images[[1, 4, 6, 7]])


@pytest.mark.parametrize("digits", [(), (1, 1), (3, 10)])
def test_select_digits_rejects_bad_lists(digits):
    with pytest.raises(ValueError, match="digits"):
        select_digits(torch.zeros(3, 2, 2), torch.tensor([0, 1, 2]), digits)


def test_split_sizes_disjoint_and_complete():
    labels = torch.arange(103) % 2
    tr, va = split_indices(labels, 0.2, generator(0, "split"))
    assert (len(tr), len(va)) == (83, 20)
    assert sorted(torch.cat([tr, va]).tolist()) == list(range(103))


def test_stratified_split_is_per_class():
    labels = torch.tensor([0] * 50 + [1] * 7)
    tr, va = split_indices(labels, 0.2, generator(0, "split"), stratify=True)
    assert (labels[va] == 0).sum() == 10 and (labels[va] == 1).sum() == 1
    assert len(set(tr.tolist()) & set(va.tolist())) == 0 and len(tr) + len(va) == 57


def test_split_depends_on_seed_only():
    labels = torch.zeros(100)
    a, b, c = (split_indices(labels, 0.2, generator(s, "split"))[1] for s in (1, 1, 2))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_minibatches_cover_every_sample_once_per_epoch():
    batches = list(minibatches(10, 3, generator(0, "shuffle")))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert sorted(torch.cat(batches).tolist()) == list(range(10))


def test_minibatches_weighted_draws_follow_weights():
    idx = torch.cat(list(minibatches(1000, 100, generator(0, "s"), weights=torch.tensor([0.0, 1.0] * 500))))
    assert len(idx) == 1000 and (idx % 2 == 1).all()


def test_minibatches_reject_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size"):
        minibatches(10, 0, generator(0, "s"))


def test_to_inputs_scales():
    images = torch.tensor([[[0, 255]]], dtype=torch.uint8)
    assert to_inputs(images, standardize=False).tolist() == [[0.0, 1.0]]
    assert torch.allclose(to_inputs(images), torch.tensor([[-data.MEAN / data.STD, (1 - data.MEAN) / data.STD]]))


def test_missing_data_offline_gives_one_clear_error(tmp_path, monkeypatch):
    import torchvision.datasets

    def offline(*args, **kwargs):
        raise RuntimeError("network unreachable")

    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    with pytest.raises(FileNotFoundError, match="MNIST_HW_DATA"):
        data.ensure_mnist(tmp_path)


def test_corrupted_file_is_refused(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in data.RAW_MD5:
        (raw / name).write_bytes(b"not mnist")
    with pytest.raises(ValueError, match="corrupted"):
        data.ensure_mnist(tmp_path)


def test_root_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path))
    assert data.mnist_root() == tmp_path
    assert data.mnist_root("elsewhere").name == "elsewhere"
    monkeypatch.delenv(data.ENV_VAR)
    assert data.mnist_root() == data.DEFAULT_ROOT


def test_real_mnist_checksums_and_shapes(mnist_dir):
    x, y = data.load_mnist(False, mnist_dir)
    assert x.shape == (10000, 28, 28) and x.dtype == torch.uint8 and y.shape == (10000,)
