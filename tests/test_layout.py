"""The package's layout shows its architecture: few top-level modules, subpackages named after their concerns,
small modules, and each module-level constant defined in one place."""
import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "mnist_hw"
SUBPACKAGES = {"engine", "runs", "questions", "publish"}


def test_top_level_holds_init_main_the_registry_and_the_notebooks_facade_beside_the_subpackages():
    top = {p.name for p in PACKAGE.glob("*.py")}
    assert top - {"__init__.py", "__main__.py"} <= {"registry.py", "notebook.py"}, top
    subpackages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert subpackages == SUBPACKAGES


def test_no_module_over_300_lines():
    lengths = {str(p.relative_to(PACKAGE)): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    assert max(lengths.values()) <= 300, sorted(lengths.items(), key=lambda kv: -kv[1])[:3]


def constants(path: Path) -> set[str]:
    """UPPER_CASE names a module assigns at its top level."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        for target in targets:
            for name in ast.walk(target):
                if isinstance(name, ast.Name) and name.id.isupper() and len(name.id) > 1:
                    names.add(name.id)
    return names


def test_no_module_level_constant_defined_in_two_modules():
    where = defaultdict(list)
    for path in PACKAGE.rglob("*.py"):
        for name in constants(path):
            where[name].append(str(path.relative_to(PACKAGE)))
    twice = {name: places for name, places in where.items() if len(places) > 1}
    assert not twice, twice


def test_the_constant_check_sees_a_second_definition(tmp_path):
    (tmp_path / "a.py").write_text("RESULTS = 1\nx = 2\n")
    (tmp_path / "b.py").write_text("RESULTS: int = 3\nKEY, OTHER = 1, 2\n")
    assert constants(tmp_path / "a.py") & constants(tmp_path / "b.py") == {"RESULTS"}
