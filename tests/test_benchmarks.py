"""benchmarks/overhead.py's split of a notebook's wall, and benchmarks/bench.py's in-memory peer, on toy inputs."""
import importlib.util
from pathlib import Path

import torch

from mnist_hw.engine.data import Split
from mnist_hw.engine.models import SimpleMLP, seeded

ROOT = Path(__file__).resolve().parents[1]


def script(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cell(source: str, seconds: float | None) -> dict:
    return {"cell_type": "code", "source": source, "metadata": {"papermill": {"duration": seconds}}}


def test_overhead_splits_the_wall_by_cell():
    notebook = {"cells": [cell("import torch", 3.0), {"cell_type": "markdown", "source": "# Q", "metadata": {}},
                          cell('with run.phase("data"):\n    x = 1', 0.5), cell('with run.phase("train"):\n    fit()', 7.0),
                          cell('with run.phase("wide"):\n    fit()', 2.0), cell("plt.show()", 1.5), cell("pass", None)]}
    parts = script("overhead").split_cells(notebook, wall=16.0)
    assert parts == {"kernel start": 2.0, "imports": 3.0, "training": 9.0, "rest": 2.0}


def test_in_memory_peer_trains_one_epoch():
    g = torch.Generator().manual_seed(0)
    data = Split(torch.randn(100, 784, generator=g), torch.randint(2, (100,), generator=g))
    model = seeded(0, SimpleMLP, 784, 4, 2)
    before = model.fc1.weight.detach().clone()
    seconds = script("bench").inmemory_epoch(data, 32, model, "adam", 1e-3, max_steps=None)
    assert seconds > 0 and not torch.equal(before, model.fc1.weight)
