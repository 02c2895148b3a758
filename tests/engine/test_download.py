"""The first download under a lock (root/MNIST/.download.lock): runs started at once on an empty data root download
once, the others wait and find the files; a failing download removes only what it made. torchvision's download is
faked (no network here): it writes tiny IDX files whose checksums stand in for the official ones."""
import hashlib
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from mnist_hw.engine import data
from tests.engine.test_data import idx_bytes, tree

FILES = {name: idx_bytes(12 if name.startswith("train") else 5, name.startswith("train"), "images" in name)
         for name in data.RAW_MD5}


@pytest.fixture
def fake_download(monkeypatch):
    """download(behave): torchvision's MNIST(root, train, download=True) calls behave(raw folder, train) instead."""
    import torchvision.datasets

    monkeypatch.setattr(data, "RAW_MD5", {k: hashlib.md5(b).hexdigest() for k, b in FILES.items()})

    def install(behave):
        def mnist(root, train=True, download=False, **kwargs):
            if download:
                behave(Path(root) / "MNIST" / "raw", train)
        monkeypatch.setattr(torchvision.datasets, "MNIST", mnist)
    return install


def write_split(raw: Path, train: bool) -> None:
    raw.mkdir(parents=True, exist_ok=True)
    for name, content in FILES.items():
        if name.startswith("train") == train:
            (raw / name).write_bytes(content)


def run_in_threads(root: Path, *names: str, started: threading.Event) -> dict:
    """ensure_mnist in one thread per name, each started once the one before is inside its download; their results."""
    results = {}

    def run(name):
        try:
            results[name] = data.ensure_mnist(root)
        except Exception as err:
            results[name] = err
    threads = []
    for name in names:
        threads.append(threading.Thread(target=run, args=(name,), name=name))
        threads[-1].start()
        assert started.wait(10)
    for thread in threads:
        thread.join(30)
    return results


@pytest.fixture
def root(tmp_path):
    return tmp_path / "data"  # a fresh clone's: not there yet


def test_two_first_runs_at_once_download_once(root, fake_download):
    downloads, inside = [], threading.Event()

    def slow(raw, train):
        downloads.append(threading.current_thread().name)
        inside.set()
        time.sleep(0.5)  # the second run arrives meanwhile
        write_split(raw, train)
    fake_download(slow)
    assert run_in_threads(root, "first", "second", started=inside) == {"first": root, "second": root}
    assert downloads == ["first", "first"]  # train and test, by the first run only: the second waited, then found them
    assert data.has_mnist(root) and not list((root / "MNIST" / "raw").glob("*.partial"))


def test_a_failing_download_leaves_what_the_other_created(root, fake_download):
    inside = threading.Event()

    def fail_first(raw, train):
        if threading.current_thread().name == "failing":
            raw.mkdir(parents=True, exist_ok=True)
            (raw / "train-images-idx3-ubyte.gz").write_bytes(b"half a download")
            (root / "notes.txt").write_text("another process's file in the root the failing run made")
            inside.set()
            time.sleep(0.5)  # the other run arrives meanwhile and waits
            raise RuntimeError("network unreachable")
        write_split(raw, train)
    fake_download(fail_first)
    results = run_in_threads(root, "failing", "other", started=inside)
    assert isinstance(results["failing"], FileNotFoundError) and "could not be downloaded" in str(results["failing"])
    assert results["other"] == root and data.has_mnist(root)
    assert (root / "notes.txt").is_file() and not (root / "MNIST" / "raw" / "train-images-idx3-ubyte.gz").exists()


def test_a_failure_alone_leaves_nothing_not_even_the_lock(root, fake_download):
    def fail(raw, train):
        raw.mkdir(parents=True, exist_ok=True)
        (raw / "t10k-images-idx3-ubyte.gz").write_bytes(b"half")
        raise OSError("disk full")
    fake_download(fail)
    with pytest.raises(FileNotFoundError, match="could not be downloaded"):
        data.ensure_mnist(root)
    assert not root.exists()
    root.mkdir()
    (root / "MNIST").mkdir()
    (root / "MNIST" / "mine.txt").write_text("")
    with pytest.raises(FileNotFoundError):
        data.ensure_mnist(root)
    assert tree(root) == ["MNIST", "MNIST/mine.txt"]


CHILD = textwrap.dedent("""
    import hashlib, sys, time
    from pathlib import Path
    import torchvision.datasets
    from mnist_hw.engine import data
    from tests.engine.test_download import FILES, write_split
    data.RAW_MD5 = {k: hashlib.md5(b).hexdigest() for k, b in FILES.items()}
    root, log, me = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    def mnist(root, train=True, download=False, **kwargs):
        with open(log, "a") as f:
            f.write(me + "\\n")
        time.sleep(1.0)
        write_split(Path(root) / "MNIST" / "raw", train)
    torchvision.datasets.MNIST = mnist
    (log.parent / f"ready-{me}").touch()
    while len(list(log.parent.glob("ready-*"))) < 2:  # both start ensure_mnist at the same moment
        time.sleep(0.01)
    print(data.ensure_mnist(root) == root)
""")


def test_two_processes_at_once_download_once(tmp_path):
    root, log = tmp_path / "data", tmp_path / "downloads.log"
    children = [subprocess.Popen([sys.executable, "-c", CHILD, str(root), str(log), name], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
                for name in ("a", "b")]
    outputs = [child.communicate(timeout=120) for child in children]
    assert [out for out, _ in outputs] == ["True\n", "True\n"], [err[-2000:] for _, err in outputs]
    lines = log.read_text().split()
    assert len(lines) == 2 and len(set(lines)) == 1, lines  # train and test, by one process
