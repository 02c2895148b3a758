"""The package's layout shows its architecture: few top-level modules, subpackages named after their concerns,
small modules, each module-level constant defined in one place, and tests named like what they test."""
import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mnist_hw"
TESTS_DOC = ROOT / "docs" / "tests.md"
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


def with_behaviour(package: Path) -> list[str]:
    """The package's modules that define a function or class (paths relative to the package)."""
    return sorted(str(p.relative_to(package)) for p in package.rglob("*.py")
                  if any(isinstance(n, (ast.FunctionDef, ast.ClassDef)) for n in ast.parse(p.read_text()).body))


def own_test_file(module: str, tests: Path) -> Path:
    """Where a module's own tests live: engine/stack.py -> tests/engine/test_stack.py."""
    path = Path(module)
    return tests / path.parent / f"test_{path.stem}.py"


def listed_elsewhere(doc: str) -> dict[str, str]:
    """docs/tests.md's table of modules without a test file of their own: module -> where it is tested."""
    return {m.group(1): m.group(2) for m in re.finditer(r"^\| `([\w/]+\.py)` \| (.+) \|$", doc, re.M)}


def untested(package: Path, tests: Path, doc: str) -> list[str]:
    """Modules with behaviour that have neither their own test file nor a row in docs/tests.md saying where."""
    elsewhere = listed_elsewhere(doc)
    return [m for m in with_behaviour(package) if not own_test_file(m, tests).exists() and m not in elsewhere]


def test_each_module_has_its_test_file_or_says_where_it_is_tested():
    missing = untested(PACKAGE, ROOT / "tests", TESTS_DOC.read_text())
    assert not missing, (f"no tests/<folder>/test_<module>.py and no row in docs/tests.md's table for {missing}")


def test_each_row_of_the_table_names_a_test_file_and_a_module_without_one():
    for module, where in listed_elsewhere(TESTS_DOC.read_text()).items():
        assert (PACKAGE / module).is_file(), f"docs/tests.md names {module}, which is not a module of mnist_hw"
        assert not own_test_file(module, ROOT / "tests").exists(), f"{module} has {own_test_file(module, ROOT / 'tests')}: drop its row"
        assert re.search(r"`tests/[\w/]+\.py`", where), f"docs/tests.md's row for {module} names no test file"


def test_the_layout_check_sees_a_module_without_tests(tmp_path):
    (tmp_path / "pkg" / "engine").mkdir(parents=True)
    (tmp_path / "tests" / "engine").mkdir(parents=True)
    for name in ("stack", "loop", "constants"):
        (tmp_path / "pkg" / "engine" / f"{name}.py").write_text("X = 1\n" if name == "constants" else "def f(): pass\n")
    (tmp_path / "tests" / "engine" / "test_stack.py").write_text("")
    assert untested(tmp_path / "pkg", tmp_path / "tests", "") == ["engine/loop.py"]
    assert untested(tmp_path / "pkg", tmp_path / "tests", "| `engine/loop.py` | `tests/engine/test_stack.py` |") == []

