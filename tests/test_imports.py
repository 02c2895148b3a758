"""Imports run one way: no cycle among mnist_hw's modules, counting imports inside functions too."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mnist_hw"


def imports_of(source: str, package: str = "mnist_hw") -> set[str]:
    """The package's modules that a module's source imports anywhere (top level or inside a function)."""
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:  # from .models import x
                out.add(node.module.split(".")[0])
            elif node.level == 1 or node.module == package:  # from . import run_all / from mnist_hw import run_all
                out |= {alias.name for alias in node.names}
            elif node.module and node.module.startswith(package + "."):  # from mnist_hw.models import x
                out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[1] for a in node.names if a.name.startswith(package + ".")}
    return out


def import_graph(folder: Path = PACKAGE) -> dict[str, set[str]]:
    """module -> the package modules it imports."""
    modules = {p.stem: p for p in folder.glob("*.py") if p.stem != "__init__"}
    return {name: imports_of(path.read_text()) & set(modules) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None (depth-first search)."""
    state, stack = {}, []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle_among_the_package_modules():
    graph = import_graph()
    assert {"checks", "training", "validation"} <= set(graph) and "validation" in graph["training"]
    cycle = find_cycle(graph)
    assert cycle is None, f"import cycle: {' -> '.join(cycle)}"


def test_validation_imports_nothing_of_the_package():
    assert import_graph()["validation"] == set()


@pytest.mark.parametrize("source,cycle", [
    ({"a": "from .b import x", "b": "def f():\n    from .a import y"}, ["a", "b", "a"]),  # inside a function too
    ({"a": "from mnist_hw import b", "b": "import mnist_hw.c", "c": "from mnist_hw.a import z"}, ["a", "b", "c", "a"]),
    ({"a": "from .b import x", "b": "import os"}, None),
])
def test_find_cycle_sees_every_import_form(tmp_path, source, cycle):
    for name, text in source.items():
        (tmp_path / f"{name}.py").write_text(text)
    assert find_cycle(import_graph(tmp_path)) == cycle
