"""The four notebooks' parameter tables: papermill injects values without checking names, types or ranges; these do.

Each table (`Q1` .. `Q4`) holds one rule per parameter (see mnist_hw.validation) plus the checks that involve
several; `check_q1` .. `check_q4` apply them. A notebook's check cell, before any data is loaded or anything
trained (check_q2 / check_q3 / check_q4 alike)::

    from mnist_hw.checks import ParameterGuard, check_q1   # imports cell, then:
    guard = ParameterGuard(globals())                      # last line of the imports cell
    # ... the parameters cell (annotated declarations), papermill's injected cell ...
    params = guard.check(globals(), check_q1)              # the check cell: names, types, ranges, cross-checks
    dev = resolve_device(device)

`guard.check` raises NameError for a misspelled parameter (with a did-you-mean) and then runs the table, which
returns the parameters as a dict.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from .data import CLASS_COUNTS
from .imbalance import max_N
from .activations import ACTIVATIONS
from .remedies import METHODS
from .optim import OPTIMIZERS, SCHEDULES
from .training import DEVICES, resolve_device
from .validation import MAX_SEED, Choice, Each, Flag, Folder, Int, Number, ParameterGuard, Rules, Text

__all__ = ["MAX_EXAMPLES", "MAX_SEED", "ParameterGuard", "Q1", "Q2", "Q3", "Q4", "check_q1", "check_q2", "check_q3",
           "check_q4", "largest_N"]

MAX_EXAMPLES = 20  # below the smallest test class (892 images of digit 5), so picks never repeat
HIDDEN = Int(1, 16_384)  # wider layers gain nothing here and a lockstep stack of them may not fit in memory
SEED = Int(0, MAX_SEED)
LR = Number(0.0)
ACTIVATION = Choice(ACTIVATIONS)
OPTIMIZER = Choice(OPTIMIZERS)
COMMON = {"device": Choice(DEVICES), "data_root": Folder(), "run_dir": Text()}


def largest_N() -> int:
    """The largest Q3 N that leaves a "1" in the training split, from MNIST's official class counts."""
    return max_N(torch.ones(CLASS_COUNTS["train"][1]))  # max_N only counts the "1"s among the labels


def _device_present(params: Mapping[str, Any]) -> None:
    if "device" in params:
        resolve_device(params["device"])  # a device this machine lacks: RuntimeError naming the ones it has


def _paired(params: Mapping[str, Any]) -> None:
    optimizers, lrs = params["optimizers"], params["lrs"]
    if len(optimizers) != len(lrs):
        raise ValueError(f"lrs: {lrs!r} is not allowed; optimizers and lrs pair up by position, so lrs must hold "
                         f"one learning rate per optimizer ({len(optimizers)}: {optimizers})")


Q1 = Rules({"batch_sizes": Each(Int()), "seeds": Each(SEED), "hidden": HIDDEN, "activation": ACTIVATION,
            "optimizer": OPTIMIZER, "lr": LR, "epochs": Int(), **COMMON}, [_device_present])

Q2 = Rules({"batch_sizes": Each(Int()), "optimizers": Each(OPTIMIZER), "lrs": Each(LR, repeats=True),
            "hidden_sizes": Each(HIDDEN), "activations": Each(ACTIVATION), "epochs": Int(),
            "schedule": Choice(SCHEDULES), "seed": SEED, "extension_hidden": Each(HIDDEN, empty=True),
            "noise_top": Int(0), "noise_seeds": Each(SEED, empty=True),
            "lockstep": Flag(), "workers": Int(0), **COMMON}, [_paired, _device_present])

Q3 = Rules({"N_list": Each(Int(1, largest_N())), "methods": Each(Choice(METHODS)), "seeds": Each(SEED),
            "epochs": Int(), "hidden": HIDDEN, "lr": LR, "batch_size": Int(), "ae_hidden": HIDDEN,
            "ae_quantile": Number(0.0, 1.0), "aug_hidden": HIDDEN, "cpu_threads": Int(1, 1024), **COMMON},
           [_device_present])

Q4 = Rules({"hidden": Int(1, 784),  # the PCA baseline has k = hidden components, at most the 784 pixels
            "activation": ACTIVATION, "output_activation": Choice([*ACTIVATION.options, "none"]),
            "optimizer": OPTIMIZER, "lr": LR, "epochs": Int(), "batch_size": Int(), "seed": SEED,
            # pairs of 28x28 images in one figure: past 20 per digit it is no longer readable (and slow to draw)
            "examples_per_digit": Int(1, MAX_EXAMPLES), **COMMON}, [_device_present])


def check_q1(params: Mapping[str, Any]) -> dict[str, Any]:
    """Q1 (0 vs 1, batch sizes x seeds): raise on any bad parameter; return the parameters."""
    return Q1(params)


def check_q2(params: Mapping[str, Any]) -> dict[str, Any]:
    """Q2 (ten digits, grid): raise on any bad parameter; return the parameters."""
    return Q2(params)


def check_q3(params: Mapping[str, Any]) -> dict[str, Any]:
    """Q3 (imbalanced 0 vs 1, remedies): raise on any bad parameter; return the parameters."""
    return Q3(params)


def check_q4(params: Mapping[str, Any]) -> dict[str, Any]:
    """Q4 (autoencoder vs PCA): raise on any bad parameter; return the parameters."""
    return Q4(params)
