"""Escalation: an unacknowledged firing alert escalates per severity (DESIGN.md "Escalation")."""

from __future__ import annotations

from typing import Any

import pytest

from cityops.base.thresholds import ThresholdsError, with_overrides
from streams.models import Alert
from streams.routing import escalation_level
from streams.rules.engine import RuleEngine
from streams.rules.timeutil import to_ms
from tests.fixtures.events import ack, at, circuit_lights, gas
from tests.streams.rules.support import JsonStore, feed, make_engine

LEL = "gas.lel_high"
#: The shipped delays (thresholds.toml): critical 5 min, major 15 min, minor 1 h, max level 2.
SHIPPED: dict[str, Any] = {"escalation": {}}


def levels(alerts: list[Alert], rule: str = LEL) -> list[tuple[str, str, int, Any]]:
    return [
        (a.state, a.severity, escalation_level(a), a.updated_at) for a in alerts if a.rule == rule
    ]


def heartbeats(start: float, stop: float, **kw: Any) -> list[Any]:
    return [gas(m, **kw) for m in range(int(start), int(stop))]


def test_an_unacknowledged_critical_alarm_escalates_twice_then_stops() -> None:
    engine = make_engine(SHIPPED)
    alerts = feed(engine, heartbeats(0, 40, lel_pct=60))
    # at 0 it fires; 5 min later (event time, once the watermark passed) level 1, 10 min level 2
    assert levels(alerts) == [
        ("firing", "critical", 0, at(0)),
        ("firing", "critical", 1, at(5)),
        ("firing", "critical", 2, at(10)),
    ]
    assert alerts[1].labels == {"escalation": "1"}
    assert alerts[1].alert_id == alerts[0].alert_id  # the same incarnation, paged further


def test_acknowledgement_stops_escalation() -> None:
    engine = make_engine(SHIPPED)
    (fired,) = feed(engine, [gas(0, lel_pct=60)])
    engine.on_ack(ack(fired.alert_id, at(2)))
    assert feed(engine, heartbeats(1, 40, lel_pct=60)) == []


def test_acknowledging_after_the_first_level_stops_the_second() -> None:
    engine = make_engine(SHIPPED)
    alerts = feed(engine, heartbeats(0, 7, lel_pct=60))
    assert [escalation_level(a) for a in alerts] == [0, 1]
    (acked,) = engine.on_ack(ack(alerts[0].alert_id, at(7)))
    assert (acked.state, escalation_level(acked)) == ("acknowledged", 1)  # the level stays
    assert feed(engine, heartbeats(7, 40, lel_pct=60)) == []


def test_a_severity_change_keeps_the_level_and_restarts_the_delay() -> None:
    engine = make_engine(SHIPPED)
    alerts = feed(engine, heartbeats(0, 17, lel_pct=30))  # major: 15 min
    alerts += feed(engine, heartbeats(17, 30, lel_pct=60))  # critical at 17: 5 min more
    assert levels(alerts) == [
        ("firing", "major", 0, at(0)),
        ("firing", "major", 1, at(15)),
        ("firing", "critical", 1, at(17)),
        ("firing", "critical", 2, at(22)),
    ]


def test_warnings_never_escalate_with_the_shipped_delays() -> None:
    engine = make_engine(SHIPPED)
    alerts = feed(engine, heartbeats(0, 120, status="fault"))
    assert levels(alerts, "gas.detector_fault") == [("firing", "warning", 0, at(0))]


def test_a_resolved_alert_does_not_escalate() -> None:
    engine = make_engine(SHIPPED)
    alerts = feed(engine, [gas(0, lel_pct=60), *heartbeats(1, 40, lel_pct=0)])
    assert [a.state for a in alerts if a.rule == LEL] == ["firing", "resolved"]


def test_group_alerts_escalate_on_their_feed_watermark() -> None:
    """A circuit outage (major, streetlight feed) escalates 15 min after it fired."""
    engine = make_engine(SHIPPED)
    dark = set(range(6))  # 6 of 10 lights: >= 50 %
    alerts: list[Alert] = []
    for minute in range(0, 60, 5):
        alerts += feed(engine, circuit_lights(minute, dark))
    outage = [a for a in alerts if a.rule == "streetlight.circuit_outage"]
    assert [escalation_level(a) for a in outage] == [0, 1, 2]
    assert outage[1].updated_at - outage[0].updated_at == at(15) - at(0)


def test_escalation_survives_a_restart_from_the_stored_state() -> None:
    """The schedule lives in the store (the changelog), not in the engine object."""
    engine = make_engine(SHIPPED)
    feed(engine, heartbeats(0, 3, lel_pct=60))
    store = engine.store
    assert isinstance(store, JsonStore)
    restarted = RuleEngine(
        with_overrides({}), engine.ctx.city, store, runbook_base_url=engine.ctx.runbook_base_url
    )
    alerts = feed(restarted, heartbeats(3, 12, lel_pct=60))
    assert [escalation_level(a) for a in alerts] == [1, 2]


def test_a_silent_feed_escalates_on_the_processing_time_fallback() -> None:
    engine = make_engine(SHIPPED)
    (fired,) = feed(engine, [gas(0, lel_pct=60)])
    # The feed goes silent: its watermark stays at 0 min - 30 s of lateness.
    assert engine.escalate_quiet("gas", at(4)) == []
    (escalated,) = engine.escalate_quiet("gas", at(6))
    assert (escalated.alert_id, escalation_level(escalated)) == (fired.alert_id, 1)
    assert escalated.updated_at == at(5)  # stamped with its due time
    assert engine.watermark("gas") == to_ms(at(0, -30))  # untouched by the fallback
    assert engine.escalate_quiet("gas", at(6)) == []  # once


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"critical_s": -1}, "escalation.critical_s: durations cannot be negative"),
        ({"major_s": "900"}, "escalation.major_s: expected a number"),
        ({"max_level": 0}, "escalation.max_level"),
        ({"tier": 3}, "escalation.tier: unknown key"),
    ],
)
def test_invalid_escalation_config_fails_with_the_key_and_the_fix(
    override: dict[str, Any], message: str
) -> None:
    with pytest.raises(ThresholdsError, match=message):
        with_overrides({"escalation": override})
