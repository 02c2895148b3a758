"""Checks for notebook parameters: papermill injects values without checking names or types; this does."""
from __future__ import annotations

import difflib
import typing
from collections.abc import Iterable, Mapping
from typing import Any


class ParameterGuard:
    """Snapshot a notebook's names before its `parameters` cell; `check` then validates what was set after it.

    The parameters cell declares each parameter with a type annotation; papermill's injected cell assigns
    without one, so any new name that was not annotated is a misspelled parameter.
    """

    def __init__(self, namespace: Mapping[str, Any]):
        self.before = set(namespace)

    def check(self, namespace: Mapping[str, Any]) -> dict[str, Any]:
        """Raise on unknown names or values of the wrong type; return the parameters as a dict."""
        declared = dict(namespace.get("__annotations__", {}))
        new = set(namespace) - self.before - set(declared)
        unknown = sorted(k for k in new if not k.startswith("_") and namespace[k] is not self)
        for name in unknown:
            hint = difflib.get_close_matches(name, declared, n=1)
            raise NameError(f"unknown parameter {name!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                            + f"; parameters are: {', '.join(declared)}")
        for name, kind in declared.items():
            if not conforms(namespace[name], kind):
                raise TypeError(f"parameter {name!r} must be {_spell(kind)}, got {namespace[name]!r}")
        return {name: namespace[name] for name in declared}


def conforms(value: Any, kind: Any) -> bool:
    """Whether value matches a simple annotation: int, float, str, bool, list[...], Literal[...]."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is typing.Literal:
        return value in args
    if origin is list:
        return isinstance(value, list) and all(conforms(v, args[0]) for v in value)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _spell(kind: Any) -> str:
    return kind.__name__ if isinstance(kind, type) else str(kind).replace("typing.", "")


def check_choices(name: str, values: Iterable[Any], allowed: Iterable[Any]) -> None:
    """Raise a ValueError naming the parameter and the allowed values if any value is not allowed."""
    allowed = list(allowed)
    bad = [v for v in values if v not in allowed]
    if bad:
        raise ValueError(f"{name}: {bad} not allowed; choose from {allowed}")


def check_positive(name: str, values: Iterable[Any]) -> None:
    """Raise a ValueError naming the parameter if any value is not > 0 (or the list is empty)."""
    values = list(values)
    if not values or any(v <= 0 for v in values):
        raise ValueError(f"{name} must be positive (and not empty), got {values}")


def require_choice(name: str, value: Any, allowed: Iterable[Any]) -> None:
    """Raise a ValueError '<name> must be one of [...], got <value>' unless value is allowed."""
    allowed = list(allowed)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


def require_positive_int(name: str, value: Any) -> None:
    """Raise a ValueError '<name> must be a positive integer, got <value>' unless value is an int > 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
