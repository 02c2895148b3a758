import nbformat

from mnist_hw import run_all


def test_a_failing_notebook_stops_the_run_with_its_location(tmp_path, monkeypatch, capsys):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("1 / 0")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "bad.ipynb")
    monkeypatch.setattr(run_all, "NOTEBOOKS", tmp_path)
    assert run_all.main(["bad.ipynb"]) == 1
    assert "bad.ipynb failed in cell 2: ZeroDivisionError" in capsys.readouterr().err
    outputs = [o for c in nbformat.read(tmp_path / "bad.ipynb", 4).cells for o in c.get("outputs", [])]
    assert any(o.get("ename") == "ZeroDivisionError" for o in outputs)  # the traceback stays in the notebook
