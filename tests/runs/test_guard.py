"""The notebooks' check cell: misspelled names caught with a suggestion, the question's rules applied, and the
JupyterLab rerun loop in a real kernel."""
import os
from pathlib import Path

import pytest

from mnist_hw.engine.rules import Choice, Each, Flag, Int, Number, Rules, Text

ROOT = Path(__file__).resolve().parents[2]


SIMPLE = Rules({"batch_sizes": Each(Int()), "lr": Number(), "device": Choice(["auto", "cpu"]), "resume": Flag()})


def run_notebook_cells(injected: dict, rules: Rules = SIMPLE):
    """Simulate outside IPython: imports cell (guard), parameters cell (annotated), papermill's injected cell."""
    ns = {"__builtins__": __builtins__}
    exec("from mnist_hw.runs.guard import ParameterGuard\nguard = ParameterGuard(globals())", ns)
    exec("batch_sizes: list[int] = [2, 16]\nlr: float = 0.001\ndevice: str = 'auto'\nresume: bool = True", ns)
    ns.update(injected)
    return ns["guard"].check(ns, rules)


def test_defaults_and_good_overrides_pass():
    assert run_notebook_cells({})["batch_sizes"] == [2, 16]
    assert run_notebook_cells({"lr": 1, "batch_sizes": [64]})["lr"] == 1


def test_misspelled_parameter_is_named_with_a_suggestion():
    with pytest.raises(NameError, match=r"unknown parameter 'batch_size' \(did you mean 'batch_sizes'\?\)"):
        run_notebook_cells({"batch_size": [16]})


def test_the_rules_check_every_declared_parameter_and_list_what_is_allowed():
    assert run_notebook_cells({"lr": 0.5})["lr"] == 0.5
    with pytest.raises(ValueError, match=r"^device: None is not allowed; choose from \['auto', 'cpu'\]$"):
        run_notebook_cells({"device": None})
    with pytest.raises(ValueError, match=r"^batch_sizes: 16 is not allowed; must be a non-empty list"):
        run_notebook_cells({"batch_sizes": 16})
    with pytest.raises(TypeError, match=r"no rule for parameter\(s\) \['resume'\]"):
        run_notebook_cells({}, Rules({"batch_sizes": Each(Int()), "lr": Number(), "device": Text()}))


# ---- a real kernel: the JupyterLab loop and papermill's injected cell ----------------------------------------

IMPORTS = ("from mnist_hw.engine.rules import Int, Rules\n"
           "from mnist_hw.runs.guard import ParameterGuard\nguard = ParameterGuard(globals())")
PARAMETERS = "hidden: int = {}  # hidden units\nepochs: int = 1"
CHECK = "params = guard.check(globals(), Rules({'hidden': Int(), 'epochs': Int()}))\nprint(params)"
LATER = "accuracy = 99.5\nhidden_units = hidden"  # variables made by the cells after the check


@pytest.fixture(scope="module")
def kernel():
    """A real IPython kernel (as JupyterLab and papermill use) that imports this checkout's mnist_hw."""
    from jupyter_client.manager import start_new_kernel

    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    manager, client = start_new_kernel(kernel_name="python3", env=env)
    yield client
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def run(client, code: str) -> tuple[str, str | None]:
    """Execute one cell; return (stdout, 'ErrorName: message' or None)."""
    out, error = [], []

    def hook(msg):
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            error.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")

    client.execute_interactive(code, output_hook=hook, timeout=60)
    return "".join(out), error[0] if error else None


def test_lab_loop_rerun_from_parameters_cell_works_and_injected_typos_are_caught(kernel):
    for cell in (IMPORTS, PARAMETERS.format(16), CHECK, LATER):  # a full run
        assert run(kernel, cell)[1] is None
    assert run(kernel, PARAMETERS.format(32))[1] is None  # edit a parameter, rerun it and the check cell
    out, error = run(kernel, CHECK)
    assert error is None and "'hidden': 32" in out
    assert run(kernel, LATER)[1] is None and run(kernel, CHECK)[1] is None  # rerunning the check cell alone
    run(kernel, PARAMETERS.format(8))  # papermill-style: an injected cell with a misspelled name
    run(kernel, "# Parameters\nhiden = 64\n")
    assert run(kernel, CHECK)[1] == ("NameError: unknown parameter 'hiden' (did you mean 'hidden'?); "
                                     "parameters are: hidden, epochs")
    run(kernel, PARAMETERS.format(8))  # a correct injected value still counts
    run(kernel, "# Parameters\nhidden = 0\n")
    assert "hidden: 0 is not allowed; must be a positive integer" in run(kernel, CHECK)[1]
