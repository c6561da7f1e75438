"""gas.lel_high, gas.detector_fault and gas.detector_offline."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from streams.models import Event
from tests.fixtures.events import at, gas
from tests.streams.rules.support import Digest, digest, feed, make_engine

LEL = "gas.lel_high"
FAULT = "gas.detector_fault"
OFFLINE = "gas.detector_offline"


def lel(minutes: float, pct: float) -> Event:
    return gas(minutes, lel_pct=pct)


CASES: list[tuple[str, str, Sequence[Event], list[Digest]]] = [
    ("lel fires major", LEL, [lel(0, 5), lel(1, 30)], [(LEL, "firing", "major", at(1))]),
    (
        "lel escalates to critical once",
        LEL,
        [lel(0, 30), lel(1, 60), lel(2, 70), lel(3, 55)],
        [(LEL, "firing", "major", at(0)), (LEL, "firing", "critical", at(1))],
    ),
    (
        "lel resolves after 3 readings below 10, never de-escalates",
        LEL,
        [lel(0, 60), lel(1, 30), lel(2, 5), lel(3, 5), lel(4, 5), lel(5, 5)],
        [(LEL, "firing", "critical", at(0)), (LEL, "resolved", "critical", at(4))],
    ),
    (
        "lel hovering at 25 and at 10 does not flap",
        LEL,
        [lel(m, v) for m, v in enumerate([24.9, 25.1, 24.9, 25.1, 12, 9, 11, 9, 9, 10.5])],
        [(LEL, "firing", "major", at(1))],
    ),
    (
        "lel late alarm after resolution does not resurrect",
        LEL,
        [lel(0, 30), lel(1, 5), lel(2, 5), lel(3, 5), lel(1.5, 40)],
        [(LEL, "firing", "major", at(0)), (LEL, "resolved", "major", at(3))],
    ),
    (
        "lel reordered: an older alarm reading arriving after a newer calm one is ignored",
        LEL,
        [lel(2, 5), lel(1, 30), lel(3, 6)],
        [],
    ),
    (
        "lel late calm readings do not count towards the resolution",
        LEL,
        [lel(5, 30), lel(6, 5), lel(1, 5), lel(2, 5), lel(7, 5)],
        [(LEL, "firing", "major", at(5))],
    ),
    (
        "fault fires on fault, not again on tamper, resolves on ok",
        FAULT,
        [gas(0), gas(1, status="fault"), gas(2, status="tamper"), gas(3)],
        [(FAULT, "firing", "warning", at(1)), (FAULT, "resolved", "warning", at(3))],
    ),
    (
        "fault late fault reading after ok does not resurrect",
        FAULT,
        [gas(1, status="tamper"), gas(3), gas(2, status="tamper")],
        [(FAULT, "firing", "warning", at(1)), (FAULT, "resolved", "warning", at(3))],
    ),
    (
        "fault reordered ok older than the fault is ignored",
        FAULT,
        [gas(3, status="fault"), gas(2)],
        [(FAULT, "firing", "warning", at(3))],
    ),
]


@pytest.mark.parametrize(
    ("rule", "events", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_gas_rule(rule: str, events: Sequence[Event], expected: list[Digest]) -> None:
    assert digest(feed(make_engine(), events), rule) == expected


@pytest.mark.parametrize(
    ("rule", "events"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES]
)
def test_duplicate_delivery_changes_nothing(rule: str, events: Sequence[Event]) -> None:
    once = feed(make_engine(), events)
    twice = feed(make_engine(), [e for event in events for e in (event, event)])
    assert twice == once


def test_escalation_keeps_the_alert_id_and_carries_value_and_threshold() -> None:
    alerts = feed(make_engine(), [lel(0, 30), lel(1, 60)])
    assert [a.alert_id for a in alerts] == [f"{LEL}:gd-1:{int(at(0).timestamp() * 1000)}"] * 2
    assert [(a.value, a.threshold) for a in alerts] == [(30, 25), (60, 50)]
    assert alerts[0].entity_type == "gas_detector"
    assert (alerts[0].district, alerts[0].lat, alerts[0].lon) == ("Shinan", 36.06, 120.38)
    assert "30% LEL" in alerts[0].summary


def test_offline_fires_from_the_feed_watermark_and_clears_on_the_next_reading() -> None:
    engine = make_engine()
    # gd-2 keeps reporting; its event time moves the gas watermark (newest - 30 s)
    assert feed(engine, [gas(0), gas(0, detector_id="gd-2")]) == []
    assert feed(engine, [gas(m, detector_id="gd-2") for m in (1, 2, 3)]) == []
    fired = feed(engine, [gas(3.5, detector_id="gd-2")])  # watermark 3:00 = gd-1's due time
    assert digest(fired) == [(OFFLINE, "firing", "warning", at(3))]
    assert fired[0].entity_id == "gd-1"
    assert feed(engine, [gas(m, detector_id="gd-2") for m in (4, 5, 6)]) == []
    cleared = feed(engine, [gas(6.5)])
    assert digest(cleared) == [(OFFLINE, "resolved", "warning", at(6.5))]


def test_offline_fires_from_advance_only_once_due() -> None:
    engine = make_engine()
    feed(engine, [gas(0)])
    assert engine.advance(at(2, 59)) == []
    assert digest(engine.advance(at(3))) == [(OFFLINE, "firing", "warning", at(3))]
    assert engine.advance(at(10)) == []


def test_a_detector_that_keeps_reporting_never_goes_offline() -> None:
    engine = make_engine()
    alerts = feed(engine, [gas(m) for m in range(30)])
    alerts += engine.advance(at(31))  # 2 min after the last reading: not yet due
    assert alerts == []
    assert digest(engine.advance(at(32))) == [(OFFLINE, "firing", "warning", at(32))]


def test_late_reading_within_the_window_resolves_offline_not_before_it_started() -> None:
    engine = make_engine()
    feed(engine, [gas(0)])
    assert digest(engine.advance(at(3, 30))) == [(OFFLINE, "firing", "warning", at(3))]
    late = feed(engine, [gas(1)])  # due 4:00, after the watermark: it proves the device alive
    assert digest(late) == [(OFFLINE, "resolved", "warning", at(3))]


def test_reading_too_late_to_prove_the_device_online_does_not_flap() -> None:
    engine = make_engine()
    feed(engine, [gas(0)])
    engine.advance(at(5))
    assert feed(engine, [gas(2)]) == []  # its own due time (5:00) has passed already
    assert digest(feed(engine, [gas(6)])) == [(OFFLINE, "resolved", "warning", at(6))]


def test_offline_after_a_duplicate_reading_counts_from_the_first() -> None:
    engine = make_engine()
    feed(engine, [gas(0), gas(0)])
    assert digest(engine.advance(at(3))) == [(OFFLINE, "firing", "warning", at(3))]
