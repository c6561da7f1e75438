"""Heating roll-up values, one table row per case; every case reads the window [T0, T0 + 1 min)."""

from __future__ import annotations

from typing import Any

import pytest

from streams.models import Event
from tests.fixtures.rollup_events import at, heat, pick, roll

CASES: list[tuple[str, list[Event], dict[str, Any]]] = [
    (
        "sums, means and minimum",
        [
            heat("s1", at(0), supply=70, ret=40, indoor=21),
            heat("s2", at(30), supply=80, ret=50, indoor=19.5),
        ],
        dict(
            readings=2,
            stations_reporting=2,
            supply_temp_sum_c=150.0,
            return_temp_sum_c=90.0,
            supply_temp_mean_c=75.0,
            return_temp_mean_c=45.0,
            indoor_temp_min_c=19.5,
            stations_warm=2,
            warm_share=1.0,
        ),
    ),
    (
        "18 °C is warm, below is not",
        [heat("s1", at(0), indoor=18.0), heat("s2", at(1), indoor=17.99)],
        dict(stations_reporting=2, indoor_temp_min_c=17.99, stations_warm=1, warm_share=0.5),
    ),
    (
        "one cold reading makes the station not warm",
        [
            heat("s1", at(0), indoor=20),
            heat("s1", at(20), indoor=17),
            heat("s1", at(40), indoor=20),
        ],
        dict(readings=3, stations_reporting=1, stations_warm=0, warm_share=0.0),
    ),
    (
        "means are over readings, not stations",
        [heat("s1", at(0), supply=60), heat("s1", at(30), supply=90), heat("s2", at(5), supply=30)],
        dict(readings=3, stations_reporting=2, supply_temp_sum_c=180.0, supply_temp_mean_c=60.0),
    ),
    (
        "a cold reading in another window does not count",
        [heat("s1", at(-1), indoor=10), heat("s1", at(0), indoor=20), heat("s1", at(60), indoor=5)],
        dict(readings=1, stations_warm=1, indoor_temp_min_c=20.0),
    ),
]


@pytest.mark.parametrize(("events", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_heating_values(events: list[Event], expected: dict[str, Any]) -> None:
    rollup = pick(roll(events), "heating")
    assert rollup is not None
    assert {k: getattr(rollup, k) for k in expected} == pytest.approx(expected)
    assert rollup.detectors_reporting is None and rollup.lit_rate is None
