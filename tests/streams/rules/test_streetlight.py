"""streetlight.dark, streetlight.day_burning, streetlight.circuit_outage and
streetlight.lit_rate_low."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from streams.models import Event, StreetlightStatus
from tests.fixtures.events import DAY, at, dark_light, light
from tests.fixtures.events import circuit_lights as circuit
from tests.fixtures.events import district_lights as district
from tests.streams.rules.support import Digest, JsonStore, digest, feed, make_engine

DARK = "streetlight.dark"
BURN = "streetlight.day_burning"
OUTAGE = "streetlight.circuit_outage"
LIT_RATE = "streetlight.lit_rate_low"

DAWN = datetime(2026, 11, 23, 5, 50, tzinfo=UTC)


def day_on(minutes: float, **kw: Any) -> StreetlightStatus:
    return light(minutes, base=DAY, **kw)


def day_off(minutes: float) -> StreetlightStatus:
    return light(minutes, base=DAY, power_state="off", power_w=0.0)


CASES: list[tuple[str, str, Sequence[Event], list[Digest]]] = [
    (
        "dark fires when off at night and resolves when lit",
        DARK,
        [light(0), dark_light(5), dark_light(10), light(15)],
        [(DARK, "firing", "minor", at(5)), (DARK, "resolved", "minor", at(15))],
    ),
    (
        "dark fires on a fault even when powered",
        DARK,
        [light(0, fault="lamp")],
        [(DARK, "firing", "minor", at(0))],
    ),
    ("dark not judged in daylight", DARK, [day_off(0), day_off(5)], []),
    (
        "dark resolves at dawn",
        DARK,
        [dark_light(0, base=DAWN), dark_light(15, base=DAWN)],
        [
            (DARK, "firing", "minor", at(0, base=DAWN)),
            (DARK, "resolved", "minor", at(15, base=DAWN)),
        ],
    ),
    (
        "dark late off report after relighting does not resurrect",
        DARK,
        [dark_light(0), light(10), dark_light(5)],
        [(DARK, "firing", "minor", at(0)), (DARK, "resolved", "minor", at(10))],
    ),
    (
        "dark reordered: an older lit report cannot resolve",
        DARK,
        [dark_light(10), light(5), dark_light(15)],
        [(DARK, "firing", "minor", at(10))],
    ),
    (
        "day burning fires after more than 30 min and resolves when off",
        BURN,
        [day_on(0), day_on(15), day_on(30), day_on(35), day_on(40), day_off(45)],
        [
            (BURN, "firing", "info", at(35, base=DAY)),
            (BURN, "resolved", "info", at(45, base=DAY)),
        ],
    ),
    (
        "day burning counts dim",
        BURN,
        [day_on(m, power_state="dim") for m in (0, 20, 31)],
        [(BURN, "firing", "info", at(31, base=DAY))],
    ),
    (
        "day burning: switching off restarts the duration",
        BURN,
        [day_on(0), day_on(20), day_off(25), day_on(26), day_on(50)],
        [],
    ),
    (
        "day burning reordered: a late earlier on report does not start the duration early",
        BURN,
        [day_on(10), day_on(0), day_on(35), day_on(45)],
        [(BURN, "firing", "info", at(45, base=DAY))],
    ),
    (
        "day burning: late report after switch-off does not resurrect",
        BURN,
        [day_on(0), day_on(31), day_off(40), day_on(38)],
        [
            (BURN, "firing", "info", at(31, base=DAY)),
            (BURN, "resolved", "info", at(40, base=DAY)),
        ],
    ),
    ("day burning: lights on at night are fine", BURN, [light(m) for m in range(0, 60, 5)], []),
]


@pytest.mark.parametrize(
    ("rule", "events", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_light_rule(rule: str, events: Sequence[Event], expected: list[Digest]) -> None:
    assert digest(feed(make_engine(), events), rule) == expected


@pytest.mark.parametrize(("events"), [c[2] for c in CASES], ids=[c[0] for c in CASES])
def test_duplicate_delivery_changes_nothing(events: Sequence[Event]) -> None:
    assert feed(make_engine(), [e for ev in events for e in (ev, ev)]) == feed(
        make_engine(), events
    )


# circuits are judged once known for 5 min: most cases start with a lit round at 0
OUTAGE_CASES: list[tuple[str, Sequence[Event], list[Digest]]] = [
    (
        "fires at half the circuit dark and resolves when restored",
        [*circuit(0, set()), *circuit(5, {0, 1, 2, 3, 4}), *circuit(10, set())],
        [(OUTAGE, "firing", "major", at(5)), (OUTAGE, "resolved", "major", at(10))],
    ),
    ("below half does not fire", [*circuit(0, set()), *circuit(5, {0, 1, 2, 3})], []),
    (
        "hovering around half does not flap (clears below 30 %)",
        [
            *circuit(0, set()),
            *circuit(5, {0, 1, 2, 3, 4}),
            *circuit(10, {0, 1, 2, 3}),
            *circuit(15, {0, 1, 2, 3, 4}),
            *circuit(20, {0, 1, 2}),
            *circuit(25, {0, 1}),
        ],
        [(OUTAGE, "firing", "major", at(5)), (OUTAGE, "resolved", "major", at(25))],
    ),
    (
        "a circuit with fewer than 3 known lights is not judged",
        [*circuit(0, set(), size=2), *circuit(5, {0, 1}, size=2)],
        [],
    ),
    (
        "a new circuit is not judged on its first few lights",
        [*circuit(0, {0, 1, 2, 3, 4, 5}), *circuit(4, {0, 1, 2, 3, 4, 5})],
        [],
    ),
    (
        "a dark circuit at start-up fires once it has settled",
        [*circuit(0, {0, 1, 2, 3, 4}), *circuit(5, {0, 1, 2, 3, 4})],
        [(OUTAGE, "firing", "major", at(5))],
    ),
    (
        "late dark reports from relit lights do not resurrect",
        [
            *circuit(0, set()),
            *circuit(5, {0, 1, 2, 3, 4}),
            *circuit(10, set()),
            *circuit(7, {0, 1, 2, 3, 4}),
        ],
        [(OUTAGE, "firing", "major", at(5)), (OUTAGE, "resolved", "major", at(10))],
    ),
]


@pytest.mark.parametrize(
    ("events", "expected"), [c[1:] for c in OUTAGE_CASES], ids=[c[0] for c in OUTAGE_CASES]
)
def test_circuit_outage(events: Sequence[Event], expected: list[Digest]) -> None:
    alerts = feed(make_engine(), events)
    assert digest(alerts, OUTAGE) == expected
    for alert in alerts:
        if alert.rule == OUTAGE:
            assert (alert.entity_type, alert.entity_id, alert.lat) == ("circuit", "c-1", None)


def test_circuit_outage_tracks_a_light_moving_to_another_circuit() -> None:
    engine = make_engine()
    feed(engine, [*circuit(0, set()), *circuit(5, {0, 1, 2, 3, 4})])
    # three dark lights are re-wired onto a new circuit c-2: c-1 keeps 2 of 7 dark
    moved = [dark_light(10, light_id=f"sl-{i}", circuit_id="c-2") for i in (0, 1, 2)]
    assert digest(feed(engine, moved), OUTAGE) == [(OUTAGE, "resolved", "major", at(10))]
    again = [dark_light(15, light_id=f"sl-{i}", circuit_id="c-2") for i in (0, 1, 2)]
    fired = feed(engine, again)
    assert digest(fired, OUTAGE) == [(OUTAGE, "firing", "major", at(15))]
    assert [a.entity_id for a in fired if a.rule == OUTAGE] == ["c-2"]


def test_steady_reports_do_not_rewrite_the_circuit() -> None:
    engine = make_engine()
    feed(engine, [*circuit(0, set()), *circuit(5, set())])
    store = engine.store
    assert isinstance(store, JsonStore)
    before = store.writes
    feed(engine, [light(10, light_id="sl-3")])
    # the light, its district and the feed watermark; not the circuit
    assert store.writes - before == 3


LIT_CASES: list[tuple[str, Sequence[Event], list[Digest]]] = [
    (
        "fires after 10 min below 98 % and resolves at 98.5 %",
        [*district(0, {0, 1}), *district(5, {0, 1}), *district(10, {0, 1}), *district(15, set())],
        [(LIT_RATE, "firing", "warning", at(10)), (LIT_RATE, "resolved", "warning", at(15))],
    ),
    (
        "hovering: 98 % exactly keeps an open alert open",
        [*district(0, {0, 1}), *district(10, {0, 1}), *district(15, {0}), *district(20, {0, 1})],
        [(LIT_RATE, "firing", "warning", at(10))],
    ),
    (
        "a shorter dip does not fire",
        [*district(0, {0, 1}), *district(5, {0, 1}), *district(9, set()), *district(15, {0})],
        [],
    ),
    (
        "not judged in daylight",
        [ev for m in (0, 10, 20) for ev in district(m, set(range(50)), base=DAY)],
        [],
    ),
    (
        "resolved at dawn",
        [ev for m in (-5, 5, 15) for ev in district(m, {0, 1}, base=DAWN)],
        [
            (LIT_RATE, "firing", "warning", at(5, base=DAWN)),
            (LIT_RATE, "resolved", "warning", at(15, base=DAWN)),
        ],
    ),
    (
        "late dark reports do not lower the rate again",
        [*district(0, {0, 1}), *district(10, set()), *district(5, {0, 1}), *district(20, set())],
        [],
    ),
]


@pytest.mark.parametrize(
    ("events", "expected"), [c[1:] for c in LIT_CASES], ids=[c[0] for c in LIT_CASES]
)
def test_lit_rate_low(events: Sequence[Event], expected: list[Digest]) -> None:
    alerts = feed(make_engine(), events)
    assert digest(alerts, LIT_RATE) == expected
    for alert in alerts:
        if alert.rule == LIT_RATE:
            assert (alert.entity_type, alert.entity_id, alert.district) == (
                "district",
                "Shinan",
                "Shinan",
            )


def test_lit_rate_alert_reports_the_rate_and_threshold() -> None:
    alerts = feed(make_engine(), [*district(0, {0, 1}), *district(10, {0, 1})])
    (fired,) = [a for a in alerts if a.rule == LIT_RATE]
    assert (fired.value, fired.threshold) == (0.96, 0.98)
    assert "48 of 50" in fired.summary
