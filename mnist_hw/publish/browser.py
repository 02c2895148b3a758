"""The one browser lookup, shared by the report's PDF and the browser test, and printing a page to PDF with it.

A Chromium-family browser (Chromium, Google Chrome or Microsoft Edge), looked for in this order: $MNIST_HW_CHROMIUM
(a path, or a name on PATH); the usual names on PATH; the usual install locations on macOS and Windows; Playwright's
own Chromium when `python -m playwright install chromium` has put one there. Playwright drives whichever is found.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..runs.files import shown

BROWSER_ENV = "MNIST_HW_CHROMIUM"
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "microsoft-edge", "msedge", "chrome")
MAC_APPS = ("Google Chrome.app/Contents/MacOS/Google Chrome", "Chromium.app/Contents/MacOS/Chromium",
            "Microsoft Edge.app/Contents/MacOS/Microsoft Edge")
WINDOWS_APPS = ("Google/Chrome/Application/chrome.exe", "Microsoft/Edge/Application/msedge.exe",
                "Chromium/Application/chrome.exe")
WINDOWS_ROOTS = ("PROGRAMFILES", "PROGRAMFILES(X86)", "LOCALAPPDATA")  # environment variables naming install roots
GET_ONE = (f"install Google Chrome, Microsoft Edge or Chromium, or run `python -m playwright install chromium`, or "
           f"set {BROWSER_ENV} to a browser's executable")


def install_locations() -> list[Path]:
    """Where Chrome, Chromium and Edge install themselves: /Applications and ~/Applications on macOS, Program Files
    (both) and the user's AppData\\Local on Windows (those roots come from the environment, so elsewhere none)."""
    mac = [root / app for root in (Path("/Applications"), Path.home() / "Applications") for app in MAC_APPS]
    roots = [os.environ[name] for name in WINDOWS_ROOTS if os.environ.get(name)]
    return mac + [Path(root, *app.split("/")) for root in roots for app in WINDOWS_APPS]


def playwright_browser() -> str | None:
    """The Chromium that `python -m playwright install chromium` downloaded, if that file is there."""
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            path = playwright.chromium.executable_path
    except Exception:  # no playwright, or its driver cannot start: no browser from it
        return None
    return path if path and Path(path).is_file() else None


def find_browser() -> str | None:
    """The browser to print and test with (see the module's docstring), or None. A $MNIST_HW_CHROMIUM that names
    nothing runnable is an error, not silently passed over."""
    named = os.environ.get(BROWSER_ENV)
    if named:
        found = shutil.which(named)
        if not found:
            raise ValueError(f"{BROWSER_ENV}={named!r} is not an executable file nor a program on PATH; point it at "
                             "Chrome, Edge or Chromium, or unset it")
        return found
    on_path = next(filter(None, map(shutil.which, NAMES)), None)
    if on_path:
        return on_path
    installed = next((path for path in install_locations() if path.is_file()), None)
    return str(installed) if installed else playwright_browser()


# Each page's footer: its number of the total (Chrome fills the spans in); no header, so no file path on the pages.
FOOTER = ('<div style="font: 8pt sans-serif; width: 100%; text-align: center; color: #555;">'
          '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')


# What would not print whole: a table, block of text or image past the page's right edge, a table cell on two lines
# (but in a table of class report-facts: a name and its value, which may wrap like prose).
LAYOUT_FAULTS = """() => {
  const width = document.body.clientWidth, faults = [];
  for (const el of document.querySelectorAll('table, pre, img'))
    if (el.getBoundingClientRect().right > width + 1 || el.scrollWidth > el.clientWidth + 1)
      faults.push(`${el.tagName.toLowerCase()} past the page edge: ${(el.innerText || el.alt || '').slice(0, 40)}`);
  for (const td of document.querySelectorAll('table:not(.report-facts) td')) {
    const range = document.createRange(); range.selectNodeContents(td);
    const boxes = [...range.getClientRects()];
    if (boxes.some(box => box.top >= boxes[0].bottom - 1)) faults.push(`cell on two lines: ${td.innerText.slice(0, 40)}`);
  }
  return faults;
}"""
SIDE_MARGIN_MM = 12  # the PDF's left and right margins
CSS_PX_PER_IN = 96  # a browser lays out an image of N pixels N / 96 inches wide
PRINT_WIDTH_PX = round((210 - 2 * SIDE_MARGIN_MM) / 25.4 * CSS_PX_PER_IN)  # A4 less the side margins


def print_pdf(browser: str, page: Path, pdf: Path) -> list[str]:
    """Print the page to A4 PDF through Playwright with `browser` (headless, page numbers in the footer, nothing
    else around the page); the PDF appears only once complete, else one line says why there is none. Returns what
    would not print whole (LAYOUT_FAULTS, laid out as printed)."""
    from playwright.sync_api import Error, sync_playwright

    partial = pdf.with_suffix(".pdf.part")
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=browser)
            try:
                tab = chromium.new_page(viewport={"width": PRINT_WIDTH_PX, "height": 1100})
                tab.goto(page.resolve().as_uri(), wait_until="load")
                tab.emulate_media(media="print")
                faults = tab.evaluate(LAYOUT_FAULTS)
                tab.pdf(path=str(partial), format="A4", print_background=True, display_header_footer=True,
                        header_template="<span></span>", footer_template=FOOTER,
                        margin={"top": "14mm", "bottom": "16mm", "left": f"{SIDE_MARGIN_MM}mm", "right": f"{SIDE_MARGIN_MM}mm"})
            finally:
                chromium.close()
    except Error as err:
        partial.unlink(missing_ok=True)
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise SystemExit(f"report: {shown(page)} written, but {Path(browser).name} could not print it to PDF "
                         f"({reason})") from None
    partial.replace(pdf)
    return faults
