"""Acknowledgements and the alert lifecycle: firing -> acknowledged -> resolved."""

from __future__ import annotations

import pytest

from streams.models import Alert
from streams.rules.engine import RuleEngine
from streams.rules.lifecycle import parse_alert_id
from streams.rules.timeutil import to_ms
from tests.fixtures.events import ack, at, district_lights, gas
from tests.streams.rules.support import RUNBOOKS, digest, feed, make_engine

LEL = "gas.lel_high"


def firing(engine: RuleEngine) -> Alert:
    (alert,) = feed(engine, [gas(0, lel_pct=30)])
    return alert


def test_alert_id_and_runbook_are_deterministic() -> None:
    alert = firing(make_engine())
    assert alert.alert_id == f"{LEL}:gd-1:{to_ms(at(0))}"
    assert alert.runbook == f"{RUNBOOKS}/{LEL}.md"
    assert (alert.started_at, alert.updated_at, alert.resolved_at) == (at(0), at(0), None)


def test_ack_moves_firing_to_acknowledged_then_resolution_follows() -> None:
    engine = make_engine()
    alert = firing(engine)
    (acked,) = engine.on_ack(ack(alert.alert_id, at(2)))
    assert (acked.state, acked.updated_at, acked.alert_id) == (
        "acknowledged",
        at(2),
        alert.alert_id,
    )
    assert engine.on_ack(ack(alert.alert_id, at(3))) == []  # already acknowledged
    resolved = feed(engine, [gas(m, lel_pct=0) for m in (4, 5, 6)])
    assert [(a.state, a.resolved_at, a.alert_id) for a in resolved] == [
        ("resolved", at(6), alert.alert_id)
    ]
    assert engine.on_ack(ack(alert.alert_id, at(7))) == []  # resolved


def test_escalation_after_ack_pages_again_and_can_be_acked_again() -> None:
    engine = make_engine()
    alert = firing(engine)
    engine.on_ack(ack(alert.alert_id, at(1)))
    escalated = feed(engine, [gas(2, lel_pct=55)])
    assert digest(escalated) == [(LEL, "firing", "critical", at(2))]
    # an ack clicked before the escalation does not silence it
    assert engine.on_ack(ack(alert.alert_id, at(1, 30))) == []
    (acked,) = engine.on_ack(ack(alert.alert_id, at(3)))
    assert (acked.state, acked.severity) == ("acknowledged", "critical")


def test_a_new_incarnation_ignores_acks_of_the_old_one() -> None:
    engine = make_engine()
    old = firing(engine)
    feed(engine, [gas(m, lel_pct=0) for m in (1, 2, 3)])
    (new,) = feed(engine, [gas(10, lel_pct=30)])
    assert new.alert_id != old.alert_id
    assert engine.on_ack(ack(old.alert_id, at(11))) == []
    assert [a.state for a in engine.on_ack(ack(new.alert_id, at(11)))] == ["acknowledged"]


@pytest.mark.parametrize(
    "alert_id",
    [
        "nonsense",
        "gas.lel_high:gd-1",
        "gas.lel_high:gd-1:notanumber",
        "gas.no_such_rule:gd-1:1",
        "gas.lel_high:gd-unknown:1",
        f"gas.lel_high:gd-1:{to_ms(at(0)) + 1}",  # stale started_at
        f"gas.detector_fault:gd-1:{to_ms(at(0))}",  # rule not open on that entity
    ],
)
def test_acks_for_unknown_alerts_are_ignored(alert_id: str) -> None:
    engine = make_engine()
    firing(engine)
    assert engine.on_ack(ack(alert_id, at(1))) == []


def test_ack_reaches_group_alerts_keyed_by_district() -> None:
    engine = make_engine()
    alerts = feed(engine, [*district_lights(0, {0, 1}), *district_lights(10, {0, 1})])
    (fired,) = [a for a in alerts if a.rule == "streetlight.lit_rate_low"]
    (acked,) = engine.on_ack(ack(fired.alert_id, at(11)))
    assert (acked.state, acked.entity_id) == ("acknowledged", "Shinan")


def test_parse_alert_id_splits_on_the_first_and_last_colon() -> None:
    assert parse_alert_id("streetlight.lit_rate_low:Old Town:5") == (
        "streetlight.lit_rate_low",
        "Old Town",
        5,
    )


def test_escalation_after_a_wall_clock_ack_orders_after_it() -> None:
    # The ack is stamped by a person's clock, ahead of event time during catch-up;
    # the re-page must still be the newest change, or the sink keeps "acknowledged".
    engine = make_engine()
    alert = firing(engine)
    (acked,) = engine.on_ack(ack(alert.alert_id, at(10)))
    (escalated,) = feed(engine, [gas(2, lel_pct=55)])
    assert (escalated.state, escalated.severity) == ("firing", "critical")
    assert escalated.updated_at > acked.updated_at


@pytest.mark.parametrize("bad", ["gas.lel_high:gd-1:²", "gas.lel_high:gd-1:1e5", "x:y:-1"])
def test_parse_alert_id_accepts_ascii_digits_only(bad: str) -> None:
    assert parse_alert_id(bad) is None
