"""Publishing: the batch runner over papermill (`batch`), the committed record of a notebook (`record`), the
reference that `make run` replaces (`reference`), grading by rerunning (`grade`) and the hand-in report (`report`)."""
