"""The command line: `python -m mnist_hw` (or `mnist-hw`) with the subcommands run, grade, report, bench and lab.

Every subcommand's --help says what it does and shows examples. A usage error (an unknown subcommand, option,
notebook or parameter, a file that does not parse, a missing folder) prints the usage and what was wrong, and
exits with status 2 before anything runs. The heavy modules (papermill, torch) are imported by the subcommand that
needs them, so --help answers at once.
"""
from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
from pathlib import Path

from .registry import QUESTIONS, question

PURPOSE = {
    "run": "Execute notebooks with papermill, each into its own run folder, with live progress; print each run's "
           "folder and headline.",
    "grade": "Rerun the notebooks fresh in a scratch folder (or take existing run folders) and grade them against "
             "the committed results/.",
    "report": "Build the hand-in: one self-contained HTML page of the four executed notebooks (and a PDF where "
              "Chromium is installed).",
    "bench": "Time mnist_hw against the DataLoader pipeline and the in-memory loop, side by side (benchmarks/bench.py).",
    "lab": "Start JupyterLab on notebooks/ (arguments after lab go to jupyter lab).",
}
EXAMPLES = {
    "run": """\
  %(prog)s q4                        # q4, q4_autoencoder or notebooks/q4_autoencoder.ipynb
  %(prog)s q1 -p epochs 3 -y '{batch_sizes: [16, 64]}'
  %(prog)s q3 -f my_parameters.yaml  # parameters from a YAML file, as papermill's -f
  %(prog)s --batch examples/batch.yaml --jobs 2
  %(prog)s --reference               # regenerate the committed record (make run)""",
    "grade": """\
  %(prog)s                           # rerun all four fresh and grade them (make grade)
  %(prog)s --questions q1 q3         # rerun and grade Q1 and Q3 only
  %(prog)s --rerun runs/             # grade the newest finished run of each question in runs/
  %(prog)s --rerun results/ --scratch /tmp/g""",
    "lab": """\
  %(prog)s                           # JupyterLab on notebooks/ (make lab)
  %(prog)s --no-browser --port 8890  # options for jupyter lab""",
}
PASSED_ON = ("report", "bench", "lab")  # their other arguments go to what they start (report and bench: their own --help)


def program() -> str:
    """The program's name as the user typed it: mnist-hw (the console script) or python -m mnist_hw."""
    return "mnist-hw" if Path(sys.argv[0]).stem == "mnist-hw" else "python -m mnist_hw"


def build() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The parser and each subcommand's parser."""
    parser = argparse.ArgumentParser(
        prog=program(), description="One-hidden-layer MLPs on MNIST: the four notebooks of the assignment, run, "
        "graded and reported.", formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  %(prog)s run q2 -p epochs 3\n  %(prog)s grade\n  %(prog)s run --help")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    commands = {name: sub.add_parser(name, help=PURPOSE[name], description=PURPOSE[name],
                                     epilog="examples:\n" + EXAMPLES.get(name, ""), add_help=name in EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter) for name in PURPOSE}
    run = commands["run"]
    run.add_argument("notebooks", nargs="*", metavar="NOTEBOOK",
                     help=f"{', '.join(QUESTIONS)} or a notebook's name or path (default: all four)")
    run.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                     help="set a parameter (papermill's syntax; applied after -f and -y)")
    run.add_argument("-y", "--yaml", action="append", default=[], metavar="YAML",
                     help="set parameters from a YAML mapping (applied after -f)")
    run.add_argument("-f", "--parameters-file", action="append", default=[], metavar="FILE",
                     help="set parameters from a YAML file (as papermill's -f)")
    run.add_argument("--batch", type=Path, metavar="FILE", help="a YAML/JSON list of parameter sets: one run each")
    run.add_argument("--jobs", type=int, metavar="K", help="runs executed at once, the cores shared out (default: one "
                     "at a time on every core, the next started while the one before draws; a batch one at a time)")
    run.add_argument("--fresh", action="store_true", help="delete each run's folder first (no resumed rows)")
    run.add_argument("--reference", action="store_true", help="regenerate the committed record with the default "
                     "parameters: once all have run, replace notebooks/*.ipynb, results/ and figures/")
    grade = commands["grade"]
    grade.add_argument("--questions", nargs="+", metavar="Q", help="grade only these questions (default: all four)")
    grade.add_argument("--rerun", type=Path, metavar="DIR", help="grade run folders already written instead of "
                       "rerunning: DIR holds run folders (q1-<key>/ ..., matched by their manifest) or <notebook>/ folders")
    grade.add_argument("--reference", type=Path, metavar="DIR", help="the committed results (default: results/)")
    grade.add_argument("--scratch", type=Path, metavar="DIR",
                       help="where the reruns and the report go (default: a new temporary folder)")
    return parser, commands


def main(argv: list[str] | None = None) -> int:
    parser, commands = build()
    args, extra = parser.parse_known_args(argv)
    if args.command is None:
        parser.error(f"choose a command: {', '.join(commands)}")
    command = commands[args.command]
    if extra and args.command not in PASSED_ON:
        command.error(f"unrecognized arguments: {' '.join(extra)}")
    prog = f"{parser.prog} {args.command}"
    try:
        if args.command == "run":
            return _run(args, command)
        if args.command == "grade":
            from .publish import grade

            return grade.run(args)
        if args.command == "report":
            from .publish import report

            return report.main(extra, prog=prog) or 0
        if args.command == "bench":
            return _bench(extra, prog, command)
        return _lab(extra)
    except KeyboardInterrupt:  # before any notebook started (a running one is stopped by the runner itself)
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        from .publish.jobs import Refused  # imported by then, if it was raised

        if not isinstance(err, Refused):
            raise
        if err.status == 2:
            command.error(str(err))  # found before anything ran
        print(f"{prog}: error: {err}", file=sys.stderr)  # well formed, but it cannot run here
        return err.status


def _run(args: argparse.Namespace, command: argparse.ArgumentParser) -> int:
    if args.jobs is not None and args.jobs < 1:
        command.error(f"--jobs must be a positive integer, got {args.jobs}")
    for name in args.notebooks:
        try:
            question(name)
        except ValueError as err:
            command.error(str(err))
    asked = f"the parameter sets of {args.batch}" if args.batch else \
        ", ".join(question(n).notebook for n in args.notebooks) or "all four notebooks"
    print(f"run: {asked}; checking their parameters", flush=True)  # the imports below take seconds
    from .publish import batch

    return batch.run(args)


def _bench(extra: list[str], prog: str, command: argparse.ArgumentParser) -> int:
    from .runs.files import REPO

    path = REPO / "benchmarks" / "bench.py"
    if not path.exists():
        command.error(f"{path} not found: the benchmark ships with the repository, not the package; run it in a clone")
    spec = importlib.util.spec_from_file_location("mnist_hw_bench", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench.main(extra, prog=prog) or 0


def _lab(extra: list[str]) -> int:
    from .publish.lab import ENABLE
    from .runs.files import REPO

    try:
        return subprocess.call([sys.executable, "-m", "jupyterlab", ENABLE, str(REPO / "notebooks"), *extra])
    except KeyboardInterrupt:  # JupyterLab got the Ctrl-C too and shuts itself down
        return 130


if __name__ == "__main__":
    sys.exit(main())
