"""Shared fixtures: tiny synthetic data for unit tests, the real MNIST folder and a papermill runner for notebook tests."""
from pathlib import Path

import pytest
import torch

from mnist_hw.engine.data import Split, Splits, has_mnist, mnist_root
from mnist_hw.runs.folder import NOTEBOOKS


@pytest.fixture
def blobs():
    """200 points of 3 well-separated Gaussian classes in 20 dimensions."""
    g = torch.Generator().manual_seed(0)
    y = torch.arange(200) % 3
    x = torch.randn(200, 20, generator=g) + 3 * torch.nn.functional.one_hot(y, 20).float()
    return x, y


@pytest.fixture
def splits(blobs) -> Splits:
    """The blobs as training set, their first 30 points as validation and test sets."""
    x, y = blobs
    return Splits(Split(x, y), Split(x[:30], y[:30]), Split(x[:30], y[:30]))


@pytest.fixture
def mnist_dir() -> Path:
    """The MNIST data root, or skip when the raw files are not on this machine."""
    if not has_mnist():
        pytest.skip(f"MNIST raw files not found under {mnist_root()} (set MNIST_HW_DATA)")
    return mnist_root()


@pytest.fixture
def run_notebook(mnist_dir, tmp_path):
    """execute(name, **parameters) -> the run folder: notebooks/<name> run headless into tmp_path/run."""

    import papermill as pm  # only notebook tests need it

    def execute(name: str, run: str = "run", **parameters) -> Path:
        folder = tmp_path / run
        pm.execute_notebook(NOTEBOOKS / name, tmp_path / f"{run}.ipynb", parameters={"run_dir": str(folder), **parameters},
                            cwd=str(NOTEBOOKS), kernel_name="python3", progress_bar=False)
        return folder

    return execute


def shown_text(notebook: Path) -> str:
    """What an executed notebook's code cells show as text: printed streams and rendered Markdown answers."""
    import nbformat

    outputs = [o for c in nbformat.read(notebook, 4).cells if c.cell_type == "code" for o in c.outputs]
    return "".join(o.get("text", "") + o.get("data", {}).get("text/markdown", "") for o in outputs)


@pytest.fixture
def notebook_text():
    """shown_text as a fixture: notebook tests read a run's printed and Markdown outputs with it."""
    return shown_text

