"""Fleet roll-up values, one table row per case; every case reads the window [T0, T0 + 1 min)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from streams.models import Event
from streams.windows import EARTH_RADIUS_KM
from tests.fixtures.rollup_events import at, fix, pick, roll

# 0.01 degree of latitude along a meridian.
STEP_KM = EARTH_RADIUS_KM * math.radians(0.01)
NO_LOAD = dict(
    load_kitchen_kg=0.0, load_recyclable_kg=0.0, load_other_kg=0.0, load_hazardous_kg=0.0
)

CASES: list[tuple[str, list[Event], dict[str, Any]]] = [
    (
        "one fix: active, nothing travelled",
        [fix("t1", at(5))],
        dict(readings=1, trucks_active=1, km_travelled=0.0, **NO_LOAD),
    ),
    (
        "consecutive fixes inside the window",
        [fix("t1", at(0), lat=36.00), fix("t1", at(10), lat=36.01), fix("t1", at(20), lat=36.03)],
        dict(readings=3, trucks_active=1, km_travelled=3 * STEP_KM),
    ),
    (
        "ignition off everywhere: not active, still travelled",
        [fix("t1", at(0), ignition=False), fix("t1", at(10), lat=36.01, ignition=False)],
        dict(trucks_active=0, km_travelled=STEP_KM),
    ),
    (
        "first fix joins its predecessor 60 s back",
        [fix("t1", at(-50), lat=36.00), fix("t1", at(10), lat=36.01)],
        dict(readings=1, km_travelled=STEP_KM),
    ),
    (
        "but not one further back",
        [fix("t1", at(-50.001), lat=36.00), fix("t1", at(10), lat=36.01)],
        dict(readings=1, km_travelled=0.0),
    ),
    (
        "only the immediate predecessor counts",
        [fix("t1", at(-90), lat=35.0), fix("t1", at(-70), lat=36.00), fix("t1", at(5), lat=36.01)],
        dict(km_travelled=0.0),
    ),
    (
        "load collected: positive increases, by the later fix's kind",
        [
            fix("t1", at(0), load=0),
            fix("t1", at(10), load=100),
            fix("t1", at(20), load=250),
            fix("t1", at(30), load=200),  # tipping: no negative credit
            fix("t1", at(40), load=300, kind="recyclable"),
            fix("t1", at(50), load=320, kind="hazardous"),
        ],
        dict(
            load_kitchen_kg=250.0,
            load_recyclable_kg=100.0,
            load_other_kg=0.0,
            load_hazardous_kg=20.0,
        ),
    ),
    (
        "load gained across the window start counts with its step",
        [fix("t1", at(-5), load=100), fix("t1", at(5), load=180, kind="other")],
        dict(load_other_kg=80.0, load_kitchen_kg=0.0),
    ),
    (
        "trucks are separate tracks",
        [
            fix("t1", at(0), lat=36.00),
            fix("t2", at(5), lat=37.00),
            fix("t1", at(10), lat=36.01),
            fix("t2", at(15), lat=37.02, ignition=False),
        ],
        dict(readings=4, trucks_active=2, km_travelled=3 * STEP_KM),
    ),
]


@pytest.mark.parametrize(("events", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_fleet_values(events: list[Event], expected: dict[str, Any]) -> None:
    rollup = pick(roll(events), "fleet")
    assert rollup is not None
    assert {k: getattr(rollup, k) for k in expected} == pytest.approx(expected, rel=1e-9)
    assert rollup.lit_rate is None and rollup.stations_warm is None


def test_a_step_across_a_district_boundary_belongs_to_the_later_fix() -> None:
    rollups = roll(
        [
            fix("t1", at(0), lat=36.00, load=0),
            fix("t1", at(10), lat=36.01, load=50, district="d2"),
            fix("t1", at(20), lat=36.02, load=70, district="d2"),
        ]
    )
    d1, d2 = pick(rollups, "fleet"), pick(rollups, "fleet", district="d2")
    assert d1 is not None and d2 is not None
    assert (d1.readings, d1.km_travelled, d1.load_kitchen_kg) == (1, 0.0, 0.0)
    assert d2.readings == 2
    assert d2.km_travelled == pytest.approx(2 * STEP_KM)
    assert d2.load_kitchen_kg == 70.0
