"""Q3, class imbalance (all "0"s, 1/N of the "1"s): the notebook's parameter rules and its grader; the data,
remedies, scores, sweep and written answers in the modules beside this one (the notebook reaches them as
q3.data, q3.sweep, q3.scores, q3.answers)."""
from __future__ import annotations

from pathlib import Path

from ...engine.rules import HIDDEN, LR, POSITIVE, SEED, Choice, Each, Int, Number, Rules
from ...runs.guard import RUN, device_present
from ...runs.sweep import resolve_workers  # noqa: F401  (the notebook's: N values trained at once)
from ..grading import Check, coverage, finite, holds, near, parameters, read, tolerance
from .data import largest_N
from .remedies import METHODS

def rules() -> Rules:
    """Q3's parameter table: one rule per parameter of the notebook, then the cross-checks."""
    return Rules({"N_list": Each(Int(1, largest_N())), "methods": Each(Choice(METHODS)), "seeds": Each(SEED),
                  "epochs": POSITIVE, "hidden": HIDDEN, "lr": LR, "batch_size": POSITIVE, "ae_hidden": HIDDEN,
                  "ae_quantile": Number(0.0, 1.0), "aug_hidden": HIDDEN, "workers": Int(0), **RUN},
                 [device_present])


def grade(ref: Path, new: Path) -> list[Check]:
    """Q3: every method, N and seed once; F1 undefined exactly where a split holds no "1" (and defined on the full test
    set and at the training prior, which always hold some); the headline method's F1 at the reference's N."""
    q, key = "Q3", ["N", "seed", "method"]
    f1 = ["f1_val", "f1_test", "f1_full", "f1_prior"]
    n = read(new, "results.csv", key + ["weight", "val_ones", "test_ones"] + f1, ["N", "seed", "val_ones", "test_ones"] + f1,
             dtype={"weight": str})
    p = parameters(ref)
    want = {(N, s, m) for N in p["N_list"] for s in p["seeds"] for m in p["methods"]}
    undefined = [f"f1_{split}" for split in ("val", "test") if not ((n[f"{split}_ones"] == 0) == n[f"f1_{split}"].isna()).all()]
    undefined += [f"f1_{c}" for c in ("full", "prior") if not n[f"f1_{c}"].between(0, 1).all()]  # NaN fails too
    checks = [coverage(q, "every N x seed x method trained", n, want, key, key + ["weight"]),
              holds(q, "F1 is NaN exactly where the split holds no '1'", "NaN iff no positives; full and prior in [0, 1]",
                    "yes" if not undefined else f"no: {', '.join(undefined)}", not undefined, points=2)]
    columns = ["method", "metric", "N", "value"]
    head_ref = read(ref, "headline.csv").iloc[0]
    heads = read(new, "headline.csv", columns, ["N", "value"])
    if len(heads) != 1:
        raise ValueError(f"headline.csv has {len(heads)} rows, not one")
    head_new = heads.iloc[0]
    checks.append(holds(q, "headline method (the proposal; else the validation ranking's first)", str(head_ref.method), str(head_new.method),
                        head_ref.method == head_new.method))
    tol = tolerance(float(head_ref.get("seed_std", float("nan"))), int(head_ref.get("seeds", 1)), floor=0.02)
    same = head_new.N == head_ref.N and head_new.metric == head_ref.metric
    checks.append(near(q, f"headline: {head_ref.metric} at N={head_ref.N}", float(head_ref.value),
                       float(head_new.value) if same else None, tol,
                       missing=f"{head_new.metric} at N={head_new.N:g}, not at N={head_ref.N}"))
    return checks


from . import answers, scores, sweep  # noqa: E402  (imported last: they import this package's modules)
