"""The hand-in report (mnist_hw.publish.report): built from the committed record it holds each question's headline number as
in results/, every figure of the notebooks inline, no code and no machine path, and it changes no tracked file."""
from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess

import filelock
import nbformat
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from mnist_hw.publish import report
from mnist_hw.publish.browser import find_browser, print_pdf
from mnist_hw.registry import QUESTIONS
from mnist_hw.publish.reference import RESULTS
from mnist_hw.runs.folder import NOTEBOOKS, REPO

MACHINE_PATH = re.compile(r"(?<![\w.])/(?:work|tmp|home|root|Users)/|file:/")
DATA_URI = re.compile(r"data:image/[a-z]+;base64,[A-Za-z0-9+/=\s]+")


def git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=REPO, capture_output=True,
                          text=True, check=True).stdout


@pytest.fixture(scope="session")
def built(tmp_path_factory, worker_id):
    """`python -m mnist_hw report -o OUT` on the committed record: its printed lines, the page, git status before
    and after. Built once per test session: pytest-xdist's workers share the session's folder under a lock."""
    session = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    out = session / "report"
    with filelock.FileLock(f"{out}.lock"):
        if not (out / "built.json").is_file():
            before, printed = git_status(), io.StringIO()
            with contextlib.redirect_stdout(printed):
                report.main(["-o", str(out)])
            (out / "built.json").write_text(json.dumps({"printed": printed.getvalue(), "before": before,
                                                        "after": git_status()}))
    return json.loads((out / "built.json").read_text()) | {
        "out": out, "html": (out / "report.html").read_text(encoding="utf-8")}


def text_of(html: str) -> str:
    return BeautifulSoup(html, "html.parser").get_text(" ")


def png_outputs() -> list[str]:
    """The base64 PNGs of the committed notebooks' outputs."""
    return [out.data["image/png"].strip() for path in sorted(NOTEBOOKS.glob("q*.ipynb"))
            for cell in nbformat.read(path, as_version=4).cells for out in cell.get("outputs", [])
            if "image/png" in out.get("data", {})]


def headlines() -> dict[str, list[str]]:
    """Each question's headline numbers, read from results/ and formatted as the notebooks print them."""
    q1 = pd.read_csv(RESULTS / "q1_binary_batch_size" / "results.csv")
    q1 = q1[~q1.diverged].groupby("batch_size")[["val_acc", "test_acc"]].mean()
    q2 = pd.read_csv(RESULTS / "q2_ten_digits_grid" / "results.csv")
    q2 = q2[~q2.diverged].loc[lambda t: t.val_acc.idxmax()]
    q3 = pd.read_csv(RESULTS / "q3_imbalance" / "headline.csv").iloc[0]
    q4 = pd.read_csv(RESULTS / "q4_autoencoder" / "results.csv", index_col="split")
    return {"q1": [f"{q1.test_acc[q1.val_acc.idxmax()]:.2f}", *(f"{a:.2f}" for a in q1.test_acc)],
            "q2": [f"{q2.val_acc:.2f}", f"{q2.test_acc:.2f}"],
            "q3": [f"{q3.value:.3f}"],
            "q4": [f"{q4.loc['test', 'autoencoder']:.5f}", f"{q4.loc['test', 'PCA-50']:.5f}"]}


def test_prints_the_paths_it_wrote(built):
    lines = built["printed"].splitlines()
    assert lines[0].endswith("report.html") and (built["out"] / "report.html").is_file()
    if find_browser():
        assert lines[1].endswith("report.pdf")
    else:
        assert lines[1].startswith("no PDF: no Chrome, Edge or Chromium found, so the HTML alone; for the PDF, install")


def test_every_table_cell_and_figure_prints_whole(built):
    if not find_browser():
        pytest.skip("needs a browser to lay the page out as printed")
    assert not [line for line in built["printed"].splitlines() if line.startswith("not printed whole")]


def test_layout_faults_seen(tmp_path):
    if not find_browser():
        pytest.skip("needs a browser to lay the page out as printed")
    page = tmp_path / "page.html"
    cells = "".join(f"<td>{'wide cell ' * 3}{i}</td>" for i in range(12))
    page.write_text(f"<html><body><table><tr>{cells}</tr></table><pre>{'x' * 400}</pre></body></html>")
    faults = print_pdf(find_browser(), page, tmp_path / "page.pdf")
    assert any(f.startswith("cell on two lines: wide cell") for f in faults) and any(f.startswith("pre past") for f in faults)


def test_headline_numbers_as_in_results(built):
    text = text_of(built["html"])
    missing = {q: [v for v in values if v not in text] for q, values in headlines().items()}
    assert not any(missing.values()), f"headline numbers not in the report: {missing}"


def test_questions_in_order_with_the_assignment_and_contents(built):
    soup = BeautifulSoup(built["html"], "html.parser")
    boxes = soup.select(".celltag_assignment")
    asked = QUESTIONS.values()
    assert [box.h1.get_text().rstrip("¶") for box in boxes] == [q.statement().splitlines()[0][2:] for q in asked]
    assert [[li.get_text() for li in box.find_all("li")] for box in boxes] == [
        [f"({chr(97 + i)}) {ask}" for i, ask in enumerate(q.asks)] for q in asked]
    toc = soup.select_one("nav.report-toc > ol")
    assert [a["href"] for a in toc.select(":scope > li > a")] == ["#q1", "#q2", "#q3", "#q4", "#reproducibility"]
    targets = [a["href"][1:] for a in toc.find_all("a")]
    assert len(targets) == len(set(targets)) > 4 and all(soup.find(id=t) for t in targets)


def test_every_figure_embedded(built):
    html = built["html"]
    pngs = png_outputs()
    assert len(pngs) >= 4
    sources = [img["src"] for img in BeautifulSoup(html, "html.parser").find_all("img")]
    assert len(sources) == len(pngs) and all(src.startswith("data:image/png;base64,") for src in sources)
    assert sorted(src.removeprefix("data:image/png;base64,") for src in sources) == sorted(pngs)
    assert not re.search(r'<(?:script|link)[^>]+(?:src|href)="', html), "the page must not load anything"


def test_no_code_no_progress_bar_no_machine_path(built):
    html = built["html"]
    soup = BeautifulSoup(html, "html.parser")
    assert soup.select("div.jp-CodeCell") and not soup.select("div.jp-CodeCell .jp-InputArea, .jp-CodeMirrorEditor")
    assert "import mnist_hw" not in html and "from mnist_hw" not in html
    assert not re.search(r"\d+%\|", text_of(html)), "a progress bar was left in"
    assert not MACHINE_PATH.search(DATA_URI.sub("", html))


def test_no_tracked_file_changes(built):
    assert built["after"] == built["before"]


def test_pdf_of_the_same_page(built):
    if not find_browser():
        pytest.skip("no Chrome, Edge or Chromium found (mnist_hw.publish.browser): the report is HTML only")
    pdf = (built["out"] / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) >= 4
    assert not (built["out"] / "report.pdf.part").exists()


# What belongs in the appendix only: a run folder, a commit or code hash, a command, a module path, the engine's
# internal words, a template's label.
MACHINERY_WORDS = re.compile(r"run folder|runs/q\d|\b[0-9a-f]{12,40}\b|papermill|python -m|mnist_hw\.|\blockstep\b|"
                             r"\bstreams?\b|models_in_step|\bworkers\b|Your answer")


def body_and_appendix(html: str):
    """The report's answers (code displays left out: code may name anything) and its appendix."""
    soup = BeautifulSoup(html, "html.parser")
    appendix = soup.select_one("section#reproducibility").extract()
    for shown_code in soup.select(".highlight, style, nav.report-toc"):
        shown_code.decompose()
    return soup, appendix


def test_machinery_in_the_appendix_only(built):
    body, appendix = body_and_appendix(built["html"])
    found = sorted({m.group(0) for m in MACHINERY_WORDS.finditer(body.get_text(" "))})
    assert not found, f"machinery in the answers: {found}"
    text = appendix.get_text(" ")
    assert all(word in text for word in ("git commit", "Machine", "Versions", "run finished", "Question 4"))
    assert "run folder" in text  # each question's provenance line, from its machinery cell


def test_asked_for_code_shown_by_default(built):
    """Q2's evaluation and Q3's F1 appear as code in the default report (its other code stays hidden)."""
    shown = " ".join(block.get_text() for block in BeautifulSoup(built["html"], "html.parser").select(".highlight"))
    assert all(f"def {name}(" in shown for name in ("train", "evaluate", "score_rows", "f1", "forward"))


def test_author_on_the_title_page(tmp_path, monkeypatch):
    sources = report.committed_sources()[:1]
    monkeypatch.delenv(report.AUTHOR_ENV, raising=False)
    monkeypatch.setattr(report, "AUTHOR_FILE", tmp_path / ".mnist_hw_author")
    assert report.author() is None and report.author("  Ada Lovelace ") == "Ada Lovelace"
    (tmp_path / ".mnist_hw_author").write_text("Grace Hopper\nanything else\n")
    assert report.author() == "Grace Hopper"
    monkeypatch.setenv(report.AUTHOR_ENV, "Alan Turing")
    assert report.author() == "Alan Turing" and report.author("Ada") == "Ada"
    head = BeautifulSoup(report.render(sources, name="Ada Lovelace"), "html.parser").select_one("header.report-head")
    assert head.select_one(".author").get_text() == "Ada Lovelace"
    assert not re.search(r"\b[0-9a-f]{7,40}\b", head.get_text())  # no hash on the title page
    assert ".mnist_hw_author" in (REPO / ".gitignore").read_text()


def test_pdf_pages_numbered(built):
    if not find_browser() or not shutil.which("pdftotext"):
        pytest.skip("needs a browser for the PDF and pdftotext (poppler) to read it")
    text = subprocess.run(["pdftotext", str(built["out"] / "report.pdf"), "-"], capture_output=True, text=True).stdout
    pages = text.split("\f")[:-1]
    assert len(pages) >= 4 and all(re.search(rf"\b{i} / {len(pages)}\b", page) for i, page in enumerate(pages, 1))


@pytest.mark.parametrize("code", ["folded", "shown"])
def test_code_kept_on_request(code):
    sources = report.committed_sources()[:1]
    soup = BeautifulSoup(report.render(sources, code), "html.parser")
    inputs = soup.select("div.jp-CodeCell .jp-InputArea")
    code_cells = [c for c in nbformat.read(sources[0].notebook, as_version=4).cells
                  if c.cell_type == "code" and report.MACHINERY not in c.metadata.get("tags", [])]
    assert len(inputs) == len(code_cells) and "from mnist_hw.notebook import" in soup.get_text()
    folded = soup.select("details.report-code .jp-InputArea")
    assert len(folded) == (len(code_cells) if code == "folded" else 0)


def run_folder(tmp_path, name="q4-run", **manifest):
    """A run folder as `run` leaves it: the committed Q4 notebook beside its manifest (with changes)."""
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy(NOTEBOOKS / "q4_autoencoder.ipynb", folder)
    meta = json.loads((RESULTS / "q4_autoencoder" / "manifest.json").read_text()) | manifest
    (folder / "manifest.json").write_text(json.dumps(meta))
    return folder


def test_run_folder_report_scrubs_its_path(tmp_path, capsys):
    folder = run_folder(tmp_path)
    nb = nbformat.read(folder / "q4_autoencoder.ipynb", as_version=4)
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", text=f"run folder {folder}\n"),
                           nbformat.v4.new_output("stream", name="stderr", text="epochs: 100%|██████████| 3/3\n")]
    nbformat.write(nb, folder / "q4_autoencoder.ipynb")
    assert [s.question for s in report.run_folder_sources([str(folder)])] == ["q4"]
    report.main([str(folder), "-o", str(tmp_path / "out"), "--no-pdf"])
    assert capsys.readouterr().out.splitlines()[1:] == ["no PDF: --no-pdf given"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.html"]
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    text = text_of(html)
    assert f"run folder {folder.name}" in text and "100%|" not in text and str(tmp_path) not in html
    assert f"{headlines()['q4'][0]}" in text


@pytest.mark.parametrize("case, message", [
    ("missing", "is not a folder"),
    ("empty", "must hold one executed notebook"),
    ("unfinished", "holds an unfinished run"),
    ("twice", "two run folders for q4"),
    ("unknown", "manifest names notebook 'q9'"),
])
def test_bad_run_folders_refused(tmp_path, case, message):
    folders = {"missing": lambda: [tmp_path / "nowhere"], "empty": lambda: [tmp_path],
               "unfinished": lambda: [run_folder(tmp_path, finished=None)],
               "twice": lambda: [run_folder(tmp_path, "a"), run_folder(tmp_path, "b")],
               "unknown": lambda: [run_folder(tmp_path, notebook="q9")]}[case]()
    with pytest.raises(SystemExit, match=message):
        report.run_folder_sources([str(f) for f in folders])


def test_progress_outputs_recognised():
    new = nbformat.v4.new_output
    assert report.is_progress(new("display_data", {report.WIDGET: {"model_id": "x"}, "text/plain": "N: 100%"}))
    assert report.is_progress(new("stream", name="stderr", text="configurations: 100%|██████████| 48/48 [00:01]"))
    assert report.is_progress(new("display_data", {"text/plain": "configurations: 100%|##########| 12/12 [00:06<00:00]"}))  # as the record keeps it
    assert not report.is_progress(new("execute_result", {"text/plain": "share 53%|", "text/html": "<table/>"}, execution_count=1))
    assert not report.is_progress(new("stream", text="Best by validation accuracy: 97.83 %"))
    assert not report.is_progress(new("stream", name="stderr", text="UserWarning: something"))
