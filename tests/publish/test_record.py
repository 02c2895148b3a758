"""The committed record: built from the jupytext source, cleaned of everything a rerun would change needlessly."""
import json

import nbformat

from mnist_hw.publish.record import clean, source
from mnist_hw.runs.folder import NOTEBOOKS


def test_source_is_the_py_pair_with_stable_ids(tmp_path):
    pair = tmp_path / "q9_demo.py"
    pair.write_text('# %% [markdown]\n# # Demo\n\n# %% tags=["parameters"]\nx: int = 1  # a parameter\n\n# %%\nprint(x)\n')
    (tmp_path / "q9_demo.ipynb").write_text(json.dumps(nbformat.v4.new_notebook()))  # an older record: not the source
    nb = source(tmp_path / "q9_demo.ipynb")
    assert [c.id for c in nb.cells] == ["q9-00", "q9-01", "q9-02"] and nb.cells[2].source == "print(x)"
    assert nb.cells[1].metadata.tags == ["parameters"] and nb.metadata.kernelspec.name == "python3"
    assert [c.id for c in source(NOTEBOOKS / "q1_binary_batch_size.ipynb").cells][:2] == ["q1-00", "q1-01"]


def test_clean_drops_timings_and_widget_ids_and_keeps_the_finished_bar():
    bar = {"output_type": "display_data", "metadata": {},
           "data": {"text/plain": "configurations: 100%|##########| 12/12 [00:06<00:00]",
                    "application/vnd.jupyter.widget-view+json": {"model_id": "72a66017", "version_major": 2}}}
    cell = nbformat.v4.new_code_cell("run()", outputs=[nbformat.from_dict(bar)])
    cell.metadata.update(papermill={"start_time": "2026-12-01T07:00:00", "duration": 1.5},
                         execution={"iopub.status.busy": "2026-12-01T07:00:00"}, tags=["keep"])
    untagged = nbformat.v4.new_markdown_cell("# title", metadata={"tags": []})
    nb = nbformat.v4.new_notebook(cells=[cell, untagged], metadata={"widgets": {"state": {}}, "jupytext": {"x": 1}, "papermill": {
        "start_time": "x", "end_time": "y", "duration": 2.0, "parameters": {}}})
    text = json.dumps(clean(nb))
    for gone in ("start_time", "end_time", "duration", "iopub", "model_id", "widgets", "jupytext", "tags\": []"):
        assert gone not in text
    assert nb.cells[0].outputs[0].data == {"text/plain": bar["data"]["text/plain"]} and nb.cells[0].metadata == {"tags": ["keep"]}
    assert nb.metadata.papermill == {"parameters": {}}
    nbformat.validate(nb)
