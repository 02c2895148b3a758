"""Imports run one way, counted over every module of the package and its subpackages (imports inside functions too):
no cycle among the modules, none among the subpackages, and the engine imports nothing of the package outside it."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mnist_hw"


def modules(root: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under the package (a package is its __init__)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that module `name` imports anywhere (top level or inside a function)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:  # `from pkg import module` names a module; `from module import x` does not
                out.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in known else target)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return out & known - {name}


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """module -> the package modules it imports."""
    found = modules(root)
    return {name: imports_of(name, path, set(found)) for name, path in found.items()}


def subpackage_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Subpackage (or top-level module) -> the others it imports: mnist_hw.engine.data counts as mnist_hw.engine."""
    def unit(module: str) -> str:
        return ".".join(module.split(".")[:2])
    out: dict[str, set[str]] = {}
    for module, targets in graph.items():
        out.setdefault(unit(module), set()).update(unit(t) for t in targets if unit(t) != unit(module))
    return out


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


def test_no_import_cycle_among_the_modules_counted_recursively():
    graph = import_graph()
    assert "mnist_hw.engine.rules" in graph["mnist_hw.engine.train"]  # a subpackage's modules are seen
    assert "mnist_hw.engine.stack" in graph["mnist_hw.questions.q4"]
    cycle = find_cycle(graph)
    assert cycle is None, f"import cycle: {' -> '.join(cycle)}"


def test_no_import_cycle_among_the_subpackages():
    graph = subpackage_graph(import_graph())
    assert {"mnist_hw.engine", "mnist_hw.runs", "mnist_hw.questions", "mnist_hw.publish"} <= set(graph)
    cycle = find_cycle(graph)
    assert cycle is None, f"import cycle: {' -> '.join(cycle)}"


def test_the_engine_imports_nothing_of_the_package_outside_it():
    graph = import_graph()
    outside = {m: sorted(t for t in ts if not t.startswith("mnist_hw.engine"))
               for m, ts in graph.items() if m.startswith("mnist_hw.engine")}
    assert not any(outside.values()), outside


def test_engine_rules_import_nothing_of_the_package():
    assert import_graph()["mnist_hw.engine.rules"] == set()


@pytest.mark.parametrize("source,cycle", [
    ({"a": "from .b import x", "b": "def f():\n    from .a import y"}, ["pkg.a", "pkg.b", "pkg.a"]),  # in a function
    ({"a": "from pkg import b", "b": "import pkg.c", "c": "from pkg.a import z"}, ["pkg.a", "pkg.b", "pkg.c", "pkg.a"]),
    ({"a": "from .b import x", "b": "import os"}, None),
    ({"sub/__init__.py": "", "sub/x": "from ..a import y", "a": "from .sub import x"}, ["pkg.a", "pkg.sub.x", "pkg.a"]),
    ({"sub/__init__.py": "", "sub/x": "from . import y", "sub/y": "from .x import z"},
     ["pkg.sub.x", "pkg.sub.y", "pkg.sub.x"]),  # a module of a subpackage, imported by `from . import`
])
def test_find_cycle_sees_every_import_form(tmp_path, source, cycle):
    root = tmp_path / "pkg"
    for name, text in source.items():
        path = root / (name if name.endswith(".py") else f"{name}.py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert find_cycle(import_graph(root)) == cycle
