"""Gas roll-up values, one table row per case; every case reads the window [T0, T0 + 1 min)."""

from __future__ import annotations

from typing import Any

import pytest

from streams.models import Event
from tests.fixtures.rollup_events import T0, at, gas, pick, roll

CASES: list[tuple[str, list[Event], dict[str, Any]]] = [
    (
        "one reading",
        [gas("g1", at(10), lel=3.5)],
        dict(
            readings=1,
            detectors_reporting=1,
            detectors_known=1,
            detectors_online=1,
            detector_online_rate=1.0,
            lel_max_pct=3.5,
            detectors_alarming=0,
        ),
    ),
    (
        "alarm level is inclusive",
        [gas("g1", at(1), lel=25.0), gas("g2", at(2), lel=24.99)],
        dict(readings=2, detectors_reporting=2, lel_max_pct=25.0, detectors_alarming=1),
    ),
    (
        "a detector reporting twice counts once",
        [gas("g1", at(0), lel=30.0), gas("g1", at(30), lel=60.0), gas("g2", at(59.999), lel=1.0)],
        dict(readings=3, detectors_reporting=2, lel_max_pct=60.0, detectors_alarming=1),
    ),
    (
        "a detector silent for more than 180 s is known but offline",
        [gas("g1", at(-120.001)), gas("g2", at(5))],
        dict(
            readings=1,
            detectors_reporting=1,
            detectors_known=2,
            detectors_online=1,
            detector_online_rate=0.5,
        ),
    ),
    (
        "online reaches back exactly 180 s from the window end",
        [gas("g1", at(-120)), gas("g2", at(5))],
        dict(detectors_known=2, detectors_online=2, detector_online_rate=1.0),
    ),
    (
        "a detector first seen after the window end is not yet known",
        [gas("g1", at(5)), gas("g2", at(60)), gas("g1", at(65))],
        dict(readings=1, detectors_known=1, detectors_online=1),
    ),
    (
        "other districts do not count",
        [gas("g1", at(5)), gas("x1", at(6), lel=80.0, district="d2")],
        dict(readings=1, detectors_known=1, lel_max_pct=0.0, detectors_alarming=0),
    ),
]


@pytest.mark.parametrize(("events", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_gas_values(events: list[Event], expected: dict[str, Any]) -> None:
    rollup = pick(roll(events), "gas")
    assert rollup is not None
    assert {k: getattr(rollup, k) for k in expected} == expected
    # Other feeds' fields stay null.
    assert rollup.lights_reporting is None and rollup.km_travelled is None


def test_gas_window_without_readings_is_not_emitted() -> None:
    rollups = roll([gas("g1", at(-60)), gas("g1", at(60))])
    assert [r.bucket for r in rollups] == [at(-60), at(60)]
    assert pick(rollups, "gas", T0) is None


def test_partial_windows_say_until_which_window_end_each_online_detector_stays_online() -> None:
    """`online_ends` (kept for partial roll-ups only): the district stage counts a
    partition's online detectors in minutes it has no reading of the district in."""
    from streams.rules.timeutil import to_ms
    from streams.windows.gas import GasAggregator

    agg = GasAggregator()
    assert agg.online_ends is None
    agg.add(gas("g0", at(-200)))  # known, offline at T0 + 1 min
    agg.add(gas("g1", at(-100)))
    agg.close_until(T0, T0)
    assert agg.online_ends is None  # not kept unless asked
    agg.track_online_ends()
    for event in (gas("g2", at(10)), gas("g2", at(59)), gas("g3", at(61))):
        agg.add(event)
    (rollup,) = agg.close_until(at(60), at(120))
    assert (rollup.detectors_known, rollup.detectors_online) == (3, 2)
    # online while the window end is within 180 s after its last heartbeat before
    # T0 + 1 min: g1 (-100 s) until T0 + 1 min, g2 (59 s) until T0 + 3 min
    assert agg.take_online_ends() == {("d1", T0): {to_ms(at(60)): 1, to_ms(at(180)): 1}}
    assert agg.take_online_ends() == {}
