"""The README's results follow the committed record: its headlines are the manifests' own, its figures exist."""
import json
import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()


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
