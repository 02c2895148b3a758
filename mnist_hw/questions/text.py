"""Small wording helpers shared by the answers."""
from __future__ import annotations

import inspect
import textwrap

import pandas as pd
from IPython.display import Code


def bullets(lines: list[str]) -> str:
    """A Markdown bullet list of the non-empty lines."""
    return "\n".join(f"- {line}" for line in lines if line)


def trend(series: pd.Series) -> str:
    """How a series ordered by its index moves: up at every step, down at every step, or not monotone."""
    steps = series.diff().dropna()
    if steps.empty:
        return "has a single value"
    return "rises at every step" if (steps > 0).all() else "falls at every step" if (steps < 0).all() else "is not monotone"


def listing(values: pd.Series, fmt: str = "{:.2f}", unit: str = "") -> str:
    """'key: value, key: value' for a series."""
    return ", ".join(f"{k}: {fmt.format(v)}{unit}" for k, v in values.items())


def steps_per_training(epochs: int, train_size: int, batch_size: int) -> int:
    """Optimizer steps over training: one per minibatch (the last one may be short), every epoch."""
    return epochs * -(-train_size // batch_size)


def show_code(*objects) -> Code:
    """The source of functions or classes as highlighted Python: the code that produced a notebook's numbers, shown
    in the notebook and in the report (which hides code cells, not their outputs)."""
    return Code("\n\n".join(textwrap.dedent(inspect.getsource(o)).strip() for o in objects), language="python")
