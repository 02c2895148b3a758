"""mnist_hw.publish.lab, the server extension behind `make lab`: a save of a question notebook that only adds what
opening it in JupyterLab adds (the kernel's language_info, jupytext's filters) keeps the file as committed; any other
save, or any other notebook, is saved as Lab sends it. (tests/test_browser.py checks it through a real Lab and Chromium.)"""
import copy
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from mnist_hw.publish import lab
from mnist_hw.runs.folder import NOTEBOOKS

RECORD = NOTEBOOKS / "q4_autoencoder.ipynb"


def opened(nb: dict) -> dict:
    """`nb` as Lab sends it back after opening it on another Python, through jupytext."""
    nb = copy.deepcopy(nb)
    nb["metadata"]["language_info"]["version"] = "3.99.0"
    nb["metadata"]["jupytext"] = {"cell_metadata_filter": "tags,-all", "notebook_metadata_filter": "kernelspec,-all"}
    for cell in nb["cells"]:  # Lab sends each source as one string, the file holds lines
        cell["source"] = "".join(cell["source"])
    return nb


@pytest.fixture
def saving(tmp_path):
    """Save `content` under `name` in a scratch root holding a copy of the Q4 record; returns what would be written."""
    shutil.copy(RECORD, tmp_path / RECORD.name)

    def save(content: dict, name: str = RECORD.name) -> dict:
        model = {"type": "notebook", "content": content}
        lab.keep_the_record_when_only_opened(model, f"/{name}", SimpleNamespace(root_dir=str(tmp_path)))
        return model["content"]
    return save


def test_a_record_saved_as_it_opened_is_kept_as_committed(saving):
    record = json.loads(RECORD.read_text())
    assert saving(opened(record)) == record


def test_an_edited_record_is_saved_as_edited(saving):
    edited = opened(json.loads(RECORD.read_text()))
    edited["cells"][0]["source"] += "\nMy own note."
    assert saving(edited) is edited


def test_other_notebooks_and_new_files_are_saved_as_sent(saving, tmp_path):
    shutil.copy(RECORD, tmp_path / "my_copy.ipynb")
    sent = opened(json.loads(RECORD.read_text()))
    assert saving(sent, "my_copy.ipynb") is sent
    (tmp_path / RECORD.name).unlink()
    assert saving(sent) is sent


def test_a_file_read_half_written_is_read_again(saving, monkeypatch):
    """The server writes in place: a save that overlaps another can read the file half-written."""
    whole, reads = Path.read_text, []

    def half_then_whole(self, *args, **kwargs):
        reads.append(self)
        return whole(self, *args, **kwargs)[:100] if len(reads) == 1 else whole(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", half_then_whole)
    record = json.loads(whole(RECORD))
    assert saving(opened(record)) == record and len(reads) == 2
