"""Checks of values against rules, with one error message naming the parameter, the value and what is allowed.

Generic and dependency-free, so any module may use it: a `Rule` says what a value must be (`Int`, `Number`,
`Choice`, `Text`, `Flag`, `Folder`, `Each` for lists) and `rule.check(name, value)` raises one ValueError such as
``batch_sizes: 0 is not allowed; must be a positive integer``. `Rules` is a table of them plus cross-parameter
checks (each question's table is its module's rules()). The engine's own parameters (HIDDEN, SEED, LR, ...) have
their one rule here, which the engine's constructors check and the notebooks' tables reuse.
"""
from __future__ import annotations

import math
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

    def __call__(self, params: Mapping[str, Any]) -> None:
        """Check every parameter (those the notebook does not declare are skipped)."""
        unruled = sorted(set(params) - set(self.fields))
        if unruled:
            raise TypeError(f"no rule for parameter(s) {unruled}: add them to the rules() of the notebook's question "
                            "module in mnist_hw.questions")
        for name, rule in self.fields.items():
            if name in params:
                rule.check(name, params[name])
        for check in self.cross:
            check(params)


# ---- the engine's parameters: one rule each, checked by the engine's constructors and reused by the notebooks'
# parameter tables (the rules of choices sit beside what they choose from: ACTIVATION, OPTIMIZER, SCHEDULE, DEVICE)
POSITIVE = Int()  # epochs, batch sizes, stream counts
SEED = Int(0, MAX_SEED)
HIDDEN = Int(1, 16_384)  # wider layers gain nothing here and a lockstep stack of them may not fit in memory
LR = Number(0.0)
