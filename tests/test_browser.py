"""JupyterLab in a real browser (the system's Chromium driven by Playwright): the committed records as a student
opens them (and left unchanged by opening them), and Run All, editing a parameter and rerunning from it on a tiny
Q1, all through the page."""
import base64
import contextlib
import copy
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from mnist_hw.engine.data import has_mnist, mnist_root
from mnist_hw.runs.folder import NOTEBOOKS

from tests.lab import LabServer
from mnist_hw.publish.browser import GET_ONE, find_browser
from mnist_hw.registry import QUESTIONS

BROWSER = find_browser()  # the report's lookup: $MNIST_HW_CHROMIUM, PATH, install locations, Playwright's own
pytestmark = pytest.mark.skipif(BROWSER is None, reason=f"no Chrome, Edge or Chromium found: {GET_ONE} "
                                "(on Debian: apt-get install chromium)")

REPO = Path(__file__).resolve().parents[1]
COMMITTED = sorted(NOTEBOOKS.glob("q*.ipynb"))
WIDGET = "application/vnd.jupyter.widget-view+json"
STDERR = "application/vnd.jupyter.stderr"  # how JupyterLab renders stderr streams and error tracebacks
BAR_COUNT = re.compile(r"(\d+)/(\d+)\s*\[")  # tqdm's "n/total [elapsed<remaining, rate]"
BAR_PERCENT = re.compile(r"(\d+)%\|")  # tqdm's text bar "42%|████  |"
TIMEOUT_MS = 120_000
# The tests' tiny Q1, lighter still: the browser checks the Lab loop, not the numbers (one seed, large batches).
BROWSER_Q1 = {**QUESTIONS["q1"].tiny, "batch_sizes": [256, 1024], "seeds": [0]}


def unfinished_bars(text: str) -> list[str]:
    """The progress-bar readings in `text` that stop short of their end (`3/12 [`, `25%|`)."""
    short = [m.group(0) for m in BAR_COUNT.finditer(text) if int(m.group(1)) < int(m.group(2))]
    return short + [m.group(0) for m in BAR_PERCENT.finditer(text) if int(m.group(1)) < 100]


# Read by the page, per cell: its execution count (None: not code, 0: not run) and whether it is queued or running,
# each output's mime type and text, each widget bar's width, and each figure's width once decoded (-1: loading).
READ_CELLS = """panel => [...panel.querySelectorAll('.jp-Notebook .jp-Cell')].map(cell => {
    const prompt = cell.classList.contains('jp-CodeCell') ? cell.querySelector('.jp-InputPrompt').innerText : null;
    return {count: prompt === null ? null : +(prompt.match(/\\[(\\d+)\\]/) || [0, 0])[1],
            busy: prompt !== null && prompt.includes('*'),
            outputs: [...cell.querySelectorAll('.jp-OutputArea-output')].map(
                o => ({mime: o.dataset.mimeType || '', text: o.innerText})),
            bars: [...cell.querySelectorAll('.widget-hprogress .progress-bar')].map(b => b.style.width),
            broken: cell.querySelectorAll('.jupyter-widgets-error-widget').length,
            images: [...cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="image/png"] img')].map(
                img => img.complete ? img.naturalWidth : -1)};
})"""
IDLE = ".jp-Notebook-ExecutionIndicator[data-status=idle]"
SAVED = lambda response: response.request.method == "PUT" and "/api/contents/" in response.url  # a save answered


def widgets(nb) -> int:
    """How many widget views the notebook's outputs hold."""
    return sum(WIDGET in out.get("data", {}) for cell in nb.cells for out in cell.get("outputs", []))


def page_problems(cells: list[dict], nb) -> list[str]:
    """What a reader would see wrong in a rendered notebook: missing cells, widgets that fail to display, stderr or
    error outputs, bars short of their end (rendered widgets or text), figures missing or not decoded."""
    problems = [] if len(cells) == len(nb.cells) else [f"{len(cells)} cells in the page, {len(nb.cells)} in the file"]
    for i, (cell, source) in enumerate(zip(cells, nb.cells)):
        for out in cell["outputs"]:
            lines = out["text"].strip().splitlines() or [""]
            shown = next((line for line in lines if re.match(r"\w+(Error|Exception|Warning)\b", line)), lines[0])
            if "Error displaying widget" in out["text"]:
                problems.append(f"cell {i}: {shown}")
            if out["mime"] == STDERR:
                problems.append(f"cell {i}: stderr or error output: {shown!r}")
            problems += [f"cell {i}: unfinished bar in the text: {bar!r}" for bar in unfinished_bars(out["text"])]
        problems += [f"cell {i}: widget bar at {width}" for width in cell["bars"] if width != "100%"]
        problems += [f"cell {i}: a widget that failed to render"] * cell["broken"]  # its script threw
        figures = sum("image/png" in out.get("data", {}) for out in source.get("outputs", []))
        if len(cell["images"]) != figures or not all(w > 0 for w in cell["images"]):
            problems.append(f"cell {i}: {figures} figure(s) in the file, rendered widths {cell['images']}")
    return problems


class Lab:
    """One browser page on the Lab server: open a notebook from the file browser, use the menus, wait for runs."""

    def __init__(self, page, root: Path):
        self.page, self.root = page, root

    def open(self, name: str):
        """Double-click `name` in the file browser; wait until its kernel is idle and every cell, widget and figure
        has rendered. Returns the notebook's panel."""
        self.page.locator(".jp-DirListing-itemText", has_text=re.compile(f"^{re.escape(name)}$")).dblclick()
        panel = self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
        self._settle(panel, len(nbformat.read(self.root / name, 4).cells))
        return panel

    def trust(self, panel, widgets: int) -> None:
        """Trust the notebook from the command palette, as a student must before Lab renders its saved widgets (an
        untrusted notebook, such as a fresh clone, shows each widget's text fallback); wait for `widgets` of them."""
        self.page.keyboard.press("Control+Shift+c")
        self.page.locator(".lm-CommandPalette-input").fill("Trust Notebook")
        self.page.keyboard.press("Enter")
        with self.page.expect_response(SAVED, timeout=TIMEOUT_MS):  # Lab saves a notebook it has just trusted
            self.page.locator(".jp-Dialog-button", has_text="Trust").click()
        self._settle(panel, panel.evaluate("p => p.querySelectorAll('.jp-Notebook .jp-Cell').length"), widgets)

    def _settle(self, panel, cells: int, widgets: int = 0) -> None:
        """Wait for `cells` cells, an idle kernel, `widgets` widget views done loading and every image decoded."""
        self.page.wait_for_function(
            f"""([panel, cells, widgets]) => panel.querySelectorAll('.jp-Notebook .jp-Cell').length === cells
               && document.querySelector('#jp-main-statusbar').innerText.includes('| Idle')
               && panel.querySelector('{IDLE}')
               && panel.querySelectorAll('.jp-OutputArea-output:not([data-mime-type])').length >= widgets
               && ![...panel.querySelectorAll('.jp-OutputArea-output')].some(
                   o => o.innerText.includes('Loading widget'))
               && [...panel.querySelectorAll('.jp-OutputArea-output img')].every(img => img.complete)""",
            arg=[panel.element_handle(), cells, widgets], timeout=TIMEOUT_MS)

    def save(self, name: str) -> None:
        """Save the notebook in front, `name` (Ctrl+S); wait for the server's answer, sent once every file of the
        pair is written."""
        with self.page.expect_response(SAVED, timeout=TIMEOUT_MS) as answer:
            self.page.keyboard.press("Control+s")
        assert answer.value.ok, f"saving {name}: {answer.value.status} {answer.value.status_text}"

    def cells(self, panel) -> list[dict]:
        return panel.evaluate(READ_CELLS)

    def menu(self, menu: str, item: str) -> None:
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
        self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).click()

    def run(self, panel, menu_item: str, first: int) -> list[dict]:
        """Run `menu_item` from the Run menu; wait until the kernel is idle and every code cell from index `first`
        on has a new execution count (or an error stopped the run). Returns the cells as read by the page."""
        before = max((c["count"] or 0 for c in self.cells(panel)), default=0)
        self.menu("Run", menu_item)
        self.page.wait_for_function(
            f"""([panel, first, before]) => {{
                  const cells = ({READ_CELLS})(panel);
                  return !cells.some(c => c.busy) && panel.querySelector('{IDLE}')
                         && (cells.some(c => c.outputs.some(o => o.mime === '{STDERR}'))
                             || cells.slice(first).every(c => c.count === null || c.count > before)); }}""",
            arg=[panel.element_handle(), first, before], timeout=TIMEOUT_MS, polling=500)
        return self.cells(panel)


def tiny_q1(nb):
    """Q1 with BROWSER_Q1 written into its own parameters cell (still the only one) and no outputs: where the
    browser's run starts from."""
    nb = copy.deepcopy(nb)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    for name, value in BROWSER_Q1.items():
        cell.source, found = re.subn(rf"^({name}: [^=]+= ).*?(  #.*)?$",
                                     lambda m: f"{m.group(1)}{value!r}{m.group(2) or ''}", cell.source, flags=re.M)
        assert found == 1, f"Q1's parameters cell does not assign {name} on one line"
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("widgets", None)
    return nb


def finished_record(nb):
    """A copy of `nb` whose widgets' text fallbacks show their end state (the record a clean run leaves)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if WIDGET in out.get("data", {}):
                text = out["data"].get("text/plain", "")
                out["data"]["text/plain"] = BAR_COUNT.sub(lambda m: f"{m.group(2)}/{m.group(2)} [",
                                                          BAR_PERCENT.sub("100%|", text))
    return nb


def stopped_bar() -> nbformat.NotebookNode:
    """A one-cell notebook, executed, whose tqdm widget was left at 0 of 12: its widget view and saved state."""
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from tqdm.notebook import tqdm\nbar = tqdm(total=12, desc='configurations')")])
    NotebookClient(nb, kernel_name="python3", timeout=60).execute()
    return nb


def ipywidgets_major() -> int:
    from importlib.metadata import version

    return int(version("ipywidgets").split(".")[0])


def broken_record(nb):
    """A copy of `nb` with one of each defect the page check must report."""
    nb = finished_record(nb)
    stopped = stopped_bar()  # the rendered widget stops at 0 %, and so does its text fallback
    nb.metadata["widgets"] = stopped.metadata["widgets"]
    code = [c for c in nb.cells if c.cell_type == "code"]
    code[4].outputs.extend(stopped.cells[0].outputs)
    code[0].outputs.append(nbformat.v4.new_output("stream", name="stderr", text="UserWarning: something\n"))
    code[1].outputs.append(nbformat.v4.new_output("stream", name="stdout",
                                                  text="epochs:  40%|████      | 2/5 [00:01<00:02]\n"))
    code[2].outputs.append(nbformat.v4.new_output("error", ename="ValueError", evalue="boom",
                                                  traceback=["ValueError: boom"]))
    code[3].outputs.append(nbformat.v4.new_output("display_data", data={
        WIDGET: {"model_id": "0" * 32, "version_major": 2, "version_minor": 0}, "text/plain": "gone"}))
    for cell in code:
        for out in cell.outputs:
            if "image/png" in out.get("data", {}):
                out["data"]["image/png"] = base64.b64encode(b"not a png").decode()
    return nb


def repository_state() -> tuple[list[str], list[str]]:
    """The repository's git status, ignored entries included (bar the caches other tests write), and its run folders."""
    status = subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=REPO, capture_output=True, text=True)
    caches = ("__pycache__", ".pytest_cache", ".hypothesis")
    return ([line for line in status.stdout.splitlines() if not any(c in line for c in caches)],
            sorted(p.name for p in (REPO / "runs").glob("*")))


@contextlib.contextmanager
def lab_session(tmp: Path):
    """A Lab server on a scratch clone (the committed notebook pairs, jupytext.toml: Lab saves through jupytext, so
    the .py sources would change too), the page check's samples and a tiny Q1, all committed; and one browser page
    on it. Yields the page's Lab, the server and the clone's `git`; the server is stopped on leaving."""
    from playwright.sync_api import sync_playwright  # only this module needs it

    root = tmp / "clone"
    root.mkdir()
    for path in [REPO / "jupytext.toml", REPO / ".gitignore", *COMMITTED, *(p.with_suffix(".py") for p in COMMITTED)]:
        shutil.copy(path, root / path.name)
    q1 = nbformat.read(NOTEBOOKS / "q1_binary_batch_size.ipynb", 4)
    nbformat.write(finished_record(q1), root / "sample_clean.ipynb")
    nbformat.write(broken_record(q1), root / "sample_broken.ipynb")
    nbformat.write(tiny_q1(q1), root / "q1_tiny.ipynb")
    git = lambda *args: subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=root,
                                       capture_output=True, text=True, check=True).stdout
    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "the committed notebooks and the test's samples")
    with LabServer(root, tmp / "home", env={"MNIST_HW_RUNS": str(tmp / "runs")}) as server, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=BROWSER)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server.url("lab"))
        page.wait_for_selector(".jp-DirListing-itemText", timeout=TIMEOUT_MS)
        yield Lab(page, root), server, git
        browser.close()


def check_committed_notebook(lab, path):
    """Opened in Lab, the record shows no widget error, no stderr or error output, no unfinished bar, every figure;
    and it is saved once as it opened, as Lab's autosave does (it saves what opening changed: the kernel's
    language_info, jupytext's filters): the test then checks that the file did not change."""
    nb = nbformat.read(path, 4)
    panel = lab.open(path.name)
    problems = [f"untrusted (a fresh clone), {p}" for p in page_problems(lab.cells(panel), nb)]
    lab.save(path.name)
    lab.trust(panel, widgets(nb))
    problems += [f"trusted, {p}" for p in page_problems(lab.cells(panel), nb)]
    assert not problems, "\n".join(problems)


def check_page_check(lab):
    """page_problems on two samples made from Q1: its record with finished bars, and one with every defect."""
    clean = nbformat.read(lab.root / "sample_clean.ipynb", 4)
    panel = lab.open("sample_clean.ipynb")
    assert page_problems(lab.cells(panel), clean) == []
    lab.trust(panel, widgets(clean))
    assert page_problems(lab.cells(panel), clean) == []
    broken = nbformat.read(lab.root / "sample_broken.ipynb", 4)
    panel = lab.open("sample_broken.ipynb")
    untrusted = "\n".join(page_problems(lab.cells(panel), broken))
    lab.trust(panel, widgets(broken))
    trusted = "\n".join(page_problems(lab.cells(panel), broken))
    for defect in ("stderr or error output: 'UserWarning", "stderr or error output: 'ValueError",
                   "unfinished bar in the text: '40%|'", "unfinished bar in the text: '2/5 ['",
                   "1 figure(s) in the file, rendered widths [0]"):
        assert defect in untrusted and defect in trusted, f"{defect!r} not reported in:\n{untrusted}\n{trusted}"
    # Only a trusted notebook renders its widgets. The stopped bar's saved state is the kernel's ipywidgets': 8
    # renders at 0 %; 7's (Colab's, the floor's) fails to render in JupyterLab 4 (docs/install.md), reported too.
    stopped = "widget bar at 0%" if ipywidgets_major() >= 8 else "a widget that failed to render"
    for defect in (stopped, "Error displaying widget"):
        assert defect in trusted, f"{defect!r} not reported in:\n{trusted}"
    assert "unfinished bar in the text: '0/12 ['" in untrusted  # the widget's text fallback


def check_run_all_edit_and_rerun(lab):
    """Run All on a tiny Q1, then hidden 16 -> 6 typed into the parameters cell and Run Selected Cell and All Below."""
    record = nbformat.read(NOTEBOOKS / "q1_binary_batch_size.ipynb", 4)  # where the figures and tables belong
    nb = nbformat.read(lab.root / "q1_tiny.ipynb", 4)
    index = {key: next(i for i, c in enumerate(nb.cells) if key in c.source)
             for key in ("hidden: int = 16", "open_run(", "print(SimpleMLP", "save_table(summary")}
    rows = [str(b) for b in BROWSER_Q1["batch_sizes"]]
    panel = lab.open("q1_tiny.ipynb")
    first = lab.run(panel, "Run All Cells", 0)
    assert page_problems(first, record) == []
    assert all(c["count"] for c in first if c["count"] is not None)  # every code cell ran
    summary = panel.locator(".jp-Cell").nth(index["save_table(summary"]).locator(".jp-OutputArea-output table")
    assert summary.locator("tbody th").all_inner_texts() == rows  # one row per batch size
    assert "out_features=16" in first[index["print(SimpleMLP"]]["outputs"][0]["text"]

    editor = panel.locator(".jp-Cell").nth(index["hidden: int = 16"]).locator(".cm-content")
    editor.click()
    lab.page.keyboard.press("Control+a")
    edited = nb.cells[index["hidden: int = 16"]].source.replace("hidden: int = 16", "hidden: int = 6")
    lab.page.keyboard.insert_text(edited)
    assert editor.inner_text() == edited
    again = lab.run(panel, "Run Selected Cell and All Below", index["hidden: int = 16"])
    assert page_problems(again, record) == []
    assert "out_features=6" in again[index["print(SimpleMLP"]]["outputs"][0]["text"]
    folder = lambda cells: cells[index["open_run("]]["outputs"][0]["text"].split(" | ")[0]
    assert folder(again) != folder(first)  # new parameters, new run folder
    assert summary.locator("tbody th").all_inner_texts() == rows


def test_jupyterlab_in_a_browser(subtests, tmp_path):
    """One Lab session (a server, a browser): each committed notebook, then that opening and saving them changed no
    file of the clone, the page check on its samples, and the student's loop on a tiny Q1, each a subtest; then
    the server and its kernels must be gone and the repository untouched. One test, so that pytest-xdist runs the
    whole session on one worker."""
    before = repository_state()
    with lab_session(tmp_path) as (lab, server, git):
        for path in COMMITTED:
            with subtests.test("committed notebook", notebook=path.stem):
                check_committed_notebook(lab, path)
        with subtests.test("opening and saving the committed notebooks changed no file"):
            opened = [name for path in COMMITTED for name in (path.name, path.with_suffix(".py").name)]
            assert git("status", "--porcelain", "--", *opened) == "", \
                f"opening the notebooks in Lab changed them:\n{git('diff', '--stat')}"
        with subtests.test("page check on a clean and a broken sample"):
            check_page_check(lab)
        with subtests.test("Run All, edit a parameter, rerun below it"):
            if not has_mnist():
                pytest.skip(f"MNIST raw files not found under {mnist_root()} (set MNIST_HW_DATA)")
            check_run_all_edit_and_rerun(lab)
    assert server.process.returncode is not None and len(server.stopped) > 1  # the server and at least one kernel
    assert not server.survivors, f"still running after the server's shutdown: {server.survivors}"
    assert repository_state() == before, "the Lab session wrote into the repository"

