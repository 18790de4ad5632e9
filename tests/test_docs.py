"""The README stays a short first read, and the pages it leads to hold together: every link
between them resolves, and docs/outputs.md explains every status and reason a run writes."""

import re
from pathlib import Path

import pytest

from transforms.types import Reason, Status

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
         ROOT / "benchmarks" / "RESULTS.md"]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors for the headings of ``page``."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
            for h in re.findall(r"^#+ (.+)$", text, flags=re.M)}


def test_readme_is_short_and_keeps_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150
    assert "    bash scripts/demo.sh " in readme and "    bash scripts/test.sh " in readme
    assert readme.count("Growing a dataset") == 1


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve(page):
    broken = []
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not checked offline
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists() or (anchor and linked.suffix == ".md"
                                   and anchor not in _anchors(linked)):
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)}: broken links {broken}"


def test_outputs_doc_explains_every_status_and_reason():
    text = (ROOT / "docs" / "outputs.md").read_text(encoding="utf-8")
    missing = [v.value for v in [*Status, *Reason] if f"| `{v.value}` |" not in text
               and f"\"{v.value}\"" not in text]
    assert not missing, f"docs/outputs.md does not explain {missing}"
