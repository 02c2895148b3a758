"""The parameter guard (misspelled names, the JupyterLab rerun loop) and the validator family's messages."""
import os
from pathlib import Path

import pytest

from mnist_hw.validation import Choice, Each, Flag, Folder, Int, MAX_SEED, Number, ParameterGuard, Rules, Text

ROOT = Path(__file__).resolve().parents[1]


def run_notebook_cells(injected: dict, rules=None):
    """Simulate outside IPython: imports cell (guard), parameters cell (annotated), papermill's injected cell."""
    ns = {"__builtins__": __builtins__}
    exec("from mnist_hw.checks import ParameterGuard\nguard = ParameterGuard(globals())", ns)
    exec("batch_sizes: list[int] = [2, 16]\nlr: float = 0.001\ndevice: str = 'auto'\nresume: bool = True", ns)
    ns.update(injected)
    return ns["guard"].check(ns, rules)


def test_defaults_and_good_overrides_pass():
    assert run_notebook_cells({})["batch_sizes"] == [2, 16]
    assert run_notebook_cells({"lr": 1, "batch_sizes": [64]})["lr"] == 1


def test_misspelled_parameter_is_named_with_a_suggestion():
    with pytest.raises(NameError, match=r"unknown parameter 'batch_size' \(did you mean 'batch_sizes'\?\)"):
        run_notebook_cells({"batch_size": [16]})


@pytest.mark.parametrize("injected", [{"batch_sizes": "16, 64"}, {"batch_sizes": 16}, {"batch_sizes": [1.5]},
                                      {"lr": "fast"}, {"resume": 1}, {"device": 0}])
def test_without_rules_annotated_types_are_enforced(injected):
    name = next(iter(injected))
    with pytest.raises(TypeError, match=f"parameter '{name}' must be"):
        run_notebook_cells(injected)


def test_rules_replace_the_annotation_check_and_list_what_is_allowed():
    rules = Rules({"batch_sizes": Each(Int()), "lr": Number(), "device": Choice(["auto", "cpu"]), "resume": Flag()})
    assert run_notebook_cells({"lr": 0.5}, rules)["lr"] == 0.5
    with pytest.raises(ValueError, match=r"^device: None is not allowed; choose from \['auto', 'cpu'\]$"):
        run_notebook_cells({"device": None}, rules)
    with pytest.raises(TypeError, match=r"no rule for parameter\(s\) \['resume'\]"):
        run_notebook_cells({}, Rules({"batch_sizes": Each(Int()), "lr": Number(), "device": Text()}))


@pytest.mark.parametrize("rule,value,message", [
    (Int(), 0, "must be a positive integer"),
    (Int(), True, "must be a positive integer"),
    (Int(1, 784), 785, "must be an integer in 1..784"),
    (Each(Int(0, MAX_SEED)), [], "must be a non-empty list of distinct integers in 0..2**31-1"),
    (Each(Int(0, MAX_SEED)), [0, 0], "must be a non-empty list of distinct integers in 0..2**31-1"),
    (Each(Int(0, MAX_SEED)), [99999999999999], "must be an integer in 0..2**31-1"),
    (Each(Int(), empty=True), "16, 64", "must be a possibly empty list of distinct positive integers"),
    (Each(Number(), repeats=True), [], "must be a non-empty list of finite numbers > 0"),
    (Number(), float("nan"), "must be a finite number > 0"),
    (Number(), float("inf"), "must be a finite number > 0"),
    (Number(0.0, 1.0), 0, "must be a finite number in (0, 1]"),
    (Choice(["sigmoid", "relu", "tanh", "none"]), None, "choose from ['sigmoid', 'relu', 'tanh', 'none']"),
    (Each(Choice(["a", "b"])), ["a", "c"], "choose from ['a', 'b']"),
    (Flag(), 1, "must be True or False"),
    (Text(), 3, "must be a string"),
    (Folder(), "/no/such/folder", "must be '' (the default) or an existing folder"),
])
def test_each_rule_names_parameter_value_and_what_is_allowed(rule, value, message):
    shown = {(99999999999999,): 99999999999999, ("a", "c"): "c"}.get(tuple(value) if isinstance(value, list) else 0, value)
    with pytest.raises(ValueError) as err:  # a bad item of a list is shown alone, else the whole value
        rule.check("p", value)
    assert str(err.value) == f"p: {shown!r} is not allowed; {message}"


def test_rules_accept_their_boundaries():
    assert Int(1, 784).check("h", 784) == 784 and Number(0.0, 1.0).check("q", 1.0) == 1.0
    assert Each(Int(), empty=True).check("e", []) == [] and Each(Number(), repeats=True).check("l", [1, 1]) == [1, 1]
    assert Folder().check("d", "") == "" and Choice(["x"]).check("c", "x") == "x"


# ---- a real kernel: the JupyterLab loop and papermill's injected cell ----------------------------------------

IMPORTS = "from mnist_hw.validation import ParameterGuard, Rules, Int\nguard = ParameterGuard(globals())"
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
