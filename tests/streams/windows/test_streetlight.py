"""Streetlight snapshot values; every case reads the window [T0, T0 + 1 min) by night
unless it says otherwise."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from streams.models import Event
from tests.fixtures.rollup_events import DAY, NIGHT, T0, FakeCity, at, gas, light, pick, roll

MIXED: list[Event] = [
    light("l1", at(1), "on"),
    light("l2", at(2), "dim", power_w=40),
    light("l3", at(3), "on", fault="lamp", power_w=0),
    light("l4", at(4), "off", power_w=0),
    light("l5", at(-200), "on"),  # reported 200 s ago: still in the snapshot
]

CASES: list[tuple[str, FakeCity, list[Event], dict[str, Any]]] = [
    (
        "one lit light",
        NIGHT,
        [light("l1", at(10))],
        dict(
            readings=1,
            lights_reporting=1,
            lights_expected_lit=1,
            lights_lit=1,
            lit_rate=1.0,
            power_w_sum=100.0,
        ),
    ),
    (
        "on and dim are lit; faulty and off are not",
        NIGHT,
        MIXED,
        dict(
            readings=4,
            lights_reporting=5,
            lights_expected_lit=5,
            lights_lit=3,
            lit_rate=0.6,
            power_w_sum=240.0,
        ),
    ),
    (
        "by day nothing is expected lit",
        DAY,
        MIXED,
        dict(
            readings=4,
            lights_reporting=5,
            lights_expected_lit=0,
            lights_lit=0,
            lit_rate=None,
            power_w_sum=240.0,
        ),
    ),
    (
        "a status exactly 15 min before the window end is fresh",
        NIGHT,
        [light("l1", at(60 - 900)), light("l2", at(5), "off")],
        dict(readings=1, lights_reporting=2, lights_lit=1, lit_rate=0.5),
    ),
    (
        "an older status is stale",
        NIGHT,
        [light("l1", at(60 - 900.001)), light("l2", at(5), "off")],
        dict(readings=1, lights_reporting=1, lights_lit=0, lit_rate=0.0),
    ),
    (
        "only stale lights: emitted, nothing reporting, no rate",
        NIGHT,
        [light("l1", at(-1000)), gas("g1", at(30))],
        dict(
            readings=0,
            lights_reporting=0,
            lights_expected_lit=0,
            lights_lit=0,
            lit_rate=None,
            power_w_sum=0.0,
        ),
    ),
    (
        "the last status before the window end wins",
        NIGHT,
        [light("l1", at(-300), "on"), light("l1", at(10), "off", power_w=0)],
        dict(readings=1, lights_reporting=1, lights_lit=0, power_w_sum=0.0),
    ),
    (
        "a status at the window end belongs to the next window",
        NIGHT,
        [light("l1", at(-300), "off", power_w=0), light("l1", at(60), "on")],
        dict(readings=0, lights_reporting=1, lights_lit=0, power_w_sum=0.0),
    ),
]


@pytest.mark.parametrize(
    ("city", "events", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_streetlight_values(city: FakeCity, events: list[Event], expected: dict[str, Any]) -> None:
    rollup = pick(roll(events, city), "streetlight")
    assert rollup is not None
    assert {k: getattr(rollup, k) for k in expected} == expected
    assert rollup.readings is not None and rollup.detectors_known is None


@pytest.mark.parametrize(
    ("dark_from", "night"),
    [
        (at(59.999), True),  # dark at the window's last millisecond: a night window
        (at(60), False),  # dusk exactly at the window end: still a day window
    ],
)
def test_darkness_is_probed_at_the_last_millisecond(dark_from: Any, night: bool) -> None:
    city = FakeCity(dark_from, dark_from + timedelta(hours=12))
    rollup = pick(roll([light("l1", at(5)), light("l2", at(6), "off")], city), "streetlight")
    assert rollup is not None
    assert (rollup.lights_expected_lit, rollup.lights_lit, rollup.lit_rate) == (
        (2, 1, 0.5) if night else (0, 0, None)
    )


def test_snapshot_for_every_window_once_a_district_has_lights() -> None:
    events = [
        gas("g1", at(-300)),  # earlier data of another feed opens no streetlight windows
        light("l1", at(-150)),
        light("x1", at(-30), district="d2"),
        gas("g1", at(70)),  # the latest event time: windows up to [T0+1m, T0+2m)
    ]
    got = [(r.bucket, r.district, r.readings) for r in roll(events) if r.feed == "streetlight"]
    assert got == [
        (at(-180), "d1", 1),
        (at(-120), "d1", 0),
        (at(-60), "d1", 0),
        (at(-60), "d2", 1),
        (T0, "d1", 0),
        (T0, "d2", 0),
        (at(60), "d1", 0),
        (at(60), "d2", 0),
    ]


def test_windows_past_the_latest_event_are_skipped_not_backfilled() -> None:
    from streams.windows import RollupWindows

    windows = RollupWindows(NIGHT)
    windows.add("streetlight.status.v1", light("l1", at(5)))
    first = windows.close_until(T0 + timedelta(hours=1))
    assert [r.bucket for r in first] == [T0]
    windows.add("streetlight.status.v1", light("l1", T0 + timedelta(hours=1, seconds=5)))
    later = windows.close_until(T0 + timedelta(hours=2))
    assert [r.bucket for r in later] == [T0 + timedelta(hours=1)]


def test_an_event_time_jump_emits_a_bounded_number_of_windows() -> None:
    """A replay (or device) jumping 32 days ahead made ~139k empty 1-minute
    roll-ups (issue 12): each district's snapshots stop 30 min after its newest
    status, and the aggregator steps over the gap instead of through it."""
    from streams.windows import SNAPSHOT_EMIT_WITHIN, RollupWindows

    windows = RollupWindows(NIGHT)
    out = []
    jump = timedelta(days=32)
    events = [
        light("l1", at(5)),
        light("x1", at(6), district="d2"),
        light("l1", at(65)),
        light("l1", T0 + jump + timedelta(seconds=5)),
        light("l1", T0 + jump + timedelta(seconds=70)),
    ]
    for event in events:
        windows.add("streetlight.status.v1", event)
        out += windows.close_ready()
    out += windows.flush()
    bound = SNAPSHOT_EMIT_WITHIN // timedelta(minutes=1)
    before = [r for r in out if r.bucket < T0 + jump]
    after = [r for r in out if r.bucket >= T0 + jump]
    # d1: its two windows with data, then up to 30 empty minutes; d2 likewise from one
    assert len([r for r in before if r.district == "d1"]) == 2 + bound - 1
    assert len([r for r in before if r.district == "d2"]) == bound
    assert max(r.bucket for r in before) < T0 + timedelta(minutes=bound + 1)
    assert [(r.bucket, r.district, r.readings) for r in after] == [
        (T0 + jump, "d1", 1),
        (T0 + jump + timedelta(minutes=1), "d1", 1),
    ]
    assert windows.open_windows == 0


def test_a_silent_district_shows_nothing_reporting_then_stops() -> None:
    """While another district keeps reporting, a silent one reads 0 reporting once
    its statuses are 15 min old, and has no windows once they are 30 min old."""
    events: list[Event] = [light("x1", at(5), district="d2")]
    events += [light("l1", at(60 * m + 5)) for m in range(45)]
    rollups = roll(events)
    d2 = [(r.bucket, r.lights_reporting) for r in rollups if r.district == "d2"]
    assert d2[0] == (T0, 1)
    assert d2[14] == (at(14 * 60), 1)  # ends 15 min after the status: still fresh
    assert d2[15] == (at(15 * 60), 0)
    assert d2[-1] == (at(29 * 60), 0)  # the last window within 30 min
    assert len(d2) == 30
    assert len([r for r in rollups if r.district == "d1"]) == 45
