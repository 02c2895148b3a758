"""Publishing: the batch runner over papermill (`batch`), the committed record of a notebook (`record`), the
reference that `make run` replaces (`reference`), grading by rerunning (`grade`) and the hand-in report (`report`)."""
import sys

# jsonschema (under nbformat) imports rfc3987_syntax whenever it is installed (JupyterLab's jupyter-events needs it),
# and that import builds a grammar: 1.5 s of every runner and papermill process here (docs/benchmark.md). Nothing
# here checks the 'iri' formats it serves, so jsonschema is told it is absent (an ImportError, which it expects).
sys.modules.setdefault("rfc3987_syntax", None)
