"""Progress bars whose saved notebook output shows where they ended: live in JupyterLab, finished in the record."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tqdm.auto import tqdm
from tqdm.notebook import tqdm as notebook_tqdm


@contextmanager
def progress_bar(total: int, desc: str, enabled: bool = True, resumed: int = 0) -> Iterator[tqdm]:
    """A tqdm.auto bar over `total` steps (`resumed` more were finished before, resumed or reused: said in its
    label, or in one line when nothing is left). A notebook widget is displayed with a display id and re-displayed
    when it closes, so the record keeps its end state instead of the 0 % text it had when first shown."""
    if enabled and resumed:
        desc = f"{desc} ({resumed} done earlier)"
        if total == 0:
            print(f"{desc}: every one finished before (resumed from the run folder or reused), none left to train")
    if not enabled or total == 0:
        with tqdm(total=total, disable=True) as bar:
            yield bar
        return
    if not issubclass(tqdm, notebook_tqdm):  # a terminal: tqdm's own bar
        with tqdm(total=total, desc=desc) as bar:
            yield bar
        return
    from IPython.display import display

    bar = tqdm(total=total, desc=desc, display=False)
    handle = display(bar.container, display_id=True)
    try:
        yield bar
    finally:
        bar.close()
        handle.update(bar.container)
