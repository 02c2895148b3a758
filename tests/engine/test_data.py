import gzip
import hashlib
import struct
from pathlib import Path

import pytest
import torch

from mnist_hw.engine import data
from mnist_hw.engine.data import generator, minibatches, select_digits, split_indices, to_inputs


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


def test_to_inputs_scales():
    images = torch.tensor([[[0, 255]]], dtype=torch.uint8)
    assert to_inputs(images, standardize=False).tolist() == [[0.0, 1.0]]
    assert torch.allclose(to_inputs(images), torch.tensor([[-data.MEAN / data.STD, (1 - data.MEAN) / data.STD]]))


def idx_bytes(n: int, train: bool, images: bool) -> bytes:
    """A valid IDX file: n 28x28 images (magic 2051) or n labels (magic 2049), values from n and the split."""
    offset = 7 if train else 0
    if images:
        return struct.pack(">4i", 2051, n, 28, 28) + bytes((i + offset) % 256 for i in range(n * 784))
    return struct.pack(">2i", 2049, n) + bytes((i + offset) % 10 for i in range(n))


@pytest.fixture
def fake_mnist(tmp_path, monkeypatch):
    """Tiny fake IDX files (uncompressed and .gz) whose checksums stand in for the official ones."""
    files = {name: idx_bytes(12 if name.startswith("train") else 5, name.startswith("train"), "images" in name)
             for name in data.RAW_MD5}
    packed = {name: gzip.compress(b, mtime=0) for name, b in files.items()}
    monkeypatch.setattr(data, "RAW_MD5", {k: hashlib.md5(b).hexdigest() for k, b in files.items()})
    monkeypatch.setattr(data, "GZ_MD5", {k: hashlib.md5(b).hexdigest() for k, b in packed.items()})

    def write(folder, gz=False):
        folder.mkdir(parents=True, exist_ok=True)
        for name in files:
            (folder / (name + ".gz" if gz else name)).write_bytes(packed[name] if gz else files[name])
        return folder
    return write


def offline(monkeypatch):
    """torchvision's MNIST download fails like a machine without network, after making its folders as it does."""
    import torchvision.datasets

    real = torchvision.datasets.MNIST

    def fail(root, *args, download=False, **kwargs):
        if not download:
            return real(root, *args, **kwargs)
        (Path(root) / "MNIST" / "raw").mkdir(parents=True, exist_ok=True)
        raise RuntimeError("network unreachable")

    monkeypatch.setattr(torchvision.datasets, "MNIST", fail)


def tree(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_uncompressed_idx_layout_loads(tmp_path, fake_mnist):
    fake_mnist(tmp_path / "MNIST" / "raw")
    x, y = data.load_mnist(True, tmp_path)
    assert x.shape == (12, 28, 28) and y.tolist() == [(i + 7) % 10 for i in range(12)]


def test_official_gz_files_alone_are_checked_and_extracted(tmp_path, fake_mnist, monkeypatch):
    offline(monkeypatch)  # nothing may be downloaded
    raw = fake_mnist(tmp_path / "MNIST" / "raw", gz=True)
    assert data.has_mnist(tmp_path)
    x, y = data.load_mnist(False, tmp_path)
    assert x.shape == (5, 28, 28) and y.tolist() == [0, 1, 2, 3, 4]
    assert all((raw / name).is_file() and (raw / f"{name}.gz").is_file() for name in data.RAW_MD5)
    assert not list(raw.glob("*.partial"))


def test_corrupted_gz_is_refused_before_extraction(tmp_path, fake_mnist):
    raw = fake_mnist(tmp_path / "MNIST" / "raw", gz=True)
    (raw / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"not mnist"))
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte.gz is corrupted"):
        data.ensure_mnist(tmp_path)
    assert not (raw / "t10k-labels-idx1-ubyte").exists()


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("depth", ["MNIST/raw", "MNIST"])
def test_root_one_level_too_deep_says_where_to_point(tmp_path, fake_mnist, monkeypatch, depth, gz):
    offline(monkeypatch)
    fake_mnist(tmp_path / "MNIST" / "raw", gz=gz)
    before = tree(tmp_path)
    with pytest.raises(FileNotFoundError, match=rf"found the MNIST files in .*MNIST/raw; set {data.ENV_VAR}="
                                                rf"{tmp_path}") as err:
        data.ensure_mnist(tmp_path / depth)
    assert str(tmp_path / depth / "MNIST" / "raw") in str(err.value)
    assert tree(tmp_path) == before


def test_files_in_a_plain_folder_say_where_to_move_them(tmp_path, fake_mnist, monkeypatch):
    offline(monkeypatch)
    fake_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"move them into .*MNIST/raw"):
        data.ensure_mnist(tmp_path)


@pytest.mark.parametrize("exists", ["nothing", "root", "raw"])
def test_missing_data_offline_gives_one_clear_error_and_leaves_nothing(tmp_path, monkeypatch, exists):
    offline(monkeypatch)
    root = tmp_path / "data"
    if exists != "nothing":
        (root / "MNIST" / "raw" if exists == "raw" else root).mkdir(parents=True)
    before = tree(tmp_path)
    with pytest.raises(FileNotFoundError, match=f"could not be downloaded.*{data.ENV_VAR}"):
        data.ensure_mnist(root)
    assert tree(tmp_path) == before


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


def test_class_counts_are_those_of_the_real_files(mnist_dir):
    for split, train in (("train", True), ("test", False)):
        labels = data.load_mnist(train, mnist_dir)[1]
        assert tuple(torch.bincount(labels, minlength=10).tolist()) == data.CLASS_COUNTS[split]


def test_idx_reader_matches_torchvision_on_the_real_files(mnist_dir):
    from torchvision.datasets import MNIST

    for train in (True, False):
        x, y = data.load_mnist(train, mnist_dir)
        theirs = MNIST(mnist_dir, train=train, download=False)
        assert torch.equal(x, theirs.data) and torch.equal(y, theirs.targets) and y.dtype == theirs.targets.dtype


def test_idx_reader_refuses_a_file_of_another_format(tmp_path):
    path = tmp_path / "not-idx"
    path.write_bytes(struct.pack(">4i", 3, 1, 28, 28))
    with pytest.raises(ValueError, match="not a uint8 IDX file"):
        data.read_idx(path)
