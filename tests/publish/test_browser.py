"""The one browser lookup (mnist_hw.publish.browser), each case faked: $MNIST_HW_CHROMIUM, the usual names on PATH,
the macOS and Windows install locations, Playwright's own Chromium, none at all (the HTML alone and one line on how
to get the PDF); and, where a real browser is found, the PDF printed through Playwright from a Chrome named
otherwise than chromium."""
import os
import shutil
import sys
import types
from pathlib import Path

import pytest

from mnist_hw.publish import browser, report

MAC_CHROME = "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"


@pytest.fixture
def machine(monkeypatch, tmp_path):
    """have(on_path={name: path}, files=[...], env={...}, playwright=path): a machine with only these browsers."""
    def have(on_path=None, files=(), env=None, playwright=None):
        on_path, files = on_path or {}, {str(Path(f)) for f in files}
        for name in (browser.BROWSER_ENV, *browser.WINDOWS_ROOTS):
            monkeypatch.delenv(name, raising=False)
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(shutil, "which", lambda name, *a, **k: on_path.get(name) or (
            str(Path(name)) if str(Path(name)) in files else None))
        monkeypatch.setattr(Path, "home", lambda: tmp_path / "home")
        real_is_file, fake = Path.is_file, (str(Path("/Applications")), str(Path("C:/Windows-like")))
        monkeypatch.setattr(Path, "is_file", lambda self: str(self) in files or (
            not str(self).startswith(fake) and real_is_file(self)))
        monkeypatch.setattr(browser, "playwright_browser", lambda: playwright)
    return have


def test_the_environment_variable_comes_first(machine):
    machine(on_path={"chromium": "/usr/bin/chromium"}, files=["/opt/chrome/chrome"],
            env={browser.BROWSER_ENV: "/opt/chrome/chrome"})
    assert browser.find_browser() == str(Path("/opt/chrome/chrome"))


def test_an_environment_variable_naming_nothing_is_an_error(machine):
    machine(on_path={"chromium": "/usr/bin/chromium"}, env={browser.BROWSER_ENV: "/nowhere/chrome"})
    with pytest.raises(ValueError, match="MNIST_HW_CHROMIUM='/nowhere/chrome' is not an executable file"):
        browser.find_browser()


@pytest.mark.parametrize("name", ["chromium", "chromium-browser", "google-chrome", "msedge", "microsoft-edge"])
def test_each_usual_name_on_path(machine, name):
    machine(on_path={name: f"/usr/local/bin/{name}"}, files=[MAC_CHROME])
    assert browser.find_browser() == f"/usr/local/bin/{name}"  # PATH before the install locations


@pytest.mark.parametrize("app", [MAC_CHROME, "/Applications/Chromium.app/Contents/MacOS/Chromium",
                                 "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge"])
def test_macos_applications(machine, app):
    machine(files=[app], playwright="/cache/ms-playwright/chrome")
    assert browser.find_browser() == str(Path(app))  # before Playwright's own


@pytest.mark.parametrize("root,app", [("PROGRAMFILES", "Google/Chrome/Application/chrome.exe"),
                                      ("PROGRAMFILES(X86)", "Microsoft/Edge/Application/msedge.exe"),
                                      ("LOCALAPPDATA", "Google/Chrome/Application/chrome.exe")])
def test_windows_install_locations(machine, root, app):
    where = str(Path("C:/Windows-like", root, *app.split("/")))
    machine(env={root: "C:/Windows-like/" + root}, files=[where])
    assert browser.find_browser() == where


def test_playwrights_own_browser_last(machine):
    machine(playwright="/cache/ms-playwright/chromium-1234/chrome-linux/chrome")
    assert browser.find_browser() == "/cache/ms-playwright/chromium-1234/chrome-linux/chrome"


def test_playwrights_browser_only_when_its_file_is_there(monkeypatch, tmp_path):
    """playwright_browser asks Playwright where its Chromium would be, and returns it only if the file exists."""
    path = tmp_path / "chrome"

    class Playwright:
        def __enter__(self):
            return types.SimpleNamespace(chromium=types.SimpleNamespace(executable_path=str(path)))

        def __exit__(self, *exc):
            return False

    monkeypatch.setitem(sys.modules, "playwright.sync_api", types.SimpleNamespace(sync_playwright=Playwright))
    assert browser.playwright_browser() is None
    path.write_text("")
    assert browser.playwright_browser() == str(path)


def test_no_browser_writes_the_html_and_says_how_to_get_the_pdf(machine, monkeypatch, tmp_path, capsys):
    machine()
    assert browser.find_browser() is None
    monkeypatch.setattr(report, "find_sources", lambda folders: report.committed_sources()[:1])
    report.main(["-o", str(tmp_path / "out")])
    lines = capsys.readouterr().out.splitlines()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.html"]
    assert lines[1:] == ["no PDF: no Chrome, Edge or Chromium found, so the HTML alone; for the PDF, install Google "
                         "Chrome, Microsoft Edge or Chromium, or run `python -m playwright install chromium`, or set "
                         "MNIST_HW_CHROMIUM to a browser's executable, then rerun"]


@pytest.mark.skipif(os.name != "posix", reason="links the browser under another name (Windows needs privileges)")
def test_a_chrome_under_another_name_prints_the_pdf(monkeypatch, tmp_path):
    """No `chromium` on PATH, only a `google-chrome` (the real browser, linked): the report's PDF is printed."""
    real = shutil.which("chromium") or shutil.which("chromium-browser") or os.environ.get(browser.BROWSER_ENV)
    if not real:
        pytest.skip("no Chromium on this machine to stand in for Chrome")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "google-chrome").symlink_to(real)
    monkeypatch.delenv(browser.BROWSER_ENV, raising=False)
    monkeypatch.setenv("PATH", str(bin_dir))
    assert browser.find_browser() == str(bin_dir / "google-chrome")
    written, _ = report.build(report.committed_sources()[:1], tmp_path / "out")
    assert [p.name for p in written] == ["report.html", "report.pdf"]
    assert written[1].read_bytes().startswith(b"%PDF") and not (tmp_path / "out" / "report.pdf.part").exists()
