"""Helpers shared by the rule tests: stores, an engine factory, alert digests."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, MutableMapping
from datetime import datetime
from typing import Any

from cityops.base.thresholds import with_overrides
from streams import topics
from streams.models import (
    Alert,
    Event,
    FleetGpsFix,
    GasDetectorReading,
    HeatingStationReading,
    StreetlightStatus,
)
from streams.rules.engine import RuleEngine
from tests.fixtures.city import FakeCity

RUNBOOKS = "https://runbooks.example/cityops"

TOPIC_OF: dict[type[Event], str] = {
    GasDetectorReading: topics.GAS_DETECTOR,
    StreetlightStatus: topics.STREETLIGHT_STATUS,
    HeatingStationReading: topics.HEATING_STATION,
    FleetGpsFix: topics.FLEET_GPS,
}


class JsonStore(MutableMapping[str, Any]):
    """A dict that keeps values as JSON text, as a changelog-backed table would:
    state that is not plain JSON fails here, and nothing is shared by reference."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}
        self.reads = 0
        self.writes = 0

    def __getitem__(self, key: str) -> Any:
        self.reads += 1
        return json.loads(self.data[key])

    def __setitem__(self, key: str, value: Any) -> None:
        self.writes += 1
        self.data[key] = json.dumps(value, allow_nan=False)

    def __delitem__(self, key: str) -> None:
        del self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


#: Escalation off: the rule tests check each rule's own lifecycle sequence, and an
#: unacknowledged alert would otherwise add escalation events to it after 5-60 min
#: (tests/streams/rules/test_escalation.py tests escalation itself).
NO_ESCALATION = {
    "escalation": {f"{s}_s": 0 for s in ("critical", "major", "minor", "warning", "info")}
}


def make_engine(overrides: dict[str, Any] | None = None) -> RuleEngine:
    merged = {**NO_ESCALATION, **(overrides or {})}
    return RuleEngine(with_overrides(merged), FakeCity(), JsonStore(), runbook_base_url=RUNBOOKS)


def feed(engine: RuleEngine, events: Iterable[Event]) -> list[Alert]:
    out: list[Alert] = []
    for event in events:
        out += engine.on_event(TOPIC_OF[type(event)], event)
    return out


Digest = tuple[str, str, str, datetime]


def digest(alerts: Iterable[Alert], rule: str | None = None) -> list[Digest]:
    """(rule, state, severity, updated_at) of each alert, optionally of one rule only."""
    return [(a.rule, a.state, a.severity, a.updated_at) for a in alerts if rule in (None, a.rule)]
