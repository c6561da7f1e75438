"""`recompute_rollups` against the stream's `RollupWindows` on seeded random streams."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import pytest

from sinks.recompute import recompute_rollups
from streams import topics
from streams.models import Event, Rollup
from streams.windows import RollupWindows, floor_to_window
from tests.fixtures.rollup_compare import differing_keys, rollup_differences, rollup_key
from tests.fixtures.rollup_events import NIGHT, T0, at, gas, topic_of
from tests.fixtures.rollup_stream import CITY, random_stream

LATENESS = timedelta(seconds=20)


def _buckets(first: datetime, last: datetime) -> list[datetime]:
    bucket, out = floor_to_window(first), []
    while bucket <= last:
        out.append(bucket)
        bucket += timedelta(minutes=1)
    return out


def _by_feed(events: list[Event]) -> dict[str, list[Event]]:
    grouped: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        grouped[topic_of(event)].append(event)  # arrival order: the first repeat wins
    return dict(grouped)


def _stream_rollups(
    events: list[Event], lateness: timedelta, *, per_feed: bool
) -> tuple[list[Rollup], RollupWindows]:
    # As the worker does: close whatever the watermark allows after every event.
    windows = RollupWindows(CITY, allowed_lateness=lateness)
    out: list[Rollup] = []
    for event in events:
        windows.add(topic_of(event), event)
        out.extend(windows.close_ready(topic_of(event) if per_feed else None))
    out.extend(windows.flush())
    return out, windows


@pytest.mark.parametrize("per_feed", [False, True], ids=["global-watermark", "feed-watermarks"])
@pytest.mark.parametrize("seed", range(6))
def test_recompute_agrees_with_the_stream(seed: int, per_feed: bool) -> None:
    stream = random_stream(seed, max_delay=LATENESS)
    streamed, windows = _stream_rollups(stream.events, LATENESS, per_feed=per_feed)
    assert windows.late_dropped == 0
    assert windows.duplicates > 0

    recomputed = recompute_rollups(
        _by_feed(stream.events), CITY, _buckets(stream.first_ts, stream.last_ts)
    )
    assert rollup_differences(streamed, recomputed) == []
    # Each close_until call is sorted; with per-feed closes the calls interleave feeds.
    keys = [rollup_key(r) for r in streamed]
    assert (sorted(keys) if per_feed else keys) == [rollup_key(r) for r in recomputed]

    # The stream really exercised the contract, not just empty windows.
    assert {r.feed for r in streamed} == {"gas", "streetlight", "heating", "fleet"}
    assert any(r.detectors_online != r.detectors_known for r in streamed if r.feed == "gas")
    lit_rates = [r.lit_rate for r in streamed if r.feed == "streetlight"]
    assert None in lit_rates and any(rate is not None for rate in lit_rates)
    assert any(r.stations_warm != r.stations_reporting for r in streamed if r.feed == "heating")
    fleet = [r for r in streamed if r.feed == "fleet"]
    assert any(r.km_travelled for r in fleet) and any(r.load_kitchen_kg for r in fleet)


@pytest.mark.parametrize("seed", range(4))
def test_late_drops_only_change_the_windows_they_belong_to(seed: int) -> None:
    # No allowed lateness with events up to 30 s out of order: many drops. What the
    # database check must expect: a drop changes its own window and nothing after it.
    stream = random_stream(seed, max_delay=timedelta(seconds=30))
    windows = RollupWindows(CITY, allowed_lateness=timedelta(0))
    streamed: list[Rollup] = []
    touched: set[tuple[str, ...]] = set()
    for event in stream.events:
        before = windows.late_dropped
        windows.add(topic_of(event), event)
        if windows.late_dropped > before:
            feed = topics.FEED_NAME[topic_of(event)]
            bucket = floor_to_window(event.ts).isoformat()
            # A truck's late fix can be the predecessor of a fix in another district.
            district: str = getattr(event, "district")  # noqa: B009 - every feed model has one
            touched.add((bucket, feed) if feed == "fleet" else (bucket, feed, district))
        streamed.extend(windows.close_ready())
    streamed.extend(windows.flush())
    assert windows.late_dropped > 10

    recomputed = recompute_rollups(
        _by_feed(stream.events), CITY, _buckets(stream.first_ts, stream.last_ts)
    )
    differing = differing_keys(streamed, recomputed)
    assert differing  # the drops are visible
    unexplained = {key for key in differing if key not in touched and key[:2] not in touched}
    assert unexplained == set()


def test_recompute_accepts_short_feed_names_and_checks_buckets() -> None:
    readings: dict[str, list[Event]] = {"gas": [gas("g1", at(5))]}
    [rollup] = recompute_rollups(readings, NIGHT, [T0])
    assert (rollup.feed, rollup.bucket, rollup.readings) == ("gas", T0, 1)
    with pytest.raises(ValueError, match="not a window start"):
        recompute_rollups(readings, NIGHT, [at(5)])
    with pytest.raises(ValueError, match="not a feed"):
        recompute_rollups({"alerts.v1": []}, NIGHT, [T0])
    with pytest.raises(TypeError):
        recompute_rollups({topics.FLEET_GPS: [gas("g1", at(5))]}, NIGHT, [T0])


def test_recompute_agrees_across_an_event_time_jump() -> None:
    """The stream steps over a 32-day gap; recomputing every minute of it gives
    the same (bounded) windows."""
    stream = random_stream(2, max_delay=LATENESS)
    jump = timedelta(days=32)
    later = [e.model_copy(update={"ts": e.ts + jump}) for e in stream.events]
    events = stream.events + later
    streamed, windows = _stream_rollups(events, LATENESS, per_feed=False)
    assert windows.late_dropped == 0
    buckets = _buckets(stream.first_ts, stream.last_ts + jump)
    assert len(buckets) > 40_000
    recomputed = recompute_rollups(_by_feed(events), CITY, buckets)
    assert rollup_differences(streamed, recomputed) == []
    resumed = floor_to_window(min(e.ts for e in later))
    gap = [r for r in streamed if stream.last_ts + timedelta(hours=1) < r.bucket < resumed]
    assert gap == []
