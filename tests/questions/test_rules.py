"""Every notebook parameter at and beyond its boundaries, the edge cases of issue 13, and property tests: whatever
the check functions accept, the builders downstream accept."""
import math

import nbformat
import papermill as pm
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mnist_hw.questions.q3.data import largest_N
from mnist_hw.questions.q4 import MAX_EXAMPLES
from mnist_hw.registry import QUESTIONS
from mnist_hw.engine.rules import MAX_SEED
from mnist_hw.engine.data import CLASS_COUNTS, Split, generator, load_mnist, pick_per_class, select_digits
from mnist_hw.questions.q3.data import build, load_imbalanced
from mnist_hw.engine.models import PCA, Autoencoder, SimpleMLP
from mnist_hw.questions.q3.remedies import METHODS
from mnist_hw.engine.train import TrainConfig
from mnist_hw.runs.folder import NOTEBOOKS

RULES = {q.notebook: q.module.rules() for q in QUESTIONS.values()}
check_q1, check_q2, check_q3, check_q4 = RULES.values()


def defaults(notebook: str) -> dict:
    """The notebook's parameters as its tagged parameters cell sets them."""
    nb = nbformat.read(NOTEBOOKS / f"{notebook}.ipynb", 4)
    ns: dict = {}
    exec(next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", [])), ns)
    return {k: v for k, v in ns.items() if k not in ("__builtins__", "__annotations__")}


@pytest.mark.parametrize("notebook", RULES)
def test_every_notebook_parameter_has_a_rule_and_the_defaults_pass(notebook):
    RULES[notebook](defaults(notebook))  # raises on a parameter without a rule or a default the rules refuse
    with pytest.raises(TypeError, match="no rule for parameter"):
        RULES[notebook]({**defaults(notebook), "undeclared": 1})


def refuse(check, notebook: str, message: str, **changes):
    with pytest.raises(ValueError) as err:
        check({**defaults(notebook), **changes})
    assert str(err.value) == message


# (notebook, parameter, accepted values, refused values): the ends of each range and just past them
BOUNDARIES = [
    ("q1_binary_batch_size", "batch_sizes", [[1], [1, 2**20]], [[0], [], [128, 128], [-1], [2.0], "16"]),
    ("q1_binary_batch_size", "seeds", [[0], [MAX_SEED], [0, 1]], [[], [-1], [MAX_SEED + 1], [99999999999999], [0, 0]]),
    ("q1_binary_batch_size", "hidden", [1, 16_384], [0, 16_385, 1.0, True]),
    ("q1_binary_batch_size", "activation", ["sigmoid", "relu", "tanh"], ["swish", None, "none", ""]),
    ("q1_binary_batch_size", "optimizer", ["sgd", "adam"], ["Adam", None]),
    ("q1_binary_batch_size", "lr", [1e-12, 1, 1e6], [0, -1e-3, math.nan, math.inf, "1e-3", None]),
    ("q1_binary_batch_size", "epochs", [1], [0, -1, 1.5]),
    ("q1_binary_batch_size", "device", ["auto", "cpu"], ["tpu", None, "CPU"]),
    ("q1_binary_batch_size", "data_root", ["", "."], ["/no/such/folder", None]),
    ("q2_ten_digits_grid", "hidden_sizes", [[1], [16_384]], [[], [0], [8, 8], [16_385]]),
    ("q2_ten_digits_grid", "extension_hidden", [[], [32, 64], [16_384]], [[64, 64], [0], None]),
    ("q2_ten_digits_grid", "activations", [["tanh"]], [[], ["relu", "relu"], ["gelu"]]),
    ("q2_ten_digits_grid", "schedule", ["constant", "cosine"], ["linear", None]),
    ("q2_ten_digits_grid", "seed", [0, MAX_SEED], [-1, MAX_SEED + 1]),
    ("q2_ten_digits_grid", "lockstep", [True, False], [1, "yes"]),
    ("q3_imbalance", "N_list", [[1], [6742], [1, 6742]], [[], [0], [6743], [100, 100]]),
    ("q3_imbalance", "methods", [["centroid", "autoencoder"], list(METHODS)], [[], ["baseline", "baseline"], ["svm"]]),
    ("q3_imbalance", "ae_quantile", [1e-9, 0.5, 1], [0, -0.1, 1.0001, math.nan]),
    ("q3_imbalance", "ae_hidden", [1, 16_384], [0, 16_385]),
    ("q3_imbalance", "workers", [0, 1, 64], [-1, 1.5]),
    ("q3_imbalance", "batch_size", [1], [0]),
    ("q4_autoencoder", "hidden", [1, 784], [0, 785, 800]),
    ("q4_autoencoder", "output_activation", ["sigmoid", "relu", "tanh", "none"], [None, "softmax", "None"]),
    ("q4_autoencoder", "examples_per_digit", [1, 20], [0, 21, 1000]),
    ("q4_autoencoder", "lr", [1e4], [0, math.inf]),
]


@pytest.mark.parametrize("notebook,name,good,bad", BOUNDARIES, ids=[f"{b[0][:2]}-{b[1]}" for b in BOUNDARIES])
def test_boundaries(notebook, name, good, bad):
    check = RULES[notebook]
    for value in good:
        check({**defaults(notebook), name: value})  # accepted: no error
    for value in bad:
        with pytest.raises(ValueError, match=rf"^{name}: .* is not allowed; (must be|choose from) "):
            check({**defaults(notebook), name: value})


def test_issue_13_messages():
    refuse(check_q1, "q1_binary_batch_size", "seeds: [] is not allowed; must be a non-empty list of distinct "
           "integers in 0..2**31-1", seeds=[])
    refuse(check_q1, "q1_binary_batch_size", "seeds: 99999999999999 is not allowed; must be an integer in 0..2**31-1",
           seeds=[99999999999999])
    refuse(check_q1, "q1_binary_batch_size", "batch_sizes: [128, 128] is not allowed; must be a non-empty list of "
           "distinct positive integers", batch_sizes=[128, 128])
    refuse(check_q4, "q4_autoencoder", "output_activation: None is not allowed; choose from "
           "['sigmoid', 'relu', 'tanh', 'none']", output_activation=None)
    refuse(check_q4, "q4_autoencoder", "hidden: 800 is not allowed; must be an integer in 1..784", hidden=800)
    refuse(check_q4, "q4_autoencoder", "examples_per_digit: 1000 is not allowed; must be an integer in 1..20",
           examples_per_digit=1000)
    for empty in ("optimizers", "lrs", "activations"):
        with pytest.raises(ValueError, match=rf"^{empty}: \[\] is not allowed; must be a non-empty list"):
            check_q2({**defaults("q2_ten_digits_grid"), empty: []})
    refuse(check_q2, "q2_ten_digits_grid", "lrs: [0.001] is not allowed; optimizers and lrs pair up by position, so "
           "lrs must hold one learning rate per optimizer (2: ['adam', 'sgd'])", lrs=[0.001])
    refuse(check_q2, "q2_ten_digits_grid", "optimizers: ['adam', 'adam'] is not allowed; must be a non-empty list of "
           "distinct choices from ['sgd', 'adam']", optimizers=["adam", "adam"])


def test_absent_device_is_refused_by_name(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="device 'cuda' is not available on this machine"):
        check_q1({**defaults("q1_binary_batch_size"), "device": "cuda"})


def test_limits_from_class_counts_hold_on_the_real_labels(mnist_dir):
    """Q3's largest N and Q4's most examples per digit are derived from constants: check them on the files."""
    assert largest_N() + 1 == CLASS_COUNTS["train"][1] + 1 == int((load_mnist(True, mnist_dir)[1] == 1).sum()) + 1
    assert load_imbalanced(largest_N(), 0, mnist_dir).splits.train.y.sum() == 1
    with pytest.raises(ValueError, match="N must be"):
        load_imbalanced(largest_N() + 1, 0, mnist_dir)
    test_labels = load_mnist(False, mnist_dir)[1]
    assert min(CLASS_COUNTS["test"]) == 892 >= MAX_EXAMPLES  # the figure's picks never need a repeat
    assert pick_per_class(test_labels, 892, generator(0, "examples")).shape == (10, 892)
    with pytest.raises(ValueError, match="fewer"):
        pick_per_class(test_labels, 893, generator(0, "examples"))


# ---- property tests: accepted by the checks => accepted by the builders ------------------------------------

def near(lo: int, hi: int) -> st.SearchStrategy:
    """Integers around and at the ends of lo..hi, plus some from inside."""
    return st.one_of(st.sampled_from([lo - 1, lo, lo + 1, hi - 1, hi, hi + 1]), st.integers(lo - 3, min(hi, lo + 64)))


def numbers() -> st.SearchStrategy:
    return st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-2, 2), st.sampled_from([1e-12, 1e6]))


SEEDS = st.one_of(near(0, MAX_SEED), st.just(99999999999999))
HIDDEN = near(1, 16_384)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CHOICE = st.sampled_from(["relu", "sigmoid", "tanh", "none", "gelu", None])


def accepted(check, params: dict) -> bool:
    """Whether the check accepts params."""
    try:
        check(params)
    except ValueError:
        return False
    return True


# What each rule allows, written out independently of mnist_hw.engine.rules: the property tests compare the checks'
# verdict with these, so a check that refused everything (or accepted anything) fails.
def whole(v, lo, hi=math.inf) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def positive(v, hi=math.inf, open_hi=False) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and 0 < v
            and (v < hi if open_hi else v <= hi))


def distinct(values, ok, empty=False) -> bool:
    return (empty or len(values) > 0) and len(set(values)) == len(values) and all(map(ok, values))


ACTIVATION_OK = lambda a: a in ("relu", "sigmoid", "tanh")
SEED_OK = lambda s: whole(s, 0, MAX_SEED)
HIDDEN_OK = lambda h: whole(h, 1, 16_384)


def meta_model(cls, *args):
    """Build a model without allocating or initialising its weights (only construction is under test)."""
    with torch.device("meta"):
        return cls(*args)


@SETTINGS
@given(batch_sizes=st.lists(near(1, 2**20), max_size=3), seeds=st.lists(SEEDS, max_size=3), hidden=HIDDEN,
       activation=CHOICE, optimizer=st.sampled_from(["sgd", "adam", "rmsprop"]), lr=numbers(), epochs=near(1, 3))
@example(batch_sizes=[1, 64], seeds=[0, MAX_SEED], hidden=16_384, activation="tanh", optimizer="sgd", lr=1e-12, epochs=1)
@example(batch_sizes=[1, 64], seeds=[0, MAX_SEED], hidden=16_384, activation="tanh", optimizer="sgd", lr=math.inf, epochs=1)
def test_q1_accepted_parameters_build(batch_sizes, seeds, hidden, activation, optimizer, lr, epochs):
    params = {**defaults("q1_binary_batch_size"), "batch_sizes": batch_sizes, "seeds": seeds, "hidden": hidden,
              "activation": activation, "optimizer": optimizer, "lr": lr, "epochs": epochs}
    valid = (distinct(batch_sizes, lambda b: whole(b, 1)) and distinct(seeds, SEED_OK) and HIDDEN_OK(hidden)
             and ACTIVATION_OK(activation) and optimizer in ("sgd", "adam") and positive(lr) and whole(epochs, 1))
    assert accepted(check_q1, params) == valid
    if valid:
        for b in batch_sizes:
            for s in seeds:
                TrainConfig(hidden=hidden, activation=activation, optimizer=optimizer, lr=lr, epochs=epochs,
                            batch_size=b, seed=s)
                generator(s, "split"), generator(s, "shuffle")
        meta_model(SimpleMLP, 784, hidden, 2, activation)


@SETTINGS
@given(optimizers=st.lists(st.sampled_from(["sgd", "adam", "x"]), max_size=3), lrs=st.lists(numbers(), max_size=3),
       hidden_sizes=st.lists(HIDDEN, max_size=3), activations=st.lists(CHOICE, max_size=3),
       extension_hidden=st.lists(HIDDEN, max_size=2), schedule=st.sampled_from(["constant", "cosine", "step"]),
       seed=SEEDS)
@example(optimizers=["adam", "sgd"], lrs=[1, 1], hidden_sizes=[1, 16_384], activations=["relu"], extension_hidden=[],
         schedule="cosine", seed=0)
def test_q2_accepted_parameters_build(optimizers, lrs, hidden_sizes, activations, extension_hidden, schedule, seed):
    params = {**defaults("q2_ten_digits_grid"), "optimizers": optimizers, "lrs": lrs, "hidden_sizes": hidden_sizes,
              "activations": activations, "extension_hidden": extension_hidden, "schedule": schedule, "seed": seed}
    valid = (distinct(optimizers, lambda o: o in ("sgd", "adam")) and len(lrs) > 0 and all(map(positive, lrs))
             and len(lrs) == len(optimizers) and distinct(hidden_sizes, HIDDEN_OK)
             and distinct(activations, ACTIVATION_OK) and distinct(extension_hidden, HIDDEN_OK, empty=True)
             and schedule in ("constant", "cosine") and SEED_OK(seed))
    assert accepted(check_q2, params) == valid
    if valid:
        for o, lr in zip(optimizers, lrs, strict=True):
            for h in hidden_sizes + extension_hidden:
                for a in activations:
                    TrainConfig(hidden=h, activation=a, optimizer=o, lr=lr, batch_size=params["batch_sizes"][0],
                                epochs=params["epochs"], seed=seed, schedule=schedule)
        for h in hidden_sizes:
            meta_model(SimpleMLP, 784, h, 10, activations[0])
        select_digits(torch.zeros(10, 1), torch.arange(10), range(10))


@pytest.fixture(scope="module")
def zeros_and_ones() -> tuple[Split, Split]:
    """Tiny stand-ins of the 0-vs-1 train and test sets with MNIST's exact class counts."""
    def split(counts):
        y = torch.repeat_interleave(torch.arange(2), torch.tensor(counts[:2]))
        return Split(torch.zeros(len(y), 1), y)
    return split(CLASS_COUNTS["train"]), split(CLASS_COUNTS["test"])


@SETTINGS
@given(N_list=st.lists(st.one_of(near(1, 6742), st.integers(1, 6800)), max_size=3),
       methods=st.lists(st.sampled_from([*METHODS, "svm"]), max_size=4), seeds=st.lists(SEEDS, max_size=2),
       ae_hidden=HIDDEN, ae_quantile=numbers(), workers=near(0, 64))
@example(N_list=[1, 6742], methods=["baseline"], seeds=[MAX_SEED], ae_hidden=1, ae_quantile=1, workers=64)
def test_q3_accepted_parameters_build(zeros_and_ones, N_list, methods, seeds, ae_hidden, ae_quantile, workers):
    params = {**defaults("q3_imbalance"), "N_list": N_list, "methods": methods, "seeds": seeds, "ae_hidden": ae_hidden,
              "ae_quantile": ae_quantile, "workers": workers}
    valid = (distinct(N_list, lambda N: whole(N, 1, 6742)) and distinct(methods, lambda m: m in METHODS)
             and distinct(seeds, SEED_OK) and HIDDEN_OK(ae_hidden) and positive(ae_quantile, hi=1)
             and whole(workers, 0, math.inf))
    assert accepted(check_q3, params) == valid
    if valid:
        for N in N_list:
            data = build(*zeros_and_ones, N, seeds[0])
            assert data.splits.train.y.sum() >= 1  # a "1" left to learn from
        torch.quantile(torch.rand(5), ae_quantile)
        meta_model(Autoencoder, ae_hidden, "relu")


@pytest.fixture(scope="module")
def pixels() -> torch.Tensor:
    return torch.rand(16, 784, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


@settings(max_examples=25, deadline=None)
@given(hidden=near(1, 784), output_activation=CHOICE, examples_per_digit=near(1, 20), seed=SEEDS, lr=numbers())
@example(hidden=784, output_activation="none", examples_per_digit=20, seed=0, lr=1e6)
@example(hidden=785, output_activation="none", examples_per_digit=20, seed=0, lr=1e6)
def test_q4_accepted_parameters_build(pixels, hidden, output_activation, examples_per_digit, seed, lr):
    params = {**defaults("q4_autoencoder"), "hidden": hidden, "output_activation": output_activation,
              "examples_per_digit": examples_per_digit, "seed": seed, "lr": lr}
    valid = (whole(hidden, 1, 784) and (ACTIVATION_OK(output_activation) or output_activation == "none")
             and whole(examples_per_digit, 1, 20) and SEED_OK(seed) and positive(lr))
    assert accepted(check_q4, params) == valid
    if valid:
        TrainConfig(hidden=hidden, activation=params["activation"], optimizer=params["optimizer"], lr=lr,
                    epochs=params["epochs"], batch_size=params["batch_size"], seed=seed)
        meta_model(Autoencoder, hidden, params["activation"], None if output_activation == "none" else output_activation)
        assert PCA(hidden).fit(pixels).components.shape == (hidden, 784)
        labels = torch.repeat_interleave(torch.arange(10), torch.tensor(CLASS_COUNTS["test"]))
        assert pick_per_class(labels, examples_per_digit, generator(seed, "examples")).shape == (10, examples_per_digit)


# ---- two headless runs: a refused parameter stops in the check cell; a diverging model is reported ---------

def test_q4_refused_parameter_stops_in_the_check_cell_before_any_data(run_notebook, tmp_path):
    empty = tmp_path / "empty"  # were the check passed, loading would fail here with a different error
    empty.mkdir()
    with pytest.raises(pm.PapermillExecutionError, match=r"hidden: 800 is not allowed; must be an integer in 1\.\.784"):
        run_notebook("q4_autoencoder.ipynb", hidden=800, data_root=str(empty))
    nb = nbformat.read(tmp_path / "run.ipynb", 4)
    failed = [c for c in nb.cells if c.cell_type == "code" and any(o.output_type == "error" for o in c.outputs)]
    assert len(failed) == 1 and "guard.check(globals(), q4.rules())" in failed[0].source
    assert list(empty.iterdir()) == [] and not (tmp_path / "run" / "results.csv").exists()


def test_q4_diverging_sgd_is_reported_not_crashed(run_notebook, tmp_path, notebook_text):
    run_notebook("q4_autoencoder.ipynb", optimizer="sgd", lr=1e4, output_activation="none", epochs=1,
            batch_size=1024)
    text = notebook_text(tmp_path / "run.ipynb")
    assert "The autoencoder diverged" in text and "No reconstructions to show" in text
