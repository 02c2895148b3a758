"""The hand-in: one self-contained HTML report of the four executed notebooks (and a PDF where Chrome, Edge or
Chromium is found: mnist_hw.publish.browser).

usage: python -m mnist_hw report [RUN_FOLDER ...] [-o FOLDER] [--author NAME] [--code [folded|shown]] [--no-pdf]
                                                                                                       (make report)
From the committed record (notebooks/q*.ipynb, manifests in results/<notebook>/), or from run folders (at most
one per question): a title page with the author, then per question the assignment's sub-questions, the notebook's
Markdown and outputs (the code the assignment asks for among them; other code hidden unless asked for, progress
bars left out), and one closing "Reproducibility" appendix with the machinery: commit, code version, run folders,
machine, versions, times and the cells tagged `machinery`. Writes under runs/report/ (or FOLDER), never a tracked
file. The author: --author, else $MNIST_HW_AUTHOR, else the first line of .mnist_hw_author in the repository
(gitignored: set it once).
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import nbformat
from bs4 import BeautifulSoup
from nbconvert import HTMLExporter

from .browser import CSS_PX_PER_IN, GET_ONE, find_browser, print_pdf
from .sources import Source, committed_sources, find_sources, run_folder_sources  # noqa: F401  (the report's inputs)
from .record import WIDGET_VIEW as WIDGET
from ..registry import QUESTIONS
from ..runs.claim import NotARunFolder, holds_only
from ..runs.folder import REPO, git_commit, runs_root, shown

TITLE = "The MNIST MLP assignment"
SUBTITLE = "Four questions on one-hidden-layer MLPs: batch size, ten digits, class imbalance, an autoencoder"
TEMPLATE = "report.html.j2"  # beside this module; extends nbconvert's lab template
STAMP = "%Y-%m-%d %H:%M UTC"  # dates in the title block, to the minute
CODE_MODES = ("hidden", "folded", "shown")
MACHINERY = "machinery"  # the tag of a notebook cell that belongs in the appendix, not in the answer
AUTHOR_ENV, AUTHOR_FILE = "MNIST_HW_AUTHOR", REPO / ".mnist_hw_author"
PROGRESS_BAR = re.compile(r"\d+%\|")  # tqdm's text bar: "configurations: 100%|██████████| 48/48 [...]"



PRINT_WIDTH_IN = 7.1  # the widest an image prints: A4 less the @page margins and the output area's padding (docs/tests.md)


def printed_text_pt(figure: dict[str, float]) -> float:
    """How large a figure's smallest text prints in the report, from its facts in the run's manifest (width, inline
    dpi, smallest text; mnist_hw.runs.figure.facts): its inline image laid out at CSS_PX_PER_IN, shrunk to
    the printable width if wider."""
    scale = min(figure["dpi"] / CSS_PX_PER_IN, PRINT_WIDTH_IN / figure["width_in"])
    return figure["smallest_text_pt"] * scale


def is_progress(out: nbformat.NotebookNode) -> bool:
    """A progress bar: a widget view (tqdm.auto in a kernel), its finished text as the committed record keeps it
    (mnist_hw.publish.record.clean), or tqdm's text bar on stderr."""
    data = out.get("data", {})
    if WIDGET in data or (set(data) == {"text/plain"} and PROGRESS_BAR.search(data["text/plain"])):
        return True
    return out.output_type == "stream" and out.name == "stderr" and bool(PROGRESS_BAR.search(out.text))


def folder_name(folder: Path) -> str:
    """A run folder as the report names it, with no machine path: shown() inside the repository, else its name."""
    return shown(folder) if folder.is_relative_to(REPO) else folder.name


def scrubber(sources: list[Source]):
    """A function that writes the run folders' and the repository's absolute paths as folder_name() and '.'."""
    names = {str(s.folder): folder_name(s.folder) for s in sources if s.folder} | {str(REPO): "."}
    pattern = re.compile("|".join(re.escape(f) for f in sorted(names, key=len, reverse=True)))
    return lambda text: pattern.sub(lambda m: names[m.group(0)], text)


def scrub_cell(cell: nbformat.NotebookNode, scrub) -> None:
    """Apply scrub to a cell's source and to every text of its outputs."""
    cell.source = scrub(cell.source)
    for out in cell.get("outputs", []):
        if "text" in out:
            out.text = scrub(out.text)
        out.get("data", {}).update({mime: scrub(value) for mime, value in out.get("data", {}).items()
                                    if mime.startswith("text/") and isinstance(value, str)})


def assignment_cell(question: str) -> nbformat.NotebookNode:
    """The question's sub-questions as a Markdown cell tagged 'assignment' (styled as a box)."""
    asked = QUESTIONS[question]
    text = f"**{asked.title} — what the assignment asks**\n\n" + "\n".join(f"- {item}" for item in asked.asks)
    return nbformat.v4.new_markdown_cell(text, metadata={"tags": ["assignment"]})


def tagged(cell: nbformat.NotebookNode, tag: str) -> bool:
    return tag in cell.metadata.get("tags", [])


def question_cells(source: Source, code: str, scrub) -> tuple[list[nbformat.NotebookNode], list[str]]:
    """A notebook's cells for the report, and the text its `machinery` cells printed (for the appendix; the cells
    themselves are left out): progress bars dropped, paths scrubbed, code cells without output dropped when code is
    hidden; a notebook that does not open on the assignment's sub-questions gets them after its title (cell ids
    '<question>-<index>')."""
    nb, cells, machinery = nbformat.read(source.notebook, as_version=4), [], []
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [out for out in cell.outputs if not is_progress(out)]
            if tagged(cell, MACHINERY):
                scrub_cell(cell, scrub)
                machinery += [out.get("text", "").strip() for out in cell.outputs if out.output_type == "stream"]
                continue
            if code == "hidden" and not cell.outputs:
                continue
        scrub_cell(cell, scrub)
        cells.append(cell)
    if not any(tagged(cell, "assignment") for cell in cells):
        titled = bool(cells) and cells[0].cell_type == "markdown" and cells[0].source.lstrip().startswith("# ")
        if not titled:
            cells.insert(0, nbformat.v4.new_markdown_cell(f"# {QUESTIONS[source.question].title}"))
        cells.insert(1, assignment_cell(source.question))
    for index, cell in enumerate(cells):
        cell.id = f"{source.question}-{index}"
    return cells, [text for text in machinery if text]


def same_or_each(sources: list[Source], value) -> str:
    """value(manifest) when all runs agree, else 'a (q1, q2); b (q3)'."""
    groups: dict[str, list[str]] = {}
    for s in sources:
        groups.setdefault(value(s.manifest), []).append(s.question)
    return next(iter(groups)) if len(groups) == 1 else "; ".join(f"{v} ({', '.join(qs)})" for v, qs in groups.items())


def finished(manifest: dict[str, Any]) -> str:
    """When the run finished, to the minute, in UTC."""
    stamp = manifest.get("finished")
    return datetime.fromisoformat(stamp).astimezone(timezone.utc).strftime(STAMP) if stamp else "?"


def author(given: str | None = None) -> str | None:
    """Who hands the report in: `given`, else $MNIST_HW_AUTHOR, else the first line of .mnist_hw_author; None if none."""
    if given is None:
        saved = AUTHOR_FILE.read_text(encoding="utf-8").splitlines() if AUTHOR_FILE.is_file() else []
        given = os.environ.get(AUTHOR_ENV) or next(iter(saved), "")
    return given.strip() or None


def title_block(sources: list[Source], code: str, name: str | None = None,
                machinery: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """The title page (title, author, date) and the appendix: the build, machine and versions, one row per run
    (from the manifests) and what each question's machinery cells printed."""
    built = datetime.now(timezone.utc).strftime(STAMP)
    facts = [
        ("Report", f"built {built} from git commit {git_commit() or 'n/a'}"),
        ("Source", "the committed record (notebooks/, results/)" if not any(s.folder for s in sources)
         else "run folders " + ", ".join(folder_name(s.folder) for s in sources)),
        ("Machine", same_or_each(sources, lambda m: f"{m.get('platform', '?')}, {m.get('device_name', '?')}")),
        ("Versions", same_or_each(sources, lambda m: ", ".join(f"{k} {v}" for k, v in m.get("versions", {}).items()))),
    ]
    header = ["notebook", "run finished", "wall time", "git commit", "code", "device", "CPU threads"]
    runs = [[s.notebook.name, finished(s.manifest),
             f"{s.manifest['wall_s']:.1f} s" if s.manifest.get("wall_s") else "?",
             s.manifest.get("git_commit") or "n/a", s.manifest.get("code_version", "?"), s.manifest.get("device", "?"),
             str(s.manifest.get("cpu_threads", "?"))] for s in sources]
    notes = [(QUESTIONS[q].title, lines) for q, lines in (machinery or {}).items() if lines]
    return {"title": TITLE, "subtitle": SUBTITLE, "author": name, "date": built.split(" ")[0], "facts": facts,
            "runs_header": header, "runs": runs, "notes": notes, "code": code}


def heading_text(heading) -> str:
    """A heading's text without nbconvert's '¶' anchor link."""
    return "".join(s for s in heading.find_all(string=True) if not s.find_parent("a", class_="anchor-link")).strip()


def add_contents(html: str, sources: list[Source]) -> str:  # noqa: C901
    """Give every heading an id unique in the page ('q2', 'q2-Data', ...), break pages before each question and
    fill the table of contents (each question and its sections)."""
    soup = BeautifulSoup(html, "html.parser")
    toc, used = soup.new_tag("ol"), set()
    for source in sources:
        cells = soup.select(f'div.jp-Cell[id^="cell-id={source.question}-"]')
        cells[0]["class"] = [*cells[0].get("class", []), "report-question"]
        item, sections = None, None
        for heading in (h for cell in cells for h in cell.find_all(["h1", "h2"])):
            new = source.question if item is None else f"{source.question}-{heading.get('id', 'section')}"
            while new in used:
                new += "-"
            used.add(new)
            heading["id"] = new
            for link in heading.find_all("a", class_="anchor-link"):
                link["href"] = f"#{new}"
            entry = soup.new_tag("li")
            entry.append(soup.new_tag("a", href=f"#{new}", string=heading_text(heading)))
            if item is None:
                item, sections = entry, soup.new_tag("ul")
                item.append(sections)
                toc.append(item)
            elif heading.name == "h2":
                sections.append(entry)
    appendix = soup.new_tag("li")
    appendix.append(soup.new_tag("a", href="#reproducibility", string="Reproducibility (appendix)"))
    toc.append(appendix)
    soup.select_one("nav.report-toc").append(toc)
    return str(soup)


def render(sources: list[Source], code: str = "hidden", name: str | None = None) -> str:
    """The report as one HTML page: images inline as data: URIs, no script or stylesheet from the network."""
    if code not in CODE_MODES:
        raise ValueError(f"code={code!r}: expected one of {', '.join(CODE_MODES)}")
    scrub = scrubber(sources)
    first = nbformat.read(sources[0].notebook, as_version=4).metadata
    nb = nbformat.v4.new_notebook(metadata={k: first[k] for k in ("kernelspec", "language_info") if k in first})
    nb.metadata.title = TITLE
    parts = {source.question: question_cells(source, code, scrub) for source in sources}
    nb.cells = [cell for cells, _ in parts.values() for cell in cells]
    exporter = HTMLExporter(template_name="lab", template_file=TEMPLATE, extra_template_paths=[str(Path(__file__).parent)],
                            exclude_input=code == "hidden", exclude_input_prompt=True, exclude_output_prompt=True,
                            embed_images=True)
    html, _ = exporter.from_notebook_node(nb, resources={"report": title_block(
        sources, code, name, {q: lines for q, (_, lines) in parts.items()})})
    return add_contents(html, sources)


def build(sources: list[Source], out: Path, code: str = "hidden", pdf: bool = True,
          name: str | None = None) -> tuple[list[Path], list[str]]:
    """Write report.html (and report.pdf when asked and a browser is found: browser.find_browser) into out; return
    what was written and what would not print whole (browser.LAYOUT_FAULTS)."""
    html = render(sources, code, name)
    out.mkdir(parents=True, exist_ok=True)
    page, printed = out / "report.html", out / "report.pdf"
    partial = page.with_suffix(".html.part")
    partial.write_text(html, encoding="utf-8")
    partial.replace(page)
    printed.unlink(missing_ok=True)  # never leave an older PDF beside a newer page
    browser = find_browser() if pdf else None
    faults = print_pdf(browser, page, printed) if browser else []
    return ([page, printed] if browser else [page]), faults


def main(argv: list[str] | None = None, prog: str = "python -m mnist_hw report") -> int | None:
    examples = ("examples:\n  %(prog)s                              the committed record (make report)\n"
                "  %(prog)s runs/q1-<key> -o /tmp/r      run folders instead, written to /tmp/r\n"
                "  %(prog)s --author \"Ada Lovelace\"       her name on the title page (once: .mnist_hw_author)\n"
                "  %(prog)s --code shown --no-pdf        all the code shown, the HTML only")
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0], epilog=examples,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_folders", nargs="*", metavar="RUN_FOLDER",
                        help="run folders to report (default: the committed notebooks and results/)")
    parser.add_argument("-o", "--out", type=Path, default=None, help="output folder (default: runs/report/)")
    parser.add_argument("--code", nargs="?", const="folded", default="hidden", choices=CODE_MODES,
                        help="keep the code: folded into a <details> element (the default for --code) or shown")
    parser.add_argument("--no-pdf", action="store_true", help="write the HTML only, even where a browser is found")
    parser.add_argument("--author", default=None, metavar="NAME",
                        help=f"the name on the title page (default: ${AUTHOR_ENV}, else the first line of .mnist_hw_author)")
    args = parser.parse_args(argv)
    out = (args.out or runs_root() / "report").expanduser().resolve()
    try:  # written into: the page and the PDF (and their partial files), nothing of the user's
        holds_only(out, {"report.html", "report.pdf", "report.html.part", "report.pdf.part"}, f"-o {args.out or out}")
    except NotARunFolder as err:
        parser.error(str(err))
    if not args.no_pdf:
        try:  # a $MNIST_HW_CHROMIUM that names nothing stops before any work, in one line
            find_browser()
        except ValueError as err:
            print(f"{prog}: error: {err}", file=sys.stderr)
            return 1
    sources = find_sources(args.run_folders)
    written, faults = build(sources, out, args.code, pdf=not args.no_pdf, name=author(args.author))
    for path in written:
        print(shown(path))
    for fault in faults:
        print(f"not printed whole: {fault}")
    if len(written) == 1:
        print("no PDF: " + ("--no-pdf given" if args.no_pdf else
                            f"no Chrome, Edge or Chromium found, so the HTML alone; for the PDF, {GET_ONE}, then rerun"))

