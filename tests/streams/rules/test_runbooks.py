"""Every rule has a runbook page with the four sections, listed in the index."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.rules.catalog import BEYOND_DESIGN, RULES

RUNBOOKS = Path(__file__).resolve().parents[3] / "docs" / "runbooks"
SECTIONS = ("## What it means", "## First checks", "## Who acts", "## How it resolves")


@pytest.mark.parametrize("rule", sorted(RULES))
def test_rule_has_a_runbook(rule: str) -> None:
    text = (RUNBOOKS / f"{rule}.md").read_text(encoding="utf-8")
    assert text.startswith(f"# {rule}\n")
    for section in SECTIONS:
        assert section in text


def test_index_lists_exactly_the_rules() -> None:
    index = (RUNBOOKS / "README.md").read_text(encoding="utf-8")
    pages = {p.stem for p in RUNBOOKS.glob("*.md")} - {"README"}
    assert pages == set(RULES)
    for rule in RULES:
        assert f"]({rule}.md)" in index


def test_catalog_matches_design_md_rule_table() -> None:
    design = RUNBOOKS.parents[2] / "shared" / "DESIGN.md"  # shared/ sits beside the repository
    if not design.exists():
        pytest.skip(f"{design} not found")
    feeds = ("| gas.", "| streetlight.", "| heating.", "| fleet.")
    rules = {
        line.split("|")[1].strip()
        for line in design.read_text(encoding="utf-8").splitlines()
        if line.startswith(feeds)
    }
    # rules added after DESIGN.md (docs/ARCHITECTURE.md, "Where the code differs")
    assert rules == set(RULES) - BEYOND_DESIGN


@pytest.mark.parametrize("rule", sorted(RULES))
def test_runbook_says_who_the_next_tier_is(rule: str) -> None:
    """Issue 16: every page points at the escalation tiers of the index."""
    text = (RUNBOOKS / f"{rule}.md").read_text(encoding="utf-8")
    assert "(README.md#escalation-who-the-next-tier-is)" in text
    index = (RUNBOOKS / "README.md").read_text(encoding="utf-8")
    assert "## Escalation: who the next tier is" in index
    for receiver in ("escalation-tier1", "escalation-tier2"):
        assert receiver in index
