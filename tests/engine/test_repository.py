"""A regular (non-editable) install: the package copied into a fake site-packages, imported in a subprocess. From
inside a clone the repository is found from the working directory (run folders and data/ under it); outside one,
what needs the repository refuses with one sentence; nothing is ever written into site-packages."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mnist_hw.engine import repository

PACKAGE = Path(__file__).resolve().parents[2] / "mnist_hw"

IN_CLONE = """
import json, torch, mnist_hw
from mnist_hw.engine import data
from mnist_hw.runs import folder
run = folder.open_run("q1", {"run_dir": ""}, torch.device("cpu"))
print(json.dumps({"package": mnist_hw.__file__, "repo": str(folder.REPO), "notebooks": str(folder.NOTEBOOKS),
                  "runs": str(folder.runs_root()), "data": str(data.mnist_root()), "run": str(run.dir)}))
"""


@pytest.fixture
def site(tmp_path):
    """tmp/site/mnist_hw: the package as `pip install .` lays it out (no notebooks/ or pyproject.toml beside it)."""
    shutil.copytree(PACKAGE, tmp_path / "site" / "mnist_hw", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path / "site"


def python(code: str, cwd: Path, site: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("MNIST_HW_DATA", "MNIST_HW_RUNS")}
    env |= {"PYTHONPATH": str(site), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_from_inside_a_clone_the_working_directory_finds_the_repository(tmp_path, site):
    clone = tmp_path / "clone"
    (clone / "notebooks").mkdir(parents=True)
    (clone / "pyproject.toml").write_text('[project]\nname = "mnist_hw"\n')
    before = files(site)
    done = python(IN_CLONE, clone / "notebooks", site)  # from a subfolder: the nearest clone upward
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["package"] == str(site / "mnist_hw" / "__init__.py")  # the copy, not this checkout
    assert found["repo"] == str(clone) and found["notebooks"] == str(clone / "notebooks")
    assert found["runs"] == str(clone / "runs") and found["data"] == str(clone / "data")
    assert Path(found["run"]).parent == clone / "runs" and (Path(found["run"]) / "manifest.json").is_file()
    assert files(site) == before  # nothing written into site-packages


def test_outside_a_clone_it_refuses_in_one_sentence(tmp_path, site):
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "notebooks").mkdir(parents=True)  # notebooks/ alone, or another project's pyproject.toml: not a clone
    (elsewhere / "pyproject.toml").write_text('[project]\nname = "other"\n')
    before = files(site)
    done = python("import mnist_hw.publish.batch", elsewhere, site)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        f"mnist_hw is installed at {site / 'mnist_hw'}, outside a checkout of its repository, and the working directory "
        f"{elsewhere} is not inside one (no folder holding notebooks/ and a pyproject.toml naming mnist_hw): run it "
        "from inside your clone, or install it from there with `pip install -e .`")
    engine = python("from mnist_hw.engine import data; from mnist_hw.engine.repository import REPO; print(REPO); "
                    "data.mnist_root()", elsewhere, site)  # the engine imports; only the default data root is missing
    assert engine.stdout == "None\n" and engine.stderr.strip().splitlines()[-1].startswith(
        "FileNotFoundError: no MNIST data root: pass data_root or set MNIST_HW_DATA, as there is no data/ here: "
        "mnist_hw is installed at")
    assert files(site) == before


def test_a_checkout_is_notebooks_and_a_pyproject_naming_mnist_hw(tmp_path):
    assert repository.is_repo(Path(__file__).resolve().parents[2])
    (tmp_path / "notebooks").mkdir()
    assert not repository.is_repo(tmp_path)
    (tmp_path / "pyproject.toml").write_text("not toml [")
    assert not repository.is_repo(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "mnist-hw"\n')
    assert repository.is_repo(tmp_path)
