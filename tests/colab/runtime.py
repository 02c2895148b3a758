"""`make test-colab`, first step: a virtual environment holding Google Colab's published versions of every package
this one touches, then `pip install -e .` into it, as a student would in a Colab cell; fails when that install
changes any of Colab's versions. Then the test extra (pytest's plugins), for `make test-colab`'s test run.

Colab's versions: pip-freeze.gpu.txt beside this file, copied from the public repository googlecolab/backend-info
(commit a724079 of 2026-08-19, "Upgrade to Python 3.13"; os-info-gpu.txt beside it: Python 3.13.15). Only the
packages this one's install can reach are installed (Colab's runtime holds 700): the union of what pyproject.toml
resolves to for Python 3.13 under Colab's pins as constraints, and with the test extra without them, less what
Colab does not have.
Usage: python tests/colab/runtime.py VENV PYTHON [UV]   (PYTHON: a CPython 3.13; UV: the uv to run, default uv)
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FREEZE = HERE / "pip-freeze.gpu.txt"
CUDA_ONLY = r"(nvidia-|cuda-|triton$)"  # as the Makefile's CUDA_ONLY


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def colab_versions(freeze: Path = FREEZE) -> dict[str, str]:
    """Canonical name -> Colab's version, without local labels (torch 2.11.0+cu128 -> 2.11.0: PyPI's build of
    the same release). Left out: packages installed from a URL (nothing here can install them), and NVIDIA's CUDA
    libraries and triton, which belong to the torch build: Colab's (PyTorch's cu128) needs other ones than PyPI's."""
    out = {}
    for line in freeze.read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^+\s]+)(\+\S+)?", line.strip())
        if match and not re.match(CUDA_ONLY, canonical(match[1])):
            out[canonical(match[1])] = match[2]
    return out


def resolved(uv: str, python_version: str, *options: str) -> set[str]:
    """The names pyproject.toml resolves to for this Python, with uv's further options (an extra, constraints)."""
    command = [uv, "pip", "compile", str(ROOT / "pyproject.toml"), "--python-version", python_version,
               "--no-header", "--no-annotate", "-q", *options]
    lines = subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()
    return {canonical(re.split(r"[=<>!~ ;]", line.strip(), maxsplit=1)[0]) for line in lines
            if line.strip() and not line.startswith(("#", " "))}


def installed(python: Path) -> dict[str, str]:
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format=json"], check=True, capture_output=True,
                            text=True).stdout
    return {canonical(p["name"]): p["version"].split("+")[0] for p in json.loads(listed)}


def main(venv: str, python: str, uv: str = "uv") -> int:
    venv_path = Path(venv).resolve()
    colab = colab_versions()
    shutil.rmtree(venv_path, ignore_errors=True)
    venv_path.mkdir(parents=True)
    constraints = venv_path / "colab-constraints.txt"
    constraints.write_text("".join(f"{name}=={version}\n" for name, version in sorted(colab.items())))
    subprocess.run([uv, "venv", "--seed", "--allow-existing", "-q", "--python", python, str(venv_path)], check=True)
    vpython = venv_path / "bin" / "python"
    version = subprocess.run([str(vpython), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    if version != "3.13":
        sys.exit(f"test-colab: {python} is Python {version}; Colab's runtime is Python 3.13 (COLAB_PYTHON=...)")
    reach = (resolved(uv, version, "-c", str(constraints)) | resolved(uv, version, "--extra", "test") | {"pip"}) \
        & set(colab)  # pip too: the install below is Colab's pip's
    subset = venv_path / "colab-subset.txt"
    subset.write_text("".join(f"{name}=={colab[name]}\n" for name in sorted(reach)))
    print(f"test-colab: installing Colab's versions of the {len(reach)} packages this one can reach into {venv}")
    subprocess.run([uv, "pip", "install", "-q", "--python", str(vpython), "-r", str(subset), "-c", str(constraints)],
                   check=True)
    before = installed(vpython)
    wrong = sorted(f"{n} {before.get(n)} (Colab: {colab[n]})" for n in reach if before.get(n) != colab[n])
    if wrong:
        sys.exit("test-colab: the environment does not hold Colab's versions: " + ", ".join(wrong))
    held = {n: before[n] for n in reach}  # Colab's versions, checked above
    print(f"test-colab: pip install -e . into an environment holding {len(held)} of Colab's versions")
    subprocess.run([str(vpython), "-m", "pip", "install", "-q", "-e", str(ROOT)], check=True)
    after = installed(vpython)
    changed = sorted(f"{n} {v} -> {after.get(n, 'removed')}" for n, v in held.items() if after.get(n) != v)
    added = sorted(f"{n} {after[n]}" for n in set(after) - set(before))
    print(f"test-colab: {len(changed)} of {len(held)} Colab versions changed by the install; added: {', '.join(added)}")
    if changed:
        print("test-colab: changed: " + ", ".join(changed), file=sys.stderr)
        return 1
    # The test tools are not the package's: an extra that a student in Colab does not install (it may upgrade pytest).
    subprocess.run([str(vpython), "-m", "pip", "install", "-q", "-e", f"{ROOT}[test]"], check=True)
    tools = installed(vpython)
    moved = sorted(f"{n} {v} -> {tools.get(n)}" for n, v in held.items() if tools.get(n) != v)
    print(f"test-colab: then the test extra, for the tests only; it changed: {', '.join(moved) or 'nothing'}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
