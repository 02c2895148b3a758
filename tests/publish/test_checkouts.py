"""Two checkouts sharing one environment: when the notebooks' kernel would import mnist_hw from another checkout (here
a copy put first on PYTHONPATH, as an editable install of the other one would), the run stops before anything runs
with one sentence naming both, instead of a traceback about a manifest that the kernel wrote elsewhere."""
import os
import shutil
import sys
from pathlib import Path

import pytest

from mnist_hw.__main__ import main
from mnist_hw.runs import folder


@pytest.fixture
def other(tmp_path):
    """A second checkout: the package copied into tmp/other/mnist_hw, beside notebooks/ and pyproject.toml."""
    shutil.copytree(folder.PACKAGE, tmp_path / "other" / "mnist_hw", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "other" / "notebooks").mkdir()
    (tmp_path / "other" / "pyproject.toml").write_text('[project]\nname = "mnist_hw"\n')
    return tmp_path / "other"


def sentence(other: Path) -> str:
    return (f"this run starts from {folder.PACKAGE}, but the notebooks' kernel ({sys.executable}) would import "
            f"mnist_hw from {other / 'mnist_hw'} (two checkouts sharing one environment) and write its run folders "
            f"there: run from {other}, or install this one there (`{sys.executable} -m pip install --no-deps -e "
            f"{folder.REPO}`)")


def test_the_kernel_importing_another_checkout_is_named(other, tmp_path):
    assert folder.other_checkout(tmp_path, env={**os.environ, "PYTHONPATH": str(other)}) == sentence(other)
    assert folder.other_checkout(tmp_path, env={**os.environ, "PYTHONPATH": str(folder.REPO)}) is None


def test_a_kernel_importing_an_installed_copy_is_named(other, tmp_path):
    (other / "notebooks").rmdir()  # the package alone, as in site-packages
    assert folder.other_checkout(tmp_path, env={**os.environ, "PYTHONPATH": str(other)}) == (
        f"this run starts from {folder.PACKAGE}, but the notebooks' kernel ({sys.executable}) would import the "
        f"mnist_hw installed at {other / 'mnist_hw'} instead, so the run folders would not be where this run looks: "
        f"install this one there (`{sys.executable} -m pip install --no-deps -e {folder.REPO}`)")


def test_a_kernel_without_the_package_is_named(monkeypatch, tmp_path):
    base = Path(sys.base_prefix) / ("python.exe" if os.name == "nt" else "bin/python3")
    if not base.is_file() or sys.base_prefix == sys.prefix:
        pytest.skip("no base interpreter outside this virtual environment")
    monkeypatch.setattr(folder, "kernel_python", lambda kernel="python3": str(base))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    assert folder.other_checkout(tmp_path, env=env).endswith(f"({base}) cannot import mnist_hw at all: install this "
                                                             f"one there (`{base} -m pip install --no-deps -e {folder.REPO}`)")


def test_the_runner_stops_with_that_sentence_before_anything_runs(other, monkeypatch, tmp_path):
    monkeypatch.setenv("PYTHONPATH", str(other))
    monkeypatch.setenv("MNIST_HW_RUNS", str(tmp_path / "runs"))
    with pytest.raises(SystemExit) as stop:
        main(["run", "q4", "-p", "epochs", "1"])
    assert str(stop.value) == sentence(other)
    assert not (tmp_path / "runs").exists()
