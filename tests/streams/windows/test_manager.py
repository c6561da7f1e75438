"""`RollupWindows`: window assignment, closing once, lateness, duplicates, order."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest

from streams import topics
from streams.models import Event, Rollup
from streams.windows import RollupWindows, floor_to_window
from tests.fixtures.rollup_compare import rollup_differences
from tests.fixtures.rollup_events import (
    NIGHT,
    T0,
    at,
    fix,
    gas,
    heat,
    light,
    pick,
    roll,
    topic_of,
)


def windows_with(*events: Event, lateness: timedelta = timedelta(seconds=10)) -> RollupWindows:
    windows = RollupWindows(NIGHT, allowed_lateness=lateness)
    for event in events:
        windows.add(topic_of(event), event)
    return windows


@pytest.mark.parametrize(
    ("ts", "bucket"),
    [
        (T0, T0),  # exactly on the minute: opens the window
        (T0 - timedelta(microseconds=1), at(-60)),
        (at(59.999999), T0),
        (at(60), at(60)),
        (datetime(1970, 1, 1, 0, 0, 59, tzinfo=T0.tzinfo), datetime(1970, 1, 1, tzinfo=T0.tzinfo)),
    ],
)
def test_window_assignment(ts: datetime, bucket: datetime) -> None:
    assert floor_to_window(ts) == bucket
    [rollup] = roll([gas("g1", ts)])
    assert (rollup.bucket, rollup.bucket_end) == (bucket, bucket + timedelta(minutes=1))


def test_floor_to_window_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        floor_to_window(datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("watermark", "emitted"),
    [
        (at(59.999), []),
        (at(60), [T0]),  # a window closes when the watermark reaches its end
        (at(119.999), [T0]),
        (at(120), [T0, at(60)]),
    ],
)
def test_close_until_emits_windows_ending_at_or_before_the_watermark(
    watermark: datetime, emitted: list[datetime]
) -> None:
    windows = windows_with(gas("g1", at(10)), gas("g1", at(70)), gas("g1", at(130)))
    assert [r.bucket for r in windows.close_until(watermark)] == emitted


def test_each_window_is_emitted_exactly_once() -> None:
    windows = windows_with(gas("g1", at(10)), heat("s1", at(20)), gas("g1", at(70)))
    first = windows.close_until(at(60))
    assert [(r.feed, r.bucket) for r in first] == [("gas", T0), ("heating", T0)]
    assert windows.close_until(at(60)) == []
    assert windows.close_until(at(30)) == []  # a watermark going back is a no-op
    assert [(r.feed, r.bucket) for r in windows.close_until(at(120))] == [("gas", at(60))]
    assert windows.close_until(at(600)) == []
    assert windows.open_windows == 0


def test_output_is_sorted_by_bucket_feed_district() -> None:
    events: list[Event] = [
        gas("g9", at(70), district="b"),
        fix("t1", at(65), district="a"),
        heat("s1", at(5), district="b"),
        gas("g2", at(8), district="b"),
        gas("g1", at(1), district="a"),
        light("l1", at(3), district="c"),
    ]
    got = [(r.bucket, r.feed, r.district) for r in roll(events)]
    assert got == [
        (T0, "gas", "a"),
        (T0, "gas", "b"),
        (T0, "heating", "b"),
        (T0, "streetlight", "c"),
        (at(60), "fleet", "a"),
        (at(60), "gas", "b"),
        (at(60), "streetlight", "c"),
    ]


def test_watermark_is_latest_event_time_minus_lateness() -> None:
    windows = RollupWindows(NIGHT, allowed_lateness=timedelta(seconds=15))
    assert windows.watermark is None
    assert windows.close_ready() == []
    for ts in (at(30), at(74), at(50)):
        windows.add(topics.GAS_DETECTOR, gas("g1", ts))
    assert windows.watermark == at(59)
    assert windows.close_ready() == []
    windows.add(topics.GAS_DETECTOR, gas("g2", at(75)))
    assert [r.bucket for r in windows.close_ready()] == [T0]


@pytest.mark.parametrize(
    ("late", "unaffected"),
    [
        (gas("g1", at(59)), gas("g2", at(60))),
        (light("l1", at(59)), light("l2", at(60))),
        (heat("s1", at(59)), heat("s2", at(60))),
        (fix("t1", at(59)), fix("t2", at(60))),
    ],
    ids=["gas", "streetlight", "heating", "fleet"],
)
def test_event_for_a_closed_window_is_dropped_and_counted(late: Event, unaffected: Event) -> None:
    windows = windows_with(late.model_copy(update={"ts": at(1)}))
    closed = windows.close_until(at(60))
    windows.add(topic_of(late), late)
    windows.add(topic_of(unaffected), unaffected)
    assert windows.late_dropped == 1
    rest = windows.flush()
    assert {r.bucket for r in rest} == {at(60)}
    [after] = [r for r in rest if r.feed == closed[0].feed]
    assert after.readings == 1  # only the on-time event of the next window


def test_late_event_still_informs_later_windows() -> None:
    # The late heartbeat of g1 is not counted in its closed window, but it makes g1
    # known and online for the next one, as a recomputation from stored readings says.
    windows = windows_with(gas("g2", at(10)))
    windows.close_until(at(60))
    windows.add(topics.GAS_DETECTOR, gas("g1", at(40)))
    windows.add(topics.GAS_DETECTOR, gas("g2", at(70)))
    [nxt] = windows.flush()
    assert windows.late_dropped == 1
    assert (nxt.detectors_reporting, nxt.detectors_known, nxt.detectors_online) == (1, 2, 2)


@pytest.mark.parametrize(
    "event",
    [gas("g1", at(5), lel=30), light("l1", at(5)), heat("s1", at(5), indoor=10), fix("t1", at(5))],
    ids=["gas", "streetlight", "heating", "fleet"],
)
def test_duplicates_count_once(event: Event) -> None:
    # A repeat with other values (a replay after a producer fix) loses to the first.
    repeat = event.model_copy(update={"lat": 37.0})
    windows = windows_with(event, event, repeat)
    [rollup] = [r for r in windows.flush() if r.bucket == T0]
    assert rollup.readings == 1
    assert windows.duplicates == 2
    assert rollup == roll([event])[0]


def _stream() -> list[Event]:
    return [
        gas("g1", at(1), lel=10),
        gas("g2", at(40), lel=30),
        light("l1", at(2), "off", power_w=0),
        light("l1", at(50), "on"),
        heat("s1", at(3), supply=71.1, indoor=17),
        heat("s1", at(33), supply=69.3, indoor=19),
        fix("t1", at(0), lat=36.0, load=10),
        fix("t1", at(10), lat=36.013, load=30),
        fix("t1", at(20), lat=36.021, load=25, kind="other"),
    ]


@pytest.mark.parametrize("seed", range(6))
def test_reordering_within_the_window_changes_nothing(seed: int) -> None:
    import random

    events = _stream()
    expected = roll(events)
    shuffled = events[:]
    random.Random(seed).shuffle(shuffled)
    assert rollup_differences(roll(shuffled), expected, rel=1e-12) == []


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_last_light_status_wins_whatever_the_arrival_order(order: tuple[int, ...]) -> None:
    statuses = [light("l1", at(5), "off"), light("l1", at(25), "dim"), light("l1", at(45), "on")]
    rollup = pick(roll([statuses[i] for i in order]), "streetlight")
    assert rollup is not None
    assert (rollup.readings, rollup.lights_lit, rollup.power_w_sum) == (3, 1, 100.0)


def test_state_stays_bounded_over_a_long_stream() -> None:
    windows = RollupWindows(NIGHT)
    for minute in range(120):
        for second in range(0, 60, 10):
            ts = at(minute * 60 + second)
            windows.add(topics.GAS_DETECTOR, gas("g1", ts))
            windows.add(topics.FLEET_GPS, fix("t1", ts, lat=36 + minute / 1000))
            windows.add(topics.STREETLIGHT_STATUS, light("l1", ts))
            windows.add(topics.HEATING_STATION, heat("s1", ts))
        windows.close_ready()
    assert windows.open_windows <= 4 * 2
    gas_agg = windows.aggregators[topics.GAS_DETECTOR]
    fleet_agg = windows.aggregators[topics.FLEET_GPS]
    # Private state, inspected on purpose: what is kept per entity must not grow.
    assert len(gas_agg._detectors["d1"]["g1"].recent) <= 30  # type: ignore[attr-defined]
    assert len(fleet_agg._trucks["t1"]) <= 20  # type: ignore[attr-defined]


def test_rejects_unknown_topics_and_mismatched_events() -> None:
    windows = RollupWindows(NIGHT)
    with pytest.raises(ValueError, match="not a feed topic"):
        windows.add(topics.ALERTS, gas("g1", T0))
    with pytest.raises(TypeError):
        windows.add(topics.FLEET_GPS, gas("g1", T0))


@pytest.mark.parametrize(
    ("window", "lateness"),
    [
        (timedelta(0), timedelta(0)),
        (timedelta(seconds=7), timedelta(0)),  # does not divide a day
        (timedelta(minutes=1), timedelta(seconds=-1)),
    ],
)
def test_rejects_bad_settings(window: timedelta, lateness: timedelta) -> None:
    with pytest.raises(ValueError):
        RollupWindows(NIGHT, window=window, allowed_lateness=lateness)


def test_rollup_records_are_the_wire_model() -> None:
    [rollup] = roll([gas("g1", at(5))])
    assert isinstance(rollup, Rollup)
    assert Rollup.model_validate_json(rollup.model_dump_json()) == rollup


def test_feeds_can_close_on_their_own_watermarks() -> None:
    # The fleet feed is two minutes ahead (a gas backlog being caught up): closing
    # fleet on its watermark must not make the lagging gas events late.
    windows = windows_with(fix("t1", at(5)), fix("t1", at(130)), gas("g1", at(5)))
    assert windows.feed_watermark(topics.FLEET_GPS) == at(120)
    assert windows.feed_watermark(topics.GAS_DETECTOR) == at(-5)
    fleet = windows.close_ready(topics.FLEET_GPS)
    assert [(r.feed, r.bucket) for r in fleet] == [("fleet", T0)]
    windows.add(topics.GAS_DETECTOR, gas("g2", at(30)))
    assert windows.late_dropped == 0
    assert windows.close_ready(topics.GAS_DETECTOR) == []
    gas_rollups = windows.close_until(at(60), topics.GAS_DETECTOR)
    assert [(r.feed, r.readings) for r in gas_rollups] == [("gas", 2)]
    assert windows.closed_until == {topics.FLEET_GPS: at(120), topics.GAS_DETECTOR: at(60)}
    with pytest.raises(ValueError, match="not a feed topic"):
        windows.close_until(at(60), topics.ROLLUPS)
