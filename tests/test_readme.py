"""The README is the front door: at most 200 lines, linking every document under docs/ (whose links resolve too), and
its results follow the committed record: its headlines are the manifests' own, its figures exist."""
import json
import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()
DOCS = sorted((ROOT / "docs").glob("*.md"))
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def untimed(headline: str) -> str:
    """A headline without its clauses that state seconds (they change with every run; the results do not)."""
    return "; ".join(part for part in headline.split("; ") if not re.search(r"\d s\b", part))


def test_results_section_quotes_every_committed_headline():
    manifests = sorted((ROOT / "results").glob("*/manifest.json"))
    assert len(manifests) == 4
    for path in manifests:
        headline = untimed(json.loads(path.read_text())["summary"]["headline"])
        assert headline in README, f"README does not quote {path.parent.name}'s headline: {headline}"


def test_untimed_drops_only_the_seconds():
    assert untimed("best: val 97.83%, test 98.15%; grid training 130.6 s summed over stacks") == "best: val 97.83%, test 98.15%"


def test_readme_shows_the_key_figures_and_they_exist():
    shown = set(re.findall(r"\(figures/([\w.]+\.png)\)", README))
    assert {"q1_batch_size.png", "q2_accuracy_vs_hidden.png", "q3_f1_vs_N.png", "q4_reconstructions.png"} <= shown
    assert all((ROOT / "figures" / name).stat().st_size > 10_000 for name in shown)


def test_readme_is_a_front_door_to_docs():
    assert README.count("\n") <= 200, f"README.md has {README.count(chr(10))} lines (at most 200)"
    linked = {(ROOT / target).resolve() for target in LINK.findall(README)}
    assert len(DOCS) >= 7
    assert not [doc.name for doc in DOCS if doc.resolve() not in linked], "a docs/ file the README does not link"


def test_every_relative_link_in_readme_and_docs_resolves():
    pages = [ROOT / "README.md", *DOCS]
    checked = 0
    for page in pages:
        for target in LINK.findall(page.read_text()):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links to missing {target}"
            checked += 1
    assert checked >= 20
