"""Where the repository is: the folder whose notebooks/, results/, figures/, runs/ and data/ the package works with.

In a checkout (an editable install, or the source on sys.path) it is the folder that holds the package. A regular
`pip install .` puts the package in site-packages, where none of these exist: then it is the nearest folder upward
from the working directory that holds notebooks/ and a pyproject.toml naming mnist_hw, and outside such a folder
there is none (REPO is None): what needs it refuses with one sentence (`outside`), and nothing is ever written into
site-packages.
"""
from __future__ import annotations

import tomllib
from pathlib import Path


def is_repo(folder: Path) -> bool:
    """Whether `folder` is a checkout of this project: it holds notebooks/ and a pyproject.toml naming mnist_hw."""
    try:
        project = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8")).get("project", {})
    except (OSError, ValueError):  # no file, unreadable, not TOML
        return False
    return (folder / "notebooks").is_dir() and str(project.get("name", "")).replace("-", "_").lower() == "mnist_hw"


def find_repo(cwd: Path | None = None) -> Path | None:
    """The folder holding the package when that is a checkout, else the nearest checkout at or above `cwd` (default:
    the working directory), else None."""
    home = Path(__file__).resolve().parents[2]
    if is_repo(home):
        return home
    try:
        start = (cwd or Path.cwd()).resolve()
    except OSError:  # a working directory that has been deleted
        return None
    return next((folder for folder in (start, *start.parents) if is_repo(folder)), None)


def outside() -> str:
    """The sentence that says why there is no repository, and what to do."""
    try:
        here = f"the working directory {Path.cwd()} is not inside one"
    except OSError:
        here = "the working directory is gone"
    return (f"mnist_hw is installed at {Path(__file__).resolve().parents[1]}, outside a checkout of its repository, "
            f"and {here} (no folder holding notebooks/ and a pyproject.toml naming mnist_hw): run it from inside "
            "your clone, or install it from there with `pip install -e .`")


REPO = find_repo()
