"""Execute the assignment's notebooks in order with papermill and print a one-screen summary.

usage: python -m mnist_hw.run_all [--fresh] [NOTEBOOK ...]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
import papermill as pm

from .plots import figures_dir
from .remedies import stability

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
ORDER = ["q1_binary_batch_size.ipynb", "q2_ten_digits_grid.ipynb", "q3_imbalance.ipynb", "q4_autoencoder.ipynb"]


def headline_q1(out: Path) -> str:
    """Mean test accuracy per batch size."""
    r = pd.read_csv(out / "q1_results.csv").groupby("batch_size")["test_acc"].mean()
    return "test acc " + ", ".join(f"b{b}: {a:.2f}%" for b, a in r.items())


def headline_q2(out: Path) -> str:
    """The best grid configuration by validation accuracy, and its test accuracy."""
    g = pd.read_csv(out / "q2_grid.csv")
    b = g.loc[g.val_acc.idxmax()]
    return f"best: {b.optimizer} lr {b.lr:g}, batch {b.batch_size}, {b.hidden} {b.activation} -> test {b.test_acc:.2f}%"


def headline_q3(out: Path) -> str:
    """The most stable method (best worst-case mean full-test F1 over N) and its mean full-test F1 at the largest N."""
    results = pd.read_csv(out / "q3_results.csv", dtype={"weight": str})
    rank = stability(results)
    return f"best stable: {rank.index[0]}, full-test F1 {rank.at_largest_N.iloc[0]:.3f} at N={results.N.max()}"


def headline_q4(out: Path) -> str:
    """Test MSE of the autoencoder against the PCA baseline of the same size."""
    r = pd.read_csv(out / "q4_mse.csv", index_col="split")
    pca = r.columns[1]
    return f"test MSE {r.autoencoder['test']:.4f} vs {pca} {r[pca]['test']:.4f} ([0, 1] pixels)"


HEADLINES = {"q1_binary_batch_size.ipynb": headline_q1, "q2_ten_digits_grid.ipynb": headline_q2,
             "q3_imbalance.ipynb": headline_q3, "q4_autoencoder.ipynb": headline_q4}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", default=ORDER, help="notebooks to run (default: all, in order)")
    parser.add_argument("--fresh", action="store_true", help="start every sweep over instead of resuming finished rows")
    args = parser.parse_args(argv)
    out, rows = figures_dir(), []
    for name in args.notebooks:
        path = NOTEBOOKS / name
        start = time.perf_counter()
        try:
            # always set resume where a notebook has it, so an injected cell from an earlier run is replaced
            parameters = {"resume": not args.fresh} if "resume" in pm.inspect_notebook(path) else {}
            pm.execute_notebook(path, path, parameters=parameters, cwd=str(NOTEBOOKS),
                                kernel_name="python3")
        except pm.PapermillExecutionError as err:
            print(f"\n{name} failed in cell {err.exec_count}: {err.ename}: {err.evalue}\n"
                  f"(the executed notebook with the traceback is {path})", file=sys.stderr)
            return 1
        rows.append((name, time.perf_counter() - start, HEADLINES[name](out)))
    print(f"\n{'notebook':<32}{'wall':>8}  headline")
    for name, seconds, headline in rows:
        print(f"{name:<32}{seconds:>7.1f}s  {headline}")
    print(f"{'total':<32}{sum(r[1] for r in rows):>7.1f}s  (figures and CSVs in {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
