"""The one registry of the assignment's four questions: each one's id, notebook, what the assignment asks, the tiny
parameters the tests run it with, and (imported when asked for) its module with the parameter rules and the grader.
Every other place (runner, grader, report, tests) reads the questions from here."""
from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml


@dataclass(frozen=True)
class Question:
    """id: q1 .. q4, the prefix of its run folders and its module mnist_hw.questions.<id>; notebook: the stem of
    notebooks/<notebook>.py (source) and .ipynb (record); tiny: parameters that run it in seconds, same code path."""

    id: str
    notebook: str
    tiny: dict[str, Any] = field(default_factory=dict)
    trained_after: str = "train"  # the Run.phase whose end means every model has trained: the runner then starts
    # the next notebook (mnist_hw.publish.batch)

    @property
    def module(self) -> ModuleType:
        """mnist_hw.questions.<id>: the notebook's parameter rules(), its written answers and its grader."""
        return importlib.import_module(f"{__package__}.questions.{self.id}")

    @property
    def title(self) -> str:
        return _assignment()[self.id]["name"]

    @property
    def asks(self) -> list[str]:
        """What the assignment asks, in this project's words (assignment.yaml; the report shows it)."""
        return _assignment()[self.id]["asks"]

    def statement(self) -> str:
        """The notebook's opening Markdown: its title and the assignment's sub-questions, lettered (a), (b), ... as
        the notebook's sections refer to them."""
        asks = "\n".join(f"- **({chr(97 + i)})** {ask}" for i, ask in enumerate(self.asks))
        return f"# {self.title} — {_assignment()[self.id]['topic']}\n\n**What the assignment asks**\n\n{asks}"


QUESTIONS: dict[str, Question] = {q.id: q for q in (
    Question("q1", "q1_binary_batch_size", {"epochs": 1, "batch_sizes": [64, 512], "seeds": [0, 1]}),
    Question("q2", "q2_ten_digits_grid", {"epochs": 1, "hidden_sizes": [8, 32], "batch_sizes": [1024],
                                          "extension_hidden": [64], "noise_top": 2, "noise_seeds": [0, 1]},
             trained_after="wide"),  # after "grid" and "noise"
    Question("q3", "q3_imbalance", {"epochs": 1, "N_list": [100, 5000], "seeds": [0, 1]}),
    Question("q4", "q4_autoencoder", {"epochs": 1, "batch_size": 256}),
)}


def question(name: str | Path | ModuleType) -> Question:
    """The question named by its id (q1), notebook (q1_binary_batch_size, with or without .py/.ipynb, or a path to
    it) or module (mnist_hw.questions.q1); a ValueError names the known ones."""
    if isinstance(name, ModuleType):
        name = name.__name__.rsplit(".", 1)[-1]
    stem = Path(str(name)).name.removesuffix(".ipynb").removesuffix(".py")
    for q in QUESTIONS.values():
        if stem in (q.id, q.notebook):
            return q
    raise ValueError(f"unknown notebook {str(name)!r}; choose from {', '.join(QUESTIONS)} "
                     f"or {', '.join(q.notebook for q in QUESTIONS.values())}")


@functools.cache
def _assignment() -> dict[str, Any]:
    return yaml.safe_load(Path(__file__).with_name("assignment.yaml").read_text(encoding="utf-8"))
