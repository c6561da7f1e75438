"""The windows' device memory survives the checkpoint pickle (packed as columns) exactly."""

from __future__ import annotations

import pickle
from datetime import timedelta

from streams.models import Event
from streams.windows import RollupWindows
from streams.windows.columns import from_us, to_us
from tests.fixtures.rollup_events import NIGHT, at, gas, light, topic_of


def _events(start_s: int, minutes: int) -> list[Event]:
    events: list[Event] = []
    for s in range(start_s, start_s + 60 * minutes, 20):
        events.append(gas("g1", at(s), lel=30.0 if s % 120 == 0 else 1.0))
        events.append(gas("g2", at(s + 1), district="d2"))
        if s % 60 == 0:
            events.append(light("l1", at(s + 2), state="off" if s % 180 == 0 else "on"))
            events.append(light("l2", at(s + 3), power_w=55.5, district="d2"))
    events.append(light("l3", at(start_s + 5), fault="lamp"))
    return events


def _run(windows: RollupWindows, events: list[Event]) -> list[str]:
    out: list[str] = []
    for event in events:
        windows.add(topic_of(event), event)
        for feed in ("gas.detector.v1", "streetlight.status.v1"):
            out += [r.model_dump_json() for r in windows.close_ready(feed)]
    return out


def test_windows_restored_from_the_pickle_give_the_same_rollups() -> None:
    kept = RollupWindows(NIGHT)
    _run(kept, _events(0, 7))
    restored = pickle.loads(pickle.dumps(kept))
    later = _events(7 * 60, 9)
    expected = _run(kept, later)
    assert expected  # windows closed after the checkpoint
    assert _run(restored, later) == expected
    # and the device memory itself came back whole
    for feed, field in (("gas.detector.v1", "_detectors"), ("streetlight.status.v1", "_lights")):
        ours, theirs = kept.aggregators[feed], restored.aggregators[feed]
        assert theirs.__getstate__()[field] == ours.__getstate__()[field]
        assert getattr(theirs, field) == getattr(ours, field)


def test_microseconds_round_trip() -> None:
    ts = at(12.345678)
    assert from_us(to_us(ts)) == ts
    assert from_us(to_us(ts - timedelta(days=20_000))) == ts - timedelta(days=20_000)
