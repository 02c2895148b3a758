"""What an install gets: pyproject.toml declares every third-party module the code imports, and requirements-lock.txt
pins every declared dependency (runtime and extras) at a version the declaration allows; the README's install routes
leave a clone's `git status` clean. Offline: reads files, and installs the package alone (no dependencies, no build
isolation) into scratch folders. After changing pyproject.toml's dependencies, `make lock` (docs/install.md) brings
the lock up to date."""
import ast
import functools
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements-lock.txt"

# Import names that are not their distribution's name (the rest: the import name, '_' read as '-').
DISTRIBUTION = {"yaml": "pyyaml", "bs4": "beautifulsoup4", "PIL": "pillow", "IPython": "ipython",
                "sklearn": "scikit-learn", "skimage": "scikit-image", "cv2": "opencv-python", "attr": "attrs",
                "dateutil": "python-dateutil", "jupyter_client": "jupyter-client", "zmq": "pyzmq",
                "google": "protobuf", "xdist": "pytest-xdist", "_pytest": "pytest"}


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def declared(extra: str | None = None) -> dict[str, Requirement]:
    """Canonical name -> requirement, of the runtime dependencies or of one extra."""
    reqs = project()["dependencies"] if extra is None else project()["optional-dependencies"][extra]
    return {canonicalize_name(r.name): r for r in map(Requirement, reqs)}


def lock_lines(path: Path = LOCK) -> list[str]:
    """The lock's requirement lines: comments, continuation lines and options dropped."""
    lines = (line.split(" #")[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith(("#", "-"))]


def locked(path: Path = LOCK) -> dict[str, list[Requirement]]:
    """Canonical name -> the lock's requirements for it (more than one where the lock forks by Python version)."""
    out: dict[str, list[Requirement]] = {}
    for line in lock_lines(path):
        req = Requirement(line)
        out.setdefault(canonicalize_name(req.name), []).append(req)
    return out


def pinned_version(req: Requirement) -> Version | None:
    """The version of an exact '==X' pin, else None."""
    specs = list(req.specifier)
    if len(specs) == 1 and specs[0].operator == "==" and "*" not in specs[0].version:
        return Version(specs[0].version)
    return None


def lock_disagreements(requirements: dict[str, Requirement], lock: dict[str, list[Requirement]]) -> list[str]:
    """One sentence per declared requirement that the lock leaves out, or pins outside the declared range."""
    problems = []
    for name, req in sorted(requirements.items()):
        if name not in lock:
            problems.append(f"{req} is declared in pyproject.toml but not pinned in {LOCK.name}")
            continue
        for pin in lock[name]:
            version = pinned_version(pin)
            if version is not None and not req.specifier.contains(version, prereleases=True):
                problems.append(f"{LOCK.name} pins {pin} but pyproject.toml asks for {req}")
    return problems


def test_every_line_of_the_lock_is_an_exact_pin():
    loose = [line for line in lock_lines() if pinned_version(Requirement(line)) is None]
    assert len(lock_lines()) > 50, "the lock looks empty"
    assert not loose, f"{LOCK.name} must pin every package with ==: {loose}"


@pytest.mark.parametrize("extra", [None, *sorted(project().get("optional-dependencies", {}))])
def test_lock_pins_every_declared_dependency(extra):
    problems = lock_disagreements(declared(extra), locked())
    assert not problems, "\n".join(problems + ["stale lock: run `make lock` (docs/install.md)"])


def test_lock_was_compiled_for_every_extra_and_the_oldest_python():
    """The lock's header is the command that made it: with each extra, universal, for requires-python's floor."""
    header = LOCK.read_text(encoding="utf-8").splitlines()[:3]
    command = next((line.lstrip("# ").strip() for line in header if "pip compile" in line), None)
    assert command, f"{LOCK.name} has no 'uv pip compile' command in its header: {header}"
    args = shlex.split(command)
    extras = {args[i + 1] for i, a in enumerate(args[:-1]) if a == "--extra"}
    assert "--all-extras" in args or extras == set(project().get("optional-dependencies", {})), command
    assert "--universal" in args, command
    floor = min(Version(s.version) for s in SpecifierSet(project()["requires-python"]) if s.operator == ">=")
    assert args[args.index("--python-version") + 1] == str(floor), f"requires-python's floor is {floor}: {command}"


def test_the_lock_check_sees_a_missing_or_out_of_range_pin():
    """The check itself: a lock that lost a package, or pins one below its declared floor, is refused."""
    lock = locked()
    numpy = declared()["numpy"]
    broken = {**lock, "numpy": [Requirement("numpy==0.1")]}
    expected = f"{LOCK.name} pins numpy==0.1 but pyproject.toml asks for {numpy}"
    assert lock_disagreements({"numpy": numpy}, broken) == [expected]
    assert lock_disagreements({"numpy": numpy}, {k: v for k, v in lock.items() if k != "numpy"})


def local_modules(root: Path) -> set[str]:
    """Top-level names that are the repository's own (mnist_hw, tests' helpers, conftest, benchmarks)."""
    names = {"mnist_hw", "tests", "conftest"}
    for folder in (root, root / "tests", root / "benchmarks"):
        if folder.is_dir():
            names |= {p.stem for p in folder.glob("*.py")} | {p.name for p in folder.iterdir() if p.is_dir()}
    return names


def third_party_imports(paths: list[Path], root: Path = ROOT) -> dict[str, set[str]]:
    """Top-level module -> the files importing it (anywhere in the file, also inside functions), stdlib and the
    repository's own modules left out."""
    out: dict[str, set[str]] = {}
    skip = set(sys.stdlib_module_names) | local_modules(root) | {"__future__"}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in skip:
                    out.setdefault(top, set()).add(path.relative_to(root).as_posix())
    return out


@functools.cache
def installed_modules() -> dict[str, list[str]]:
    """Top-level module -> the installed distributions providing it: a scan of every installed package's files,
    made once."""
    return packages_distributions()


def distribution_of(module: str) -> str:
    """The distribution that provides a top-level module: the table above, else the installed environment's
    answer when it has exactly one, else the module's own name."""
    if module in DISTRIBUTION:
        return canonicalize_name(DISTRIBUTION[module])
    installed = installed_modules().get(module, [])
    return canonicalize_name(installed[0] if len(set(installed)) == 1 else module)


def undeclared(imports: dict[str, set[str]], allowed: set[str]) -> list[str]:
    return [f"{module} (distribution {distribution_of(module)}), imported by {', '.join(sorted(files))}"
            for module, files in sorted(imports.items()) if distribution_of(module) not in allowed]


def python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py")
                  if ".ipynb_checkpoints" not in p.parts)


def test_every_module_the_package_and_notebooks_import_is_a_runtime_dependency():
    files = python_files("mnist_hw", "notebooks")
    imports = third_party_imports(files)
    assert {"torch", "numpy", "pandas"} <= set(imports), "the walk over mnist_hw/ and notebooks/ found too little"
    missing = undeclared(imports, set(declared()))
    assert not missing, "import(s) not declared in pyproject.toml's dependencies:\n" + "\n".join(missing)


def test_every_module_the_tests_import_is_declared_with_the_test_extra():
    files = [*python_files("tests", "benchmarks"), ROOT / "conftest.py"]
    imports = third_party_imports([p for p in files if p.is_file()])
    missing = undeclared(imports, set(declared()) | set(declared("test")))
    assert not missing, ("import(s) not declared in pyproject.toml (dependencies or the test extra):\n"
                         + "\n".join(missing))


def test_the_import_check_sees_an_undeclared_module(tmp_path):
    """The check itself: a package importing, inside a function, a module that pyproject.toml does not name is
    reported; a declared one (yaml -> pyyaml) and its own modules are not."""
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "sub" / "m.py").write_text(
        "import yaml\nfrom pkg import sub\ndef f():\n    from sklearn.linear_model import Ridge\n")
    imports = third_party_imports(sorted(tmp_path.rglob("*.py")), root=tmp_path)
    assert undeclared(imports, set(declared())) == ["sklearn (distribution scikit-learn), imported by pkg/sub/m.py"]


def test_pytest_plugins_named_in_addopts_are_in_the_test_extra():
    addopts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]
    options = addopts.get("addopts", "")
    plugins = {"pytest-xdist": r"(^|\s)(-n|--dist)\b", "nbval": r"--nbval"}
    needed = {name for name, flag in plugins.items() if re.search(flag, options)}
    assert needed <= set(declared("test")), f"addopts '{options}' needs {sorted(needed - set(declared('test')))}"


# ---- Google Colab: its published runtime satisfies every range; the README's install cell runs only there -------

def colab() -> dict[str, str]:
    from tests.colab.runtime import colab_versions

    return colab_versions()


def test_colabs_published_versions_satisfy_every_runtime_range_it_has():
    """tests/colab/pip-freeze.gpu.txt (Colab's GPU runtime, Python 3.13): `make test-colab` installs the package
    there; this checks offline that no runtime range of pyproject.toml asks for another version than Colab's (the
    test extra may: pytest>=9.0 is above Colab's 8.4.2, and only the tests need it)."""
    versions = colab()
    assert versions["torch"] == "2.11.0" and versions["ipython"] == "7.34.0", "local labels (+cu128) are dropped"
    assert not any(name.startswith("nvidia-") for name in versions), "the CUDA libraries belong to Colab's torch build"
    held = {name: req for name, req in declared().items() if name in versions}
    assert {"torch", "numpy", "pandas", "ipython", "ipykernel", "ipywidgets", "jupyter-client"} <= set(held)
    refused = [f"{req} (Colab: {versions[name]})" for name, req in sorted(held.items())
               if not req.specifier.contains(versions[name], prereleases=True)]
    assert not refused, "ranges that Colab's runtime does not satisfy: " + ", ".join(refused)


def readme_colab_cell() -> str:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    cells = [block for block in blocks if "google.colab" in block]
    assert len(cells) == 1, "the README has one Colab install cell"
    return cells[0]


@pytest.mark.parametrize("in_colab", [False, True])
def test_the_readme_colab_cell_installs_only_inside_colab(monkeypatch, in_colab):
    import subprocess
    import types

    calls = []
    monkeypatch.setattr(subprocess, "run", lambda command, **kw: calls.append(command))
    monkeypatch.setattr("builtins.input", lambda prompt="": calls.append(prompt) or "https://example.org/me/mnist_hw")
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = list(sys.path)
    if in_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(readme_colab_cell(), "README.md (Colab cell)", "exec"), {})
    if not in_colab:
        assert calls == [] and sys.path == before
        return
    assert calls == ["git URL of your copy of this repository: ",
                     ["git", "clone", "-q", "https://example.org/me/mnist_hw", "/content/mnist_hw"],
                     [sys.executable, "-m", "pip", "install", "-q", "-e", "/content/mnist_hw"]]
    assert sys.path == ["/content/mnist_hw", *before]


def package_clone(tmp_path: Path) -> Path:
    """A git clone of what pip builds from: the tracked package, pyproject.toml, README.md and .gitignore as they
    are in this working tree, committed."""
    clone = tmp_path / "clone"
    tracked = subprocess.run(["git", "ls-files", "-z", "pyproject.toml", "README.md", ".gitignore", "mnist_hw"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, tracked):
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, clone / name)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "clone"]):
        subprocess.run(git + command, cwd=clone, check=True)
    return clone


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_readme_install_routes_leave_a_clone_clean(tmp_path):
    """`pip install .` and `pip install -e .` (README, docs/install.md) build in the clone: build/ and
    mnist_hw.egg-info/ are left there and must be ignored, or every scan of the tree sees a second package."""
    pytest.importorskip("setuptools", reason="installing without build isolation needs setuptools in this environment")
    clone = package_clone(tmp_path)
    for route in (["."], ["-e", "."]):
        target = tmp_path / f"site{len(route)}"
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                        "--target", str(target), *route], cwd=clone, check=True, capture_output=True)
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=clone,
                                capture_output=True, text=True, check=True).stdout
        assert status == "", f"pip install {' '.join(route)} left in the clone:\n{status}"
    assert (clone / "build").is_dir(), "pip built elsewhere: the check above saw nothing"

