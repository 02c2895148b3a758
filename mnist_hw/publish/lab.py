"""A Jupyter server extension that `python -m mnist_hw lab` (make lab) turns on, in any environment holding the
package (a plain `jupyter lab` takes it as the option ENABLE). JupyterLab writes its kernel's language_info into each
notebook it opens and autosaves it, and jupytext adds its filters on any save, so a record made on Python 3.11 would
be rewritten by merely opening it on 3.13, or by a Ctrl+S on any Python. A save of a question notebook that changes
nothing else keeps the file as it was; any other change saves as usual."""
import json
import time
from pathlib import Path

import nbformat

from ..registry import QUESTIONS

RECORDS = {f"{q.notebook}.ipynb" for q in QUESTIONS.values()}
OPENING = ("language_info", "jupytext")  # what Lab and jupytext write into a notebook that was only opened
# The option of `jupyter lab` that turns the extension on beside those the configuration enables.
ENABLE = f'--ServerApp.jpserver_extensions={{"{__name__}": True}}'


def _jupyter_server_extension_points():
    return [{"module": __name__}]


def _load_jupyter_server_extension(server_app):
    server_app.contents_manager.register_pre_save_hook(keep_the_record_when_only_opened)


def as_written(nb: dict) -> str:
    """The text that saving `nb` writes, without the metadata that opening it adds."""
    nb = nbformat.reads(json.dumps(nb), as_version=4)  # a copy, its sources and outputs as one string each
    for key in OPENING:
        nb.metadata.pop(key, None)
    return nbformat.writes(nb)


def keep_the_record_when_only_opened(model, path, contents_manager, **kwargs):
    """Pre-save hook: a question notebook whose save would change only OPENING metadata is saved as the file was."""
    if model.get("type") != "notebook" or path.rsplit("/", 1)[-1] not in RECORDS:
        return
    on_disk = read_notebook(Path(contents_manager.root_dir, path.strip("/")))
    if on_disk is not None and as_written(model["content"]) == as_written(on_disk):
        model["content"] = on_disk


def read_notebook(file: Path, tries: int = 20) -> dict | None:
    """The notebook in `file`, None if there is none. Jupyter's server writes a file in place (its backup aside), so
    a save that overlaps another (autosave and Trust at once) can read it half-written: then it reads again."""
    for _ in range(tries):
        try:
            return json.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:  # a new notebook: nothing to keep
            return None
        except (OSError, ValueError):
            time.sleep(0.05)
    return None
