"""Checks of values against rules, with one error message naming the parameter, the value and what is allowed.

Generic and dependency-free, so any module may use it: a `Rule` says what a value must be (`Int`, `Number`,
`Choice`, `Text`, `Flag`, `Folder`, `Each` for lists) and `rule.check(name, value)` raises one ValueError such as
``batch_sizes: 0 is not allowed; must be a positive integer``. `Rules` is a table of them plus cross-parameter
checks (the notebooks' tables live in mnist_hw.checks); `require_choice` / `require_positive_int` check engine
arguments; `ParameterGuard` finds the parameters a notebook set and catches misspelled names.
"""
from __future__ import annotations

import ast
import difflib
import math
import typing
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_SEED = 2**31 - 1  # seeds are mixed into 64-bit generator seeds (data.generator); larger ones overflow there


class Rule:
    """What a value must be: `accepts` tests it, `describe` says it in words."""

    def accepts(self, value: Any) -> bool:
        raise NotImplementedError

    def describe(self, plural: bool = False) -> str:
        raise NotImplementedError

    def allowed(self) -> str:
        return f"must be {self.describe()}"

    def check(self, name: str, value: Any) -> Any:
        """Return value, or raise a ValueError naming the parameter, the value and what is allowed."""
        if not self.accepts(value):
            raise ValueError(f"{name}: {value!r} is not allowed; {self.allowed()}")
        return value


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _spell(bound: int | float) -> str:
    return "2**31-1" if bound == MAX_SEED else f"{bound:g}"


@dataclass(frozen=True)
class Int(Rule):
    """An integer in lo..hi (hi None: no upper bound)."""

    lo: int = 1
    hi: int | None = None

    def accepts(self, value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and self.lo <= value and (self.hi is None or value <= self.hi)

    def describe(self, plural: bool = False) -> str:
        if self.hi is None and self.lo == 1:
            return "positive integers" if plural else "a positive integer"
        noun = "integers" if plural else "an integer"
        return f"{noun} >= {self.lo}" if self.hi is None else f"{noun} in {self.lo}..{_spell(self.hi)}"


@dataclass(frozen=True)
class Number(Rule):
    """A finite real number above lo (or at it, with lo_closed) and at most hi."""

    lo: float = 0.0
    hi: float = math.inf
    lo_closed: bool = False

    def accepts(self, value: Any) -> bool:
        if not _number(value) or not math.isfinite(value):
            return False
        return (self.lo <= value if self.lo_closed else self.lo < value) and value <= self.hi

    def describe(self, plural: bool = False) -> str:
        noun = "finite numbers" if plural else "a finite number"
        if math.isinf(self.hi):
            return f"{noun} {'>=' if self.lo_closed else '>'} {_spell(self.lo)}"
        return f"{noun} in {'[' if self.lo_closed else '('}{_spell(self.lo)}, {_spell(self.hi)}]"


@dataclass(frozen=True)
class Choice(Rule):
    """One of a fixed list of values."""

    options: tuple

    def __init__(self, options: Iterable[Any]):
        object.__setattr__(self, "options", tuple(options))

    def accepts(self, value: Any) -> bool:
        return isinstance(value, Hashable) and value in self.options and not isinstance(value, bool)

    def describe(self, plural: bool = False) -> str:
        return f"{'choices' if plural else 'one'} from {list(self.options)}"

    def allowed(self) -> str:
        return f"choose from {list(self.options)}"



@dataclass(frozen=True)
class Text(Rule):
    """Any string."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str)

    def describe(self, plural: bool = False) -> str:
        return "strings" if plural else "a string"


@dataclass(frozen=True)
class Flag(Rule):
    """True or False."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)

    def describe(self, plural: bool = False) -> str:
        return "True or False"


@dataclass(frozen=True)
class Folder(Rule):
    """'' (meaning: the default) or a folder that exists."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and (value == "" or Path(value).expanduser().is_dir())

    def describe(self, plural: bool = False) -> str:
        return "'' (the default) or an existing folder"


@dataclass(frozen=True)
class Each(Rule):
    """A list of distinct values (unless repeats=True), each accepted by `item`; empty only with empty=True."""

    item: Rule
    empty: bool = False
    repeats: bool = False

    def accepts(self, value: Any) -> bool:
        if not isinstance(value, list) or (not value and not self.empty):
            return False
        return all(map(self.item.accepts, value)) and (self.repeats or len(set(value)) == len(value))

    def describe(self, plural: bool = False) -> str:
        return (f"a{' possibly empty' if self.empty else ' non-empty'} list of{'' if self.repeats else ' distinct'} "
                f"{self.item.describe(plural=True)}")

    def check(self, name: str, value: Any) -> Any:
        if isinstance(value, list):  # name the offending item when there is one
            for v in value:
                self.item.check(name, v)
        return super().check(name, value)


@dataclass
class Rules:
    """One notebook's parameter table: a rule per parameter, then checks that involve several parameters."""

    fields: dict[str, Rule]
    cross: Sequence[Callable[[Mapping[str, Any]], None]] = field(default_factory=tuple)

    def __call__(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Check every parameter (those the notebook does not declare are skipped); return them as a dict."""
        unruled = sorted(set(params) - set(self.fields))
        if unruled:
            raise TypeError(f"no rule for parameter(s) {unruled}: add them to the table in mnist_hw.checks")
        for name, rule in self.fields.items():
            if name in params:
                rule.check(name, params[name])
        for check in self.cross:
            check(params)
        return dict(params)


def require_choice(name: str, value: Any, allowed: Iterable[Any]) -> None:
    """Raise '<name>: <value> is not allowed; choose from [...]' unless value is allowed (engine arguments)."""
    Choice(allowed).check(name, value)


def require_positive_int(name: str, value: Any) -> None:
    """Raise '<name>: <value> is not allowed; must be a positive integer' unless it is one (engine arguments)."""
    Int().check(name, value)


# ---- catching misspelled names ----------------------------------------------------------------------------

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

    def check(self, namespace: Mapping[str, Any],
              rules: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None) -> dict[str, Any]:
        """Raise NameError on a misspelled parameter; then apply `rules` (else the annotated types); return them."""
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
        if rules is not None:
            return rules(params)
        annotations = namespace.get("__annotations__", {})
        for name in declared:
            if name in annotations and not conforms(params[name], annotations[name]):
                raise TypeError(f"parameter {name!r} must be {_type_name(annotations[name])}, got {params[name]!r}")
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


def conforms(value: Any, kind: Any) -> bool:
    """Whether value matches a simple annotation: int, float, str, bool, list[...], Literal[...]."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is typing.Literal:
        return value in args
    if origin is list:
        return isinstance(value, list) and all(conforms(v, args[0]) for v in value)
    if kind is float:
        return _number(value)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _type_name(kind: Any) -> str:
    return kind.__name__ if isinstance(kind, type) else str(kind).replace("typing.", "")
