"""What a `python -m mnist_hw run` asks for: jobs (a notebook and the parameters it changes) from notebook names in
any form, papermill's -p / -y / -f values and batch files, each checked before anything runs.

NOTEBOOK is q1..q4 or a notebook's name or path in any form (q4, q4_autoencoder.ipynb, notebooks/q4_autoencoder.ipynb).
A notebook's source is its jupytext pair notebooks/<name>.py when there is one, else the .ipynb. A batch file is a
YAML or JSON list of parameter sets, each naming its notebook. Whatever cannot run (an unknown notebook or
parameter, a file that does not parse, the same run twice) raises Refused, which the command line prints with its
usage.
"""
from __future__ import annotations

import ast
import functools
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import papermill as pm
import yaml
from papermill.iorw import NoDatesSafeLoader

from . import record
from .reference import RESULTS
from ..registry import QUESTIONS, question
from ..runs.claim import NotARunFolder, claim
from ..runs.folder import NOTEBOOKS, resolve_run_dir, shown

PLACE = ("run_dir", "data_root", "device")  # parameters that say where a run goes or reads, not what it computes


class Refused(ValueError):
    """A command that cannot run as given, found before anything runs (the command line prints it with its usage and
    exits with status 2)."""

    status = 2


class Unable(Refused):
    """A command that is well formed but cannot run here (a folder that cannot be written, a tool that is missing):
    the command line prints the one message, without its usage, and exits with status 1."""

    status = 1


class Values(NoDatesSafeLoader):
    """The YAML reader of -y, -f and batch files: papermill's (no dates), where 1e-5 and 1E-3 are also numbers (YAML
    1.2, Python), not strings that no float parameter accepts."""


Values.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$"),
                             list("-+0123456789"))


@dataclass
class Job:
    """One notebook with one parameter set (overrides of its defaults)."""

    notebook: Path  # notebooks/<name>.ipynb: the executed record (what --reference replaces)
    overrides: dict[str, Any] = field(default_factory=dict)
    origin: str = ""  # where the job was asked for: "q1", "batch.yaml set 2"

    def __post_init__(self) -> None:
        # a relative run_dir means the caller's working directory, resolved once here: the kernel runs elsewhere
        if isinstance(self.overrides.get("run_dir"), str) and self.overrides["run_dir"]:
            self.overrides = self.overrides | {"run_dir": str(Path(self.overrides["run_dir"]).expanduser().resolve())}

    @property
    def name(self) -> str:
        return record.prefix(self.notebook)

    @property
    def label(self) -> str:
        """How the runner's lines name it: the notebook, and the batch set it comes from."""
        return self.notebook.stem + (f" ({self.origin})" if " set " in self.origin else "")

    @property
    def source_path(self) -> Path:
        """The file the notebook is built from (mnist_hw.publish.record.source_path)."""
        return record.source_path(self.notebook)

    @functools.cached_property
    def source(self) -> nbformat.NotebookNode:
        """The notebook to execute, built from its source (mnist_hw.publish.record.source)."""
        return record.source(self.notebook)

    @functools.cached_property
    def declared(self) -> dict[str, Any]:
        """The parameters the notebook declares, as papermill reads them."""
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / self.notebook.name
            nbformat.write(self.source, path)
            return pm.inspect_notebook(str(path))

    def parameters(self) -> dict[str, Any]:
        """The notebook's full parameter set: its defaults with the overrides applied (as the notebook sees it)."""
        declared = self.declared
        unknown = sorted(set(self.overrides) - set(declared))
        if unknown:
            raise Refused(f"{self.notebook.name}: unknown parameter(s) {unknown}; parameters are: {', '.join(declared)}")
        return {k: self.overrides[k] if k in self.overrides else ast.literal_eval(p["default"]) for k, p in declared.items()}

    def run_dir(self) -> Path:
        """The run folder; Refused naming the parameter when device or run_dir cannot say where the run goes."""
        from ..engine.device import resolve_device  # torch is imported only when a run folder is needed

        params = self.parameters()
        try:
            device = resolve_device(params["device"])
        except (RuntimeError, ValueError) as err:
            raise Refused(f"{self.origin}: {err}") from None
        if not isinstance(params.get("run_dir") or "", str):
            raise Refused(f"{self.origin}: run_dir: {params['run_dir']!r} is not allowed; must be a string (a folder)")
        return resolve_run_dir(self.name, params, device).resolve()

    def claim(self) -> Path:
        """The run folder, once checked that it is one this run may write into (mnist_hw.runs.claim), else Refused."""
        folder = self.run_dir()
        q = question(self.notebook)
        try:
            claim(folder, q.id, q.notebook, self.overrides.get("run_dir") or "")
        except NotARunFolder as err:
            raise Refused(f"{self.origin}: {err}") from None
        return folder

    def expected(self) -> float | None:
        """Seconds the committed record's run took when it had these parameters (where it goes aside), else None."""
        try:
            manifest = json.loads((RESULTS / self.notebook.stem / "manifest.json").read_text())
        except (OSError, ValueError):
            return None
        same = {k: v for k, v in manifest.get("parameters", {}).items() if k not in PLACE} == \
            {k: v for k, v in self.parameters().items() if k not in PLACE}
        return manifest.get("wall_s") if same else None


def find_notebook(name: str) -> Path:
    """A notebook from q4, q4_autoencoder, q4_autoencoder.ipynb (or .py), notebooks/q4_autoencoder.ipynb or ./...;
    else Refused naming the known ones. Returns the path of its .ipynb record."""
    try:
        return NOTEBOOKS / f"{question(name).notebook}.ipynb"
    except ValueError as err:
        raise Refused(str(err)) from None


def all_notebooks() -> list[Path]:
    """Every notebook of the assignment, as the registry lists them (the .ipynb record, written or not)."""
    return [NOTEBOOKS / f"{q.notebook}.ipynb" for q in QUESTIONS.values()]


def parse_value(text: str) -> Any:
    """A `-p` value as papermill reads it: int, float, True/False, None, else the string itself."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"True": True, "False": False, "None": None}.get(text, text)


def read_yaml(text: str, where: str, strict_json: bool = False) -> Any:
    """YAML text (or JSON, read strictly when `strict_json`); a syntax error stops naming the source, line and column."""
    if strict_json:
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise Refused(f"{where}, line {err.lineno}, column {err.colno}: not valid JSON: {err.msg}") from None
    try:
        return yaml.load(text, Loader=Values)
    except yaml.YAMLError as err:
        mark, context = getattr(err, "problem_mark", None), getattr(err, "context_mark", None)
        at = f"{where}, line {mark.line + 1}, column {mark.column + 1}" if mark else where
        began = f" (line {context.line + 1}, column {context.column + 1})" if context and getattr(err, "context", None) else ""
        problem = f"{err.context}{began}: {err.problem}" if began else getattr(err, "problem", None) or str(err)
        raise Refused(f"{at}: not valid YAML: {problem}") from None


def load_batch(path: Path, default: list[Path]) -> list[Job]:
    """Jobs from a YAML or JSON list of parameter sets; a set may name its `notebook`, else the one given."""
    if not path.is_file():
        raise Refused(f"{path}: no such batch file")
    sets = read_yaml(_read_file(path, "--batch"), str(path), strict_json=path.suffix.lower() == ".json")
    if not isinstance(sets, list) or not all(isinstance(s, dict) for s in sets):
        raise Refused(f"{path}: a batch file is a list of parameter sets (mappings), e.g. - {{notebook: q3, N_list: [100]}}")
    jobs = []
    for i, params in enumerate(sets, 1):
        params = dict(params)
        name = params.pop("notebook", None)
        if name is None and len(default) != 1:
            raise Refused(f"{path}: set {i} names no notebook; add `notebook: q1` or give one NOTEBOOK argument")
        jobs.append(Job(find_notebook(str(name)) if name else default[0], params, origin=f"{path.name} set {i}"))
    return jobs


def refuse_repeats(jobs: list[Job]) -> None:
    """Stop before anything runs when two jobs are one run (the same notebook and full parameters, or the same
    run_dir): they would write one run folder."""
    first: dict[Path, Job] = {}
    for job in jobs:
        folder = job.run_dir()
        if folder in first:
            raise Refused(f"{first[folder].origin} and {job.origin} are the same run ({job.notebook.stem}, "
                             f"run folder {shown(folder)}): a run folder holds one run; drop one of them")
        first[folder] = job




def overrides(files: list[str], mappings: list[str], pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """The parameters a command line sets, merged as papermill merges them: -f files, then -y mappings, then -p."""
    merged: dict[str, Any] = {}
    for where, text in [(f"-f {f}", _read_file(f, "-f")) for f in files] + [(f"-y {t!r}", t) for t in mappings]:
        mapping = read_yaml(text, where)
        if not isinstance(mapping, dict):
            raise Refused(f"{where}: parameters are a YAML mapping such as '{{batch_sizes: [16, 64]}}', got {text.strip()!r}")
        merged |= mapping
    return merged | {name: parse_value(value) for name, value in pairs}


def _read_file(name: str | Path, flag: str) -> str:
    try:
        return Path(name).read_text(encoding="utf-8")
    except OSError as err:
        raise Refused(f"{flag} {name}: cannot be read ({err.strerror or err})") from None
    except UnicodeDecodeError as err:
        raise Refused(f"{flag} {name}: not UTF-8 text (byte {err.object[err.start]:#x} at offset {err.start}); "
                      "save it as UTF-8") from None
