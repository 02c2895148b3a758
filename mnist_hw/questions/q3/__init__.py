"""Q3, class imbalance (all "0"s, 1/N of the "1"s): the notebook's parameter rules and its grader; the data,
remedies, scores, sweep and written answers in the modules beside this one (the notebook reaches them as
q3.data, q3.sweep, q3.scores, q3.answers)."""
from __future__ import annotations

from pathlib import Path

from ...engine.rules import HIDDEN, LR, POSITIVE, SEED, Choice, Each, Int, Number, Rules
from ...runs.guard import RUN, device_present
from ..grading import Check, holds, near, parameters, read, tolerance
from .data import largest_N
from .remedies import METHODS

def rules() -> Rules:
    """Q3's parameter table: one rule per parameter of the notebook, then the cross-checks."""
    return Rules({"N_list": Each(Int(1, largest_N())), "methods": Each(Choice(METHODS)), "seeds": Each(SEED),
                  "epochs": POSITIVE, "hidden": HIDDEN, "lr": LR, "batch_size": POSITIVE, "ae_hidden": HIDDEN,
                  "ae_quantile": Number(0.0, 1.0), "aug_hidden": HIDDEN, "cpu_threads": Int(1, 1024), **RUN},
                 [device_present])


def grade(ref: Path, new: Path) -> list[Check]:
    """Q3: F1 undefined exactly where a split holds no "1"; every method, N and seed; the headline method's F1."""
    q = "Q3"
    n = read(new, "results.csv", dtype={"weight": str})
    p = parameters(ref)
    want = {(N, s, m) for N in p["N_list"] for s in p["seeds"] for m in p["methods"]}
    got = set(zip(n.N, n.seed, n.method))
    undefined_ok = all(((n[f"{split}_ones"] == 0) == n[f"f1_{col}"].isna()).all()
                       for split, col in (("val", "val"), ("test", "test")))
    checks = [holds(q, "every N x seed x method trained", f"{len(want)} combinations", f"{len(want & got)} present",
                    want <= got),
              holds(q, "F1 is NaN exactly where the split holds no '1'", "NaN iff no positives",
                    "yes" if undefined_ok else "no", undefined_ok, points=2)]
    head_ref, head_new = read(ref, "headline.csv").iloc[0], read(new, "headline.csv").iloc[0]
    checks.append(holds(q, "headline method (the proposal; else the validation ranking's first)", str(head_ref.method), str(head_new.method),
                        head_ref.method == head_new.method))
    tol = tolerance(float(head_ref.get("seed_std", float("nan"))), int(head_ref.get("seeds", 1)), floor=0.02)
    checks.append(near(q, f"headline: {head_ref.metric} at N={head_ref.N}", float(head_ref.value), float(head_new.value), tol))
    return checks


from . import answers, scores, sweep  # noqa: E402  (imported last: they import this package's modules)
