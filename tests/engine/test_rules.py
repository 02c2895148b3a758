"""The rule family's messages (parameter, value, what is allowed), and each engine parameter's one rule, which the
engine's constructors check with the same message as the notebooks' tables."""
import pytest

from mnist_hw.engine.activations import ACTIVATION
from mnist_hw.engine.models import SimpleMLP
from mnist_hw.engine.optim import OPTIMIZER
from mnist_hw.engine.rules import HIDDEN, LR, MAX_SEED, SEED, Choice, Each, Flag, Folder, Int, Number, Text
from mnist_hw.engine.train import TrainConfig


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


@pytest.mark.parametrize("build,rule,name,value", [
    (lambda: SimpleMLP(784, 0, 10), HIDDEN, "hidden", 0),
    (lambda: TrainConfig(hidden=20_000), HIDDEN, "hidden", 20_000),
    (lambda: TrainConfig(seed=-1), SEED, "seed", -1),
    (lambda: TrainConfig(lr=0.0), LR, "lr", 0.0),
    (lambda: TrainConfig(optimizer="rmsprop"), OPTIMIZER, "optimizer", "rmsprop"),
    (lambda: SimpleMLP(784, 8, 10, activation="gelu"), ACTIVATION, "activation", "gelu"),
])
def test_the_engine_checks_its_parameters_with_the_rule_the_notebooks_use(build, rule, name, value):
    with pytest.raises(ValueError) as from_engine:
        build()
    with pytest.raises(ValueError) as from_rule:
        rule.check(name, value)
    assert str(from_engine.value) == str(from_rule.value)
