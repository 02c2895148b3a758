"""Progress bars whose saved notebook output shows where they ended: live in JupyterLab, finished in the record.

A kernel started by the batch runner (`python -m mnist_hw run`, `grade`) also reports its progress to the runner,
since the runner cannot see the kernel's widgets: when $MNIST_HW_PROGRESS names a file (the runner sets it to
progress.json in the run folder), every bar update and every phase of the run (Run.phase) rewrites that small JSON
file whole (`report`), and the runner tails it (`read_progress`).
"""
from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm
from tqdm.notebook import tqdm as notebook_tqdm
from tqdm.std import tqdm as text_tqdm

PROGRESS_ENV = "MNIST_HW_PROGRESS"
_STATE: dict[str, Any] = {}  # what this process reported so far (one run per kernel)


def report(**fields: Any) -> None:
    """Merge `fields` into this process's progress and write it to $MNIST_HW_PROGRESS, if set: written beside and
    renamed over, so the runner reads the old state or the new. Progress is advice: a failed write is skipped."""
    target = os.environ.get(PROGRESS_ENV)
    if not target:
        return
    _STATE.update(fields, updated=time.time())
    path = Path(target)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(_STATE))
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)


def read_progress(path: Path) -> dict[str, Any]:
    """The last progress a kernel reported in `path`, or {} when it has reported none (or the file is unreadable)."""
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


class _Reported:
    """A tqdm bar whose updates are also reported (see `report`); everything else is the bar's."""

    def __init__(self, bar: tqdm, resumed: int):
        self._bar, self._done = bar, resumed

    def update(self, n: int = 1) -> None:
        self._bar.update(n)
        self._done += n  # counted here: a disabled bar counts nothing
        report(done=self._done)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bar, name)


@contextmanager
def progress_bar(total: int, desc: str, enabled: bool = True, resumed: int = 0) -> Iterator[tqdm]:
    """A tqdm.auto bar over `total` steps (`resumed` more were finished before, resumed or reused: said in its
    label, or in one line when nothing is left). A notebook widget is displayed with a display id and re-displayed
    when it closes, so the record keeps its end state instead of the 0 % text it had when first shown. Each update
    is also reported to the batch runner (done and total count the resumed steps too)."""
    report(desc=desc, done=resumed, total=total + resumed, bar_started=time.time(), resumed=resumed)
    if enabled and resumed:
        desc = f"{desc} ({resumed} done earlier)"
        if total == 0:
            print(f"{desc}: every one finished before (resumed from the run folder or reused), none left to train")
    if not enabled or total == 0:
        with tqdm(total=total, disable=True) as bar:
            yield _Reported(bar, resumed)
        return
    if not issubclass(tqdm, notebook_tqdm):  # a terminal: tqdm's own bar
        with tqdm(total=total, desc=desc) as bar:
            yield _Reported(bar, resumed)
        return
    if not widgets_render():  # a kernel whose widgets JupyterLab cannot show: the text bar, on stdout
        with text_tqdm(total=total, desc=desc, file=sys.stdout) as bar:
            yield _Reported(bar, resumed)
        return
    from IPython.display import display

    bar = tqdm(total=total, desc=desc, display=False)
    handle = display(widget_bundle(bar.container), raw=True, display_id=True)
    try:
        yield _Reported(bar, resumed)
    finally:
        bar.close()
        handle.update(widget_bundle(bar.container), raw=True)


def widgets_render() -> bool:
    """Whether a widget bar can be shown: ipywidgets 8 (JupyterLab 4's widget extension renders only its
    widgets: ipywidgets 7's fail there with a script error), or Google Colab, whose own frontend shows ipywidgets 7."""
    import ipywidgets

    return int(ipywidgets.__version__.split(".")[0]) >= 8 or "google.colab" in sys.modules


def widget_bundle(widget: Any) -> dict[str, Any]:
    """The output that shows a widget: its view and, for a saved notebook, its text (a tqdm bar's text bar). Built
    here because ipywidgets 7 (Google Colab's) displays itself through _ipython_display_, which ignores a display
    id, so the end state would be a second output rather than the first one replaced; ipywidgets 8 builds the same."""
    return {"text/plain": repr(widget),
            "application/vnd.jupyter.widget-view+json": {"version_major": 2, "version_minor": 0,
                                                         "model_id": widget.model_id}}
