"""Repository-wide pytest set-up, shared by the unit tests and nbval's notebook runs."""
import os
from pathlib import Path

import pytest

from mnist_hw.data import has_mnist, mnist_root


def pytest_configure(config):
    # Notebooks run under test write their run folders to a scratch folder, never into the repository's runs/.
    os.environ.setdefault("MNIST_HW_RUNS", str(Path(config.rootpath) / ".pytest_cache" / "runs"))


def pytest_collectstart(collector):
    # tqdm progress bars differ on every run: nbval does not compare them.
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("text/html", "application/javascript", "stderr",
                                   "application/vnd.jupyter.widget-view+json")


def pytest_collection_modifyitems(config, items):
    # nbval runs the notebooks on real MNIST: without the files, skip them with the reason instead of failing.
    if not has_mnist():
        skip = pytest.mark.skip(reason=f"MNIST raw files not found under {mnist_root()} (set MNIST_HW_DATA)")
        for item in items:
            if item.path.suffix == ".ipynb":
                item.add_marker(skip)
