"""Every pointer written for a reader still leads somewhere: each dotted `mnist_hw.…` name, each repository path
and each backticked package constant or function named in the README, docs/, the notebook sources, the package's
comments and strings, the tests' and benchmarks' comments and docstrings, and assignment.yaml exists."""
import ast
import importlib
import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUBPACKAGES = ("engine", "runs", "questions", "publish")
# a dotted name of the package, absolute, or backticked and relative to it (`engine.stack.MLPStack`)
DOTTED = re.compile(r"(?<![\w.])mnist_hw(?:\.[A-Za-z_]\w*)+(?![\w-])")
RELATIVE = re.compile(rf"`((?:{'|'.join(SUBPACKAGES)}|registry)(?:\.[A-Za-z_]\w*)+)(?<!\.py)(?:\(|`)")
# a path from the repository root, or a module path relative to the package (`engine/stack.py`)
ROOTED = re.compile(r"(?<![\w./-])((?:mnist_hw|tests|docs|notebooks|benchmarks|examples|results|figures|\.ci)/"
                    r"(?:\w[\w./-]*\w|\w)?)(?![\w{<*…])")
IN_PACKAGE = re.compile(rf"(?<![\w./-])((?:{'|'.join(SUBPACKAGES)})/[\w/]*\w\.py)\b")
LINK = re.compile(r"\]\(([^)#\s]+)")  # a Markdown link's target, relative to the document
# a backticked constant (`SEED`) or call of a bare name (`rules()`): the package (or its make/CI files) must say it
NAME = re.compile(r"`([A-Z][A-Z0-9]*_?[A-Z0-9_]*|[a-z_]\w*)(\(\))?`")
NOT_NAMES = {"AVX2", "AVX512", "PCA", "MNIST"}  # written in capitals because they are, not because code defines them
PLACEHOLDER = re.compile(r"[<>*{}$…]|\.\.\.")


def sources() -> dict[str, str]:
    """The text a reader follows pointers from, by file: prose whole, Python files' comments and strings."""
    texts = {f: (ROOT / f).read_text() for f in ["README.md", "mnist_hw/assignment.yaml"]}
    for path in [*ROOT.glob("docs/*.md"), *ROOT.glob("notebooks/*.py"), *ROOT.glob("mnist_hw/**/*.j2")]:
        texts[str(path.relative_to(ROOT))] = path.read_text()
    for path in ROOT.glob("mnist_hw/**/*.py"):
        texts[str(path.relative_to(ROOT))] = comments_and_strings(path.read_text())
    for path in [*ROOT.glob("tests/**/*.py"), *ROOT.glob("benchmarks/*.py"), ROOT / "conftest.py"]:
        texts[str(path.relative_to(ROOT))] = comments_and_docstrings(path.read_text())
    return texts


def comments_and_strings(source: str) -> str:
    """Every comment and string literal of a Python source (error messages point the user somewhere too)."""
    kinds = {tokenize.COMMENT, tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    return "\n".join(t.string for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type in kinds)


def comments_and_docstrings(source: str) -> str:
    """The comments and docstrings of a Python source (its other strings may name things that must not exist)."""
    tree = ast.parse(source)
    docs = [ast.get_docstring(n, clean=False) or "" for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))]
    comments = [t.string for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type == tokenize.COMMENT]
    return "\n".join(docs + comments)


def resolves(dotted: str) -> bool:
    """Whether a dotted name is a module of the package or an attribute of one."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def exists(path: Path) -> bool:
    """A file or folder, or a notebook named without its extension (the jupytext pair)."""
    return any(p.exists() for p in (path, path.with_name(path.name + ".py"), path.with_name(path.name + ".ipynb")))


def code_words() -> set[str]:
    """Every identifier-like word in the package's sources and the files that drive it (Makefile, CI, benchmarks)."""
    files = [*ROOT.glob("mnist_hw/**/*.py"), *ROOT.glob("benchmarks/*.py"), ROOT / "Makefile", ROOT / ".ci/run"]
    return {w for f in files for w in re.findall(r"\w+", f.read_text())}


def broken(name: str, text: str, words: set[str]) -> list[str]:
    """The pointers in one file's text that lead nowhere, each with what it should have been."""
    found = []
    found += [f"{m} (no such module or attribute)" for m in sorted(set(DOTTED.findall(text))) if not resolves(m)]
    found += [f"`{m}` (no such mnist_hw.{m})" for m in sorted(set(RELATIVE.findall(text))) if not resolves(f"mnist_hw.{m}")]
    paths = {p for p in ROOTED.findall(text) if not PLACEHOLDER.search(p) and not exists(ROOT / p.rstrip("."))}
    paths |= {p for p in IN_PACKAGE.findall(text) if not (ROOT / "mnist_hw" / p).exists() and not (ROOT / p).exists()}
    if name.endswith(".md"):
        here = (ROOT / name).parent
        paths |= {p for p in LINK.findall(text) if "://" not in p and not p.startswith("mailto:")
                  and not PLACEHOLDER.search(p) and not (here / p).exists()}
    found += [f"{p} (no such file or folder)" for p in sorted(paths)]
    if not name.startswith(("tests/", "benchmarks/", "conftest")):  # prose, where a backticked name means code
        names = {m for m, _ in NAME.findall(text) if m.isupper() or _}
        found += [f"`{m}` (named nowhere in the code)" for m in sorted(names - words - NOT_NAMES)]
    return found


def test_every_pointer_leads_somewhere():
    words = code_words()
    stale = {name: b for name, text in sorted(sources().items()) if (b := broken(name, text, words))}
    assert not stale, "\n" + "\n".join(f"{name}: {'; '.join(b)}" for name, b in stale.items())


@pytest.mark.parametrize("text, kind", [
    ("see mnist_hw.engine.models.NoSuchThing", "no such module or attribute"),
    ("tested in `tests/engine/test_nothing.py`", "no such file"),
    ("built in `engine/nothing.py`", "no such file"),
    ("each question's `RULES_TABLE`", "named nowhere"),
    ("see `engine.stack.NoSuchStack`", "no such mnist_hw"),
    ("[link](nothing.md)", "no such file"),
])
def test_a_stale_pointer_is_seen(text, kind):
    assert kind in "".join(broken("docs/example.md", text, {"SEED"}))


def test_live_pointers_pass():
    text = ("mnist_hw.engine.stack.MLPStack in `engine/stack.py`, `engine.train.fit`, tests/engine/test_data.py, "
            "`notebooks/q4_autoencoder`, `registry.py`, a results/-style folder, f\"notebooks/q{n}.py\", "
            "`SEED`, `rules()` with AVX2, results/<question>/ and [the README](../README.md)")
    assert broken("docs/example.md", text, {"SEED", "rules"}) == []
