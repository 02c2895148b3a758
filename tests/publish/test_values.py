"""Values keep their types from the command line to the notebook: -p reads a value as papermill's -p does, -y, -f and
batch files as papermill's YAML reader does (and 1e-5 as a number), and the runner hands them on so that papermill
reads back the very same values."""
import json
import math

import nbformat
import papermill.cli
import pytest
import yaml
from papermill.iorw import NoDatesSafeLoader

from mnist_hw.publish import batch as runner
from mnist_hw.publish import jobs

from .test_batch import run, tiny_notebook

SPELLINGS = ["1e-5", "5e-05", ".001", "1E-3", "1.5e+3", "inf", "-inf", "nan", "123456789012345678901234567890", "7",
             "0.1", "relu", "True", "None"]


def same(a, b):
    return type(a) is type(b) and (a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b)))


@pytest.mark.parametrize("text", SPELLINGS)
def test_a_p_value_is_what_papermill_reads(text):
    assert same(jobs.parse_value(text), papermill.cli._resolve_type(text))


@pytest.mark.parametrize("text,value", [("1e-5", 1e-5), ("5e-05", 5e-05), (".001", 0.001), ("1E-3", 1e-3),
                                        ("1.5e+3", 1500.0), (".inf", math.inf), ("-.inf", -math.inf), (".nan", math.nan),
                                        ("123456789012345678901234567890", 123456789012345678901234567890),
                                        ("'1e-5'", "1e-5"), ("2024-01-02", "2024-01-02"), ("relu", "relu")])
def test_y_f_and_batch_values_are_numbers_where_they_read_as_numbers(tmp_path, text, value):
    (tmp_path / "p.yaml").write_text(f"lr: {text}\n")
    (tmp_path / "b.yaml").write_text(f"- {{notebook: q4, lr: {text}}}\n")
    for got in (jobs.overrides([], [f"{{lr: {text}}}"], [])["lr"], jobs.overrides([str(tmp_path / "p.yaml")], [], [])["lr"],
                jobs.load_batch(tmp_path / "b.yaml", [])[0].overrides["lr"]):
        assert same(got, value), (text, got)


@pytest.mark.parametrize("value", [1e-5, 5e-05, 0.001, math.inf, -math.inf, math.nan, 2 ** 100, 3, "1e-05", "inf", "",
                                   True, None, [16, 64], {"a": [1e-5]}, "é"])
def test_the_runner_hands_papermill_the_same_values(value):
    flag, text = runner.papermill_parameters({"x": value})
    back = yaml.load(text, Loader=NoDatesSafeLoader)["x"]  # what papermill's -y reads
    assert flag == "-y" and (same(back, value) or back == value), (value, text, back)


def test_a_notebook_receives_the_values_as_plain_papermill_injects_them(tmp_path, monkeypatch):
    tiny_notebook(monkeypatch, tmp_path, "q9_values",
                  "device: str = 'cpu'\nrun_dir: str = ''\nlr = 0.1\nbig = 1\ncap = 1.0\nsizes = [1]",
                  "print({k: type(v).__name__ for k, v in dict(lr=lr, big=big, cap=cap).items()},\n"
                  "      repr(lr), repr(big), repr(cap), repr(sizes))")
    run("q9", "-p", "lr", "1e-5", "-p", "big", "123456789012345678901234567890", "-p", "cap", "inf",
        "-y", "{sizes: [5e-05, .001, 1E-3]}")  # status 1: the notebook writes no manifest; its output is what counts
    executed = next((tmp_path / "runs").glob("q9-*/q9_values.ipynb"))
    printed = nbformat.read(executed, 4).cells[-1].outputs[0]["text"]
    assert printed.strip() == ("{'lr': 'float', 'big': 'int', 'cap': 'float'} 1e-05 123456789012345678901234567890 "
                               "inf [5e-05, 0.001, 0.001]"), printed
