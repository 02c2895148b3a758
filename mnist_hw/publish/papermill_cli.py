"""papermill's command line as the runner starts it (`python -m mnist_hw.publish.papermill_cli`): papermill's own,
started through this package so that it skips the import this package leaves out (see its __init__)."""
from papermill.cli import papermill

if __name__ == "__main__":
    papermill()
