"""Run folders: one notebook, one full parameter set, one folder with its CSVs, figures and manifest.

A run's folder is `run_dir` when the notebook sets it, else `runs/<notebook>-<key>` where the key hashes the
notebook's full parameters, the resolved device and the package's source code. So two different parameter sets
never share rows, a code change starts a new folder, and rerunning the same parameters resumes the same rows.
A lock file makes a second process that opens the same folder fail at once with a clear message.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import filelock
import torch

from .. import registry
from ..engine.device import device_reason, gpu_versions, resolve_device
from ..engine.repository import is_repo
from ..engine.train import CONFIG_KEY
from . import figure
from .claim import NotARunFolder, claim, lock_folder
from .files import REPO, shown, write_atomic
from .progress import report
from .store import RowStore

NOTEBOOKS = REPO / "notebooks"
PACKAGE = Path(__file__).resolve().parents[1]
RUNS_ENV = "MNIST_HW_RUNS"
CLAIMED_ENV = "MNIST_HW_CLAIMED"  # the run folder whose lock the runner holds for the kernel it started
CONTROL = ("run_dir",)  # parameters that say where a run goes, not what it computes
_LOCKS: dict[Path, filelock.FileLock] = {}


def runs_root() -> Path:
    """Where default run folders go: $MNIST_HW_RUNS, else runs/ in the repository."""
    return Path(os.environ.get(RUNS_ENV) or REPO / "runs").expanduser()


def code_version() -> str:
    """A short hash of every source file of the package, subpackages included: results are only reused under the
    same code."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def git_commit() -> str | None:
    """The repository's commit, with '-dirty' when tracked code differs from it; None outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
        # notebooks/, results/ and figures/ are what `make run` itself rewrites: they do not make the code dirty
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!notebooks",
                                ":!results", ":!figures"], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("-dirty" if dirty else "")


def kernel_python(kernel: str = "python3") -> str:
    """The interpreter that runs the notebooks' kernel: its kernelspec's, where a bare 'python' means the runner's own
    (as jupyter_client reads it)."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        argv = KernelSpecManager().get_kernel_spec(kernel).argv
    except Exception:  # no such kernel: papermill says so itself
        return sys.executable
    bare = {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info[:2])}
    return sys.executable if not argv or argv[0] in bare else argv[0]


def other_checkout(cwd: Path = NOTEBOOKS, kernel: str = "python3", env: Mapping[str, str] | None = None) -> str | None:
    """None when the notebooks' kernel, started in `cwd` as the runner starts it, imports this same mnist_hw; else one
    sentence naming both (two checkouts sharing one environment: the kernel would write its run folders into the
    other one, where the runner would not find them)."""
    python = kernel_python(kernel)
    probe = "import importlib.util as u; s = u.find_spec('mnist_hw'); print(s.origin if s and s.origin else '')"
    try:
        found = subprocess.run([python, "-c", probe], cwd=cwd, env=dict(os.environ if env is None else env),
                               capture_output=True, text=True, timeout=120).stdout.strip()
    except (OSError, subprocess.SubprocessError):  # a kernel that cannot start: papermill reports it
        return None
    there = Path(found).resolve().parent if found else None
    if there == PACKAGE:
        return None
    fix = f"install this one there (`{python} -m pip install --no-deps -e {REPO}`)"
    if there is None:
        return f"this run starts from {PACKAGE}, but the notebooks' kernel ({python}) cannot import mnist_hw at all: {fix}"
    if is_repo(there.parent):  # an editable install of another clone
        return (f"this run starts from {PACKAGE}, but the notebooks' kernel ({python}) would import mnist_hw from "
                f"{there} (two checkouts sharing one environment) and write its run folders there: run from "
                f"{there.parent}, or {fix}")
    return (f"this run starts from {PACKAGE}, but the notebooks' kernel ({python}) would import the mnist_hw installed "
            f"at {there} instead, so the run folders would not be where this run looks: {fix}")


def run_key(notebook: str, params: Mapping[str, Any], device: torch.device | str) -> str:
    """The hash that names a default run folder: notebook, parameters, device type and code version."""
    identity = {"notebook": notebook, "device": torch.device(device).type, "code": code_version(),
                "params": {k: v for k, v in params.items() if k not in CONTROL}}
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:10]


def default_run_dir(notebook: str, params: Mapping[str, Any], device: torch.device | str) -> Path:
    """runs/<notebook>-<key> (see run_key)."""
    return runs_root() / f"{notebook}-{run_key(notebook, params, device)}"


def resolve_run_dir(notebook: str, params: Mapping[str, Any], device: torch.device | str) -> Path:
    """The run folder: the `run_dir` parameter when set, else the default for these parameters."""
    return Path(params["run_dir"]).expanduser() if params.get("run_dir") else default_run_dir(notebook, params, device)


def versions() -> dict[str, str]:
    """Versions of Python and the packages a run's numbers depend on."""
    out = {"python": platform.python_version()}
    for name in ("mnist_hw", "torch", "torchvision", "numpy", "pandas"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            out[name] = importlib.metadata.version(name)
    return out


def device_name(device: torch.device) -> str:
    """'cpu (x86_64)', or the accelerator's marketing name."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{device.type} ({platform.machine()})"


def cpu_model() -> str | None:
    """The CPU's name (e.g. 'AMD EPYC 7B13'): /proc/cpuinfo on Linux, sysctl on macOS, else platform.processor();
    None when the system does not say."""
    try:
        if platform.system() == "Linux":
            for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "Hardware", "cpu model") and value.strip():
                    return value.strip()
        elif platform.system() == "Darwin":
            name = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                                  timeout=5).stdout.strip()
            if name:
                return name
    except (OSError, subprocess.SubprocessError):
        pass
    return platform.processor() or None


def machine() -> dict[str, Any]:
    """What a CPU run's last digits depend on besides the code: the CPU model, the vector instructions torch's
    kernels use (torch.backends.cpu.get_cpu_capability: AVX2, AVX512, ...), the CPU threads and the BLAS."""
    capability = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", lambda: None)
    config = torch.__config__.show()
    blas = dict(part.split("=", 1) for part in config.replace(",", " ").split() if part.startswith("BLAS_INFO="))
    return {"cpu_model": cpu_model(), "cpu_capability": capability(), "cpu_threads": torch.get_num_threads(),
            "blas": blas.get("BLAS_INFO")}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Run:
    """An open run: its folder, its row stores, its figures and tables, and its manifest. `trained_after`: the phase
    whose end means every model has trained (registry.Question.trained_after; the batch runner starts the next notebook)."""

    def __init__(self, notebook: str, folder: Path, params: Mapping[str, Any], device: torch.device,
                 trained_after: str | None = None):
        from ..engine.data import RAW_MD5  # verified by data.ensure_mnist before any file is read

        self.notebook, self.dir, self.device, self.trained_after = notebook, folder, torch.device(device), trained_after
        asked = params.get("device", self.device.type)  # the notebook's parameter: 'auto' or a name
        self._start = time.perf_counter()
        self.manifest: dict[str, Any] = {
            "notebook": notebook, "run_dir": shown(folder), "parameters": dict(params),
            "code_version": code_version(), "git_commit": git_commit(), "versions": versions(),
            "device": str(self.device), "device_name": device_name(self.device), **gpu_versions(self.device), **machine(),
            "platform": platform.platform(), "mnist_md5": RAW_MD5, "started": _now(), "finished": None, "phases_s": {}, "wall_s": None,
        }
        self.manifest["device_reason"] = device_reason(asked if asked in ("auto", self.device.type) else self.device.type)
        self._write()
        report(notebook=notebook, run_dir=shown(folder))

    def __repr__(self) -> str:
        return f"Run({shown(self.dir)})"

    def path(self, name: str) -> Path:
        """A file in the run folder."""
        return self.dir / name

    def rows(self, name: str, key: list[str] | None = None, per_epoch: bool = False) -> RowStore:
        """The row store name.csv of this run, one row per `key` (default: a training configuration, CONFIG_KEY;
        per_epoch: and epoch): rows are reused only under the same code version and device."""
        key = [*(CONFIG_KEY if key is None else key), *(["epoch"] if per_epoch else [])]
        return RowStore(self.path(f"{name}.csv"), key, {"code_version": code_version(), "device": self.device.type})

    def save_figure(self, fig, name: str) -> Path:
        """Save a matplotlib figure as name.png in the run folder (the notebook still shows it inline), and its size
        and smallest text in the manifest, from which the report's page tells how large that text prints."""
        path, image = self.path(f"{name}.png"), figure.png(fig)
        write_atomic(path, image)
        self.manifest.setdefault("figures", {})[name] = figure.facts(fig, image)
        self._write()
        return path

    def save_table(self, table, name: str, **to_csv) -> Path:
        """Save a DataFrame as name.csv in the run folder (whole: a kill leaves the old file or the new)."""
        path = self.path(f"{name}.csv")
        write_atomic(path, table.to_csv(lineterminator="\n", **to_csv))
        return path

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time a named phase into the manifest; the end of `trained_after` tells the runner this kernel has trained."""
        start = time.perf_counter()
        report(phase=name, phase_changed=time.time())
        try:
            yield
        finally:
            report(phase=None, last_phase=name, phase_changed=time.time(), **({"trained": True} if name == self.trained_after else {}))
            phases = self.manifest["phases_s"]
            phases[name] = round(phases.get(name, 0.0) + time.perf_counter() - start, 3)
            self._write()

    def finish(self, **summary: Any) -> None:
        """Record the end time, total wall time and the run's headline numbers (`headline` is what `python -m mnist_hw
        run` prints when the run ends)."""
        self.manifest["summary"] = summary
        self.manifest["finished"] = _now()
        self.manifest["wall_s"] = round(time.perf_counter() - self._start, 3)
        self._write()

    def describe(self) -> str:
        """One line of provenance for the notebook's output: run folder, code, versions, machine, threads, and which
        device ran and why."""
        m, v = self.manifest, self.manifest["versions"]
        return (f"run folder {m['run_dir']} | mnist_hw code {m['code_version']}, git {m['git_commit'] or 'n/a'} | "
                f"python {v['python']}, torch {v.get('torch', '?')} | {m['device_name']}, {m['cpu_threads']} CPU threads"
                f" | device {m['device_reason']}")

    def _write(self) -> None:
        write_atomic(self.path("manifest.json"), json.dumps(self.manifest, indent=1, default=str) + "\n")


def writable_folder(folder: Path, run_dir: str) -> None:
    """Create the run folder if needed and check that files can be written in it; else a ValueError naming run_dir."""
    allowed = ("run_dir must be '' (the default: a folder under runs/, or under $MNIST_HW_RUNS) or a folder that can "
               "be written (created if missing)")
    given = f"run_dir: {run_dir!r}" if run_dir else f"run_dir: '' (the default folder {shown(folder)})"
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{given} is not allowed: it is a file, not a folder; {allowed}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise ValueError(f"{given} is not allowed: it cannot be written ({err.strerror or err}); {allowed}") from None


def open_run(question: str | ModuleType, params: Mapping[str, Any], device: torch.device | str | None = None) -> Run:
    """Create (or reopen) the run folder of `question` (its module, e.g. mnist_hw.questions.q1, or its id) for these
    parameters, and hold its lock for the life of the process. device: a torch.device, or a name as the notebooks'
    `device` parameter gives it ('auto', 'cpu', ...; default: params['device'], else 'auto'), resolved here.

    A run_dir that is not a run folder (mnist_hw.runs.claim), a file or cannot be written is refused first (a
    ValueError naming run_dir). Reopening in the same process (rerunning a notebook's cells in JupyterLab) reuses the
    lock; a second process gets a RuntimeError naming the folder instead of writing the same rows twice. Under the
    runner, which holds the lock for its kernel ($MNIST_HW_CLAIMED), the kernel does not take it again.
    """
    q = registry.question(question)
    if not isinstance(device, torch.device):
        device = resolve_device(device or params.get("device", "auto"))
    folder = resolve_run_dir(q.id, params, device).resolve()
    try:
        claim(folder, q.id, q.notebook, params.get("run_dir") or "")
    except NotARunFolder as err:  # in the notebook, a parameter error like the others
        raise ValueError(str(err)) from None
    writable_folder(folder, params.get("run_dir") or "")
    if folder not in _LOCKS and os.environ.get(CLAIMED_ENV) != str(folder):
        _LOCKS[folder] = lock_folder(folder)
    return Run(q.id, folder, params, device, q.trained_after)


if __name__ == "__main__":  # pragma: no cover - a quick look at what a run records
    print(json.dumps({"code_version": code_version(), "git": git_commit(), **versions()}, indent=1), file=sys.stdout)
