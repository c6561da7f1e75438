"""heating.indoor_cold, heating.pressure_drop, heating.supply_temp_low and
heating.station_offline."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from streams.models import Event, HeatingStationReading
from tests.fixtures.events import at, station
from tests.streams.rules.support import Digest, digest, feed, make_engine

COLD = "heating.indoor_cold"
PRESSURE = "heating.pressure_drop"
SUPPLY = "heating.supply_temp_low"
OFFLINE = "heating.station_offline"


def indoor(minutes: float, temp: float) -> HeatingStationReading:
    return station(minutes, indoor_temp_c=temp)


def pressure(minutes: float, mpa: float) -> HeatingStationReading:
    return station(minutes, supply_pressure_mpa=mpa)


def supply(minutes: float, temp: float) -> HeatingStationReading:
    # outdoors -5 °C: the fake curve asks for 75 °C
    return station(minutes, supply_temp_c=temp)


CASES: list[tuple[str, str, Sequence[Event], list[Digest]]] = [
    (
        "indoor cold fires after 30 min below 18 and resolves at 18.5",
        COLD,
        [indoor(m, 17) for m in (0, 10, 20, 29, 30)] + [indoor(31, 18.2), indoor(32, 18.6)],
        [(COLD, "firing", "major", at(30)), (COLD, "resolved", "major", at(32))],
    ),
    (
        "indoor cold: a warm reading restarts the duration",
        COLD,
        [indoor(0, 17), indoor(20, 18), indoor(21, 17), indoor(50, 17), indoor(51, 17)],
        [(COLD, "firing", "major", at(51))],
    ),
    (
        "indoor cold hovering at 18 does not flap",
        COLD,
        [indoor(m, 17.9 if m % 10 else 18.1) for m in range(0, 120, 5)],
        [],
    ),
    (
        "indoor cold: open alert hovering between 18 and 18.5 stays open",
        COLD,
        [indoor(m, 17) for m in (0, 30)] + [indoor(m, 18.1 + (m % 2) * 0.3) for m in range(31, 40)],
        [(COLD, "firing", "major", at(30))],
    ),
    (
        "indoor cold reordered: a late earlier reading does not start the duration early",
        COLD,
        [indoor(20, 17), indoor(0, 17), indoor(40, 17), indoor(50, 17)],
        [(COLD, "firing", "major", at(50))],
    ),
    (
        "indoor cold: late cold reading after resolution does not resurrect",
        COLD,
        [indoor(0, 17), indoor(30, 17), indoor(40, 19), indoor(35, 17)],
        [(COLD, "firing", "major", at(30)), (COLD, "resolved", "major", at(40))],
    ),
    (
        "pressure drop fires on a fall of more than 0.1 MPa in 5 min, resolves on recovery",
        PRESSURE,
        [
            pressure(0, 0.6),
            pressure(1, 0.6),
            pressure(2, 0.45),
            pressure(3, 0.5),
            pressure(4, 0.58),
        ],
        [(PRESSURE, "firing", "critical", at(2)), (PRESSURE, "resolved", "critical", at(4))],
    ),
    (
        "pressure drop: a slow decline over more than 5 min does not fire",
        PRESSURE,
        [pressure(m, 0.6 - m * 0.0175) for m in range(0, 13)],
        [],
    ),
    (
        "pressure drop of exactly 0.1 MPa, hovering, does not fire",
        PRESSURE,
        [pressure(m, 0.5 if m % 2 else 0.6) for m in range(10)],
        [],
    ),
    (
        "pressure drop: partial recovery keeps the alert open (hysteresis)",
        PRESSURE,
        [pressure(0, 0.6), pressure(1, 0.4), pressure(2, 0.56), pressure(3, 0.45)],
        [(PRESSURE, "firing", "critical", at(1))],
    ),
    (
        "pressure drop: late high reading does not manufacture a drop",
        PRESSURE,
        [pressure(0, 0.5), pressure(2, 0.5), pressure(1, 0.7), pressure(3, 0.5)],
        [],
    ),
    (
        "pressure drop: late low reading after recovery does not resurrect",
        PRESSURE,
        [pressure(0, 0.6), pressure(2, 0.4), pressure(4, 0.6), pressure(3, 0.4)],
        [(PRESSURE, "firing", "critical", at(2)), (PRESSURE, "resolved", "critical", at(4))],
    ),
    (
        "supply temp below the curve fires and resolves 2 °C above it",
        SUPPLY,
        [supply(0, 76), supply(1, 74), supply(2, 75.5), supply(3, 77)],
        [(SUPPLY, "firing", "minor", at(1)), (SUPPLY, "resolved", "minor", at(3))],
    ),
    (
        "supply temp hovering at the curve does not flap",
        SUPPLY,
        [supply(m, 74.9 if m % 2 else 75.1) for m in range(10)],
        [(SUPPLY, "firing", "minor", at(1))],
    ),
    (
        "supply temp follows the outdoor temperature",
        SUPPLY,
        [station(0, supply_temp_c=74, outdoor_temp_c=0), station(1, supply_temp_c=74)],
        [(SUPPLY, "firing", "minor", at(1))],
    ),
    (
        "supply temp: late low reading after resolution does not resurrect",
        SUPPLY,
        [supply(0, 70), supply(2, 80), supply(1, 70)],
        [(SUPPLY, "firing", "minor", at(0)), (SUPPLY, "resolved", "minor", at(2))],
    ),
]


@pytest.mark.parametrize(
    ("rule", "events", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_heating_rule(rule: str, events: Sequence[Event], expected: list[Digest]) -> None:
    assert digest(feed(make_engine(), events), rule) == expected


@pytest.mark.parametrize("events", [c[2] for c in CASES], ids=[c[0] for c in CASES])
def test_duplicate_delivery_changes_nothing(events: Sequence[Event]) -> None:
    assert feed(make_engine(), [e for ev in events for e in (ev, ev)]) == feed(
        make_engine(), events
    )


def test_pressure_drop_alert_names_the_drop() -> None:
    (alert,) = feed(make_engine(), [pressure(0, 0.6), pressure(1, 0.35)])
    assert (alert.value, alert.threshold, alert.entity_type) == (0.25, 0.1, "heating_station")
    assert "0.6 -> 0.35 MPa" in alert.summary


def test_station_offline_fires_after_5_min_of_event_time_and_clears() -> None:
    engine = make_engine()
    feed(engine, [station(0), station(0, station_id="hs-2")])
    # hs-2 moves the heating watermark to 5:00 at 5:30 (30 s allowed lateness)
    assert feed(engine, [station(m, station_id="hs-2") for m in (1, 2, 3, 4, 5)]) == []
    fired = feed(engine, [station(5.5, station_id="hs-2")])
    assert digest(fired) == [(OFFLINE, "firing", "warning", at(5))]
    assert (fired[0].entity_id, fired[0].entity_type) == ("hs-1", "heating_station")
    assert digest(feed(engine, [station(7)])) == [(OFFLINE, "resolved", "warning", at(7))]


def test_station_offline_from_advance_fires_once() -> None:
    engine = make_engine()
    feed(engine, [station(0)])
    assert engine.advance(at(4, 59)) == []
    assert digest(engine.advance(at(6))) == [(OFFLINE, "firing", "warning", at(5))]
    assert engine.advance(at(20)) == []
