"""What every rule evaluation may consult besides the entity's own state."""

from __future__ import annotations

from dataclasses import dataclass

from streams.rules.city import CityContext
from streams.rules.lifecycle import AlertBook, Record
from streams.rules.thresholds import Thresholds


@dataclass(frozen=True, slots=True)
class RuleContext:
    thresholds: Thresholds
    city: CityContext
    runbook_base_url: str

    def book(self, state: dict[str, Record] | None) -> AlertBook:
        return AlertBook(state, self.runbook_base_url)
