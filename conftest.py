"""Repository-wide pytest set-up, shared by the unit tests and nbval's notebook runs."""
import collections
import os
import threading
import time
from pathlib import Path

import pytest


def pytest_configure(config):
    prepare_notebooks(config)
    # Notebooks run under test write their run folders to a scratch folder, never into the repository's runs/.
    os.environ.setdefault("MNIST_HW_RUNS", str(Path(config.rootpath) / ".pytest_cache" / "runs"))
    # Two test workers share the machine: every kernel and worker they start computes on one thread, so no two
    # OpenMP pools spin against each other on the same cores (tests that need more threads set them themselves).
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_collectstart(collector):
    # tqdm progress bars differ on every run: nbval does not compare them.
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("text/html", "application/javascript", "stderr",
                                   "application/vnd.jupyter.widget-view+json")


def pytest_collection_modifyitems(config, items):
    from mnist_hw.engine.data import has_mnist, mnist_root  # torch: imported by the workers, not the controller

    # nbval runs the notebooks on real MNIST: without the files, skip them with the reason instead of failing.
    if not has_mnist():
        skip = pytest.mark.skip(reason=f"MNIST raw files not found under {mnist_root()} (set MNIST_HW_DATA)")
        for item in items:
            if item.path.suffix == ".ipynb":
                item.add_marker(skip)
    # The order pytest-xdist hands out test modules (addopts: --no-loadscope-reorder): the one Lab session
    # (tests/test_browser.py, the longest test by far) first, then the modules with the most tests, as xdist's own
    # reordering would; started last, the Lab session would run alone on one worker while the other one idles.
    module = lambda item: item.nodeid.split("::")[0]
    size = collections.Counter(map(module, items))
    items.sort(key=lambda item: (module(item) != "tests/test_browser.py", -size[module(item)]))


NBVAL = Path(__file__).parent / ".pytest_cache" / "nbval"
READY, FAILED = ".ready", ".failed"  # written last: the four notebooks are there; or what went wrong


def prepare_notebooks(config) -> None:
    """Before collection, write each notebook prepared with its tiny parameters (papermill --prepare-only: the
    parameters injected after the parameters cell, nothing executed) to .pytest_cache/nbval/, which `make test`
    hands to nbval (`--nbval-lax`): every cell must run, and cells marked NBVAL_CHECK_OUTPUT must print what the
    committed record shows. The controlling process writes them on a thread of its own, while pytest-xdist starts
    its workers, and marks them READY; a worker waits for that mark before it collects them."""
    asked = [Path(a.split("::")[0]).resolve() for a in config.args]
    if not any(p == NBVAL or NBVAL in p.parents for p in asked):
        return
    if hasattr(config, "workerinput"):
        deadline = time.monotonic() + 120
        while not (NBVAL / READY).exists():
            failed = NBVAL / FAILED
            assert not failed.exists(), f"preparing the notebooks for nbval failed:\n{failed.read_text()}"
            assert time.monotonic() < deadline, f"the notebooks for nbval were not prepared in {NBVAL}"
            time.sleep(0.05)
        return
    import shutil

    shutil.rmtree(NBVAL, ignore_errors=True)
    NBVAL.mkdir(parents=True)
    writer = threading.Thread(target=write_prepared_notebooks, name="nbval notebooks")
    writer.start()
    if config.getoption("numprocesses", None) in (None, 0):  # no workers: collection comes next, in this process
        writer.join()


def write_prepared_notebooks() -> None:
    try:
        import papermill as pm
        from mnist_hw.registry import QUESTIONS
        from mnist_hw.runs.folder import NOTEBOOKS

        for q in QUESTIONS.values():
            pm.execute_notebook(NOTEBOOKS / f"{q.notebook}.ipynb", NBVAL / f"{q.notebook}.ipynb", prepare_only=True,
                                progress_bar=False, kernel_name="python3",
                                parameters={**q.tiny, "run_dir": str(NBVAL / "runs" / q.notebook)})
    except BaseException:
        import traceback

        (NBVAL / FAILED).write_text(traceback.format_exc())
        raise
    (NBVAL / READY).touch()


def pytest_terminal_summary(terminalreporter):
    """One line per notebook that nbval ran: how many of its cells passed, failed or were skipped."""
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            path = report.nodeid.split("::")[0]
            if report.when in ("call", "setup") and path.endswith(".ipynb") and (outcome != "passed" or report.when == "call"):
                counts.setdefault(Path(path).name, {}).setdefault(outcome, 0)
                counts[Path(path).name][outcome] += 1
    for name, by in sorted(counts.items()):
        terminalreporter.write_line(f"nbval {name}: " + ", ".join(f"{n} cells {o}" for o, n in by.items()))
