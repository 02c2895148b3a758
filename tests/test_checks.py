import pytest

from mnist_hw.params import ParameterGuard, check_choices, check_positive, conforms


def run_notebook_cells(injected: dict):
    """Simulate: imports cell (guard), parameters cell (annotated), papermill's injected cell."""
    ns = {"__builtins__": __builtins__}
    exec("from mnist_hw.params import ParameterGuard\nguard = ParameterGuard(globals())", ns)
    exec("batch_sizes: list[int] = [2, 16]\nlr: float = 0.001\ndevice: str = 'auto'\nresume: bool = True", ns)
    ns.update(injected)
    return ns["guard"].check(ns)


def test_defaults_and_good_overrides_pass():
    assert run_notebook_cells({})["batch_sizes"] == [2, 16]
    assert run_notebook_cells({"lr": 1, "batch_sizes": [64]})["lr"] == 1


def test_misspelled_parameter_is_named_with_a_suggestion():
    with pytest.raises(NameError, match=r"unknown parameter 'batch_size' \(did you mean 'batch_sizes'\?\)"):
        run_notebook_cells({"batch_size": [16]})


@pytest.mark.parametrize("injected", [{"batch_sizes": "16, 64"}, {"batch_sizes": 16}, {"batch_sizes": [1.5]},
                                      {"lr": "fast"}, {"resume": 1}, {"device": 0}])
def test_wrong_types_are_refused(injected):
    name = next(iter(injected))
    with pytest.raises(TypeError, match=f"parameter '{name}' must be"):
        run_notebook_cells(injected)


def test_conforms_literal():
    from typing import Literal

    assert conforms("relu", Literal["relu", "sigmoid"]) and not conforms("gelu", Literal["relu", "sigmoid"])


def test_value_checks_name_the_parameter():
    with pytest.raises(ValueError, match=r"batch_sizes must be positive"):
        check_positive("batch_sizes", [16, 0])
    with pytest.raises(ValueError, match=r"activations: \['gelu'\] not allowed; choose from \['relu', 'sigmoid'\]"):
        check_choices("activations", ["relu", "gelu"], ["relu", "sigmoid"])
