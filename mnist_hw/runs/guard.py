"""The notebooks' check cell: find the parameters a notebook set, catch misspelled names, then apply its rules."""
from __future__ import annotations

import ast
import difflib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..engine.device import DEVICE, resolve_device
from ..engine.rules import Folder, Text

RUN = {"device": DEVICE, "data_root": Folder(), "run_dir": Text()}  # where and on what a run goes, every question


def device_present(params: Mapping[str, Any]) -> None:
    """A device this machine lacks: RuntimeError naming the ones it has (a cross-check of every question's rules())."""
    if "device" in params:
        resolve_device(params["device"])


class ParameterGuard:
    """Find the parameters a notebook set and catch misspelled ones (papermill's `-p batch_size 16`).

    The parameters cell declares each parameter with a type annotation; papermill's injected cell assigns
    without one. In IPython the guard reads the input history: the names assigned between the latest run of
    the parameters cell and the check cell (papermill's injected cell) must be declared there, so variables
    that later cells made in an earlier run do not count and the JupyterLab loop (edit, rerun from the
    parameters cell, Run All, or rerun the check cell) works. Outside IPython it compares the namespace with
    a snapshot taken when the guard was made.
    """

    def __init__(self, namespace: Mapping[str, Any]):
        self.before = set(namespace)

    def check(self, namespace: Mapping[str, Any], rules: Callable[[Mapping[str, Any]], None]) -> dict[str, Any]:
        """Raise NameError on a misspelled parameter, then apply the question's `rules`; return the parameters."""
        history = _since_parameters_cell(namespace.get("In"))
        if history is None:
            declared = list(namespace.get("__annotations__", {}))
            new = set(namespace) - self.before
        else:
            declared, new = history
        for name in sorted(n for n in set(new) - set(declared) if not n.startswith("_") and namespace.get(n) is not self):
            hint = difflib.get_close_matches(name, declared, n=1)
            raise NameError(f"unknown parameter {name!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                            + f"; parameters are: {', '.join(declared)}")
        params = {name: namespace[name] for name in declared}
        rules(params)
        return params


def _since_parameters_cell(inputs: Sequence[str] | None) -> tuple[list[str], set[str]] | None:
    """(names declared by the latest parameters cell, names assigned by the cells run after it), or None."""
    if not inputs:
        return None
    for i in range(len(inputs) - 2, 0, -1):  # inputs[-1] is the cell running now (the check cell)
        declared = [t for t, annotated in _assigned(inputs[i]) if annotated]
        if declared:  # the cells between it and the first run of this check cell after it (papermill's)
            end = next(j for j in range(i + 1, len(inputs)) if inputs[j] == inputs[-1])
            return declared, {t for cell in inputs[i + 1:end] for t, _ in _assigned(cell)}
    return None


def _assigned(source: str) -> list[tuple[str, bool]]:
    """(name, annotated?) for each top-level assignment to a plain name in a cell's source."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return []
    out = []
    for node in body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out.append((node.target.id, True))
        elif isinstance(node, ast.Assign):
            out += [(t.id, False) for t in node.targets if isinstance(t, ast.Name)]
    return out
