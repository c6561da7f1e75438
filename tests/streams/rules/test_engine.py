"""The engine: calm streams, watermarks, the timer index and the store access pattern."""

from __future__ import annotations

import json

import pytest

from streams import topics
from streams.models import Event
from streams.rules.timeutil import to_ms
from tests.fixtures.events import at, circuit_lights, district_lights, gas, light, station, truck
from tests.streams.rules.support import JsonStore, feed, make_engine


def calm_stream(minutes: int = 40) -> list[Event]:
    """Every feed behaving: several entities per feed at their report intervals."""
    events: list[Event] = []
    for second in range(0, minutes * 60, 10):
        m = second / 60
        events += [truck(seconds=second, truck_id=f"tr-{i}", lon=120.3 + m / 100) for i in (1, 2)]
        if second % 60 == 0:
            events += [gas(m, detector_id=f"gd-{i}", lel_pct=1.0) for i in range(3)]
            events += [station(m, station_id=f"hs-{i}") for i in range(3)]
        if second % 300 == 0:
            events += circuit_lights(m, set()) + district_lights(m, set())
    return events


def test_a_calm_stream_of_every_feed_raises_no_alert() -> None:
    engine = make_engine()
    assert feed(engine, calm_stream()) == []
    assert {topics.FEED_NAME[t] for t in topics.FEED_TOPICS} == {
        "gas",
        "streetlight",
        "heating",
        "fleet",
    }
    assert {f"wm:{f}" for f in ("gas", "streetlight", "heating", "fleet")} <= set(engine.store)


def test_state_is_plain_json() -> None:
    engine = make_engine()
    feed(engine, [*calm_stream(10), gas(11, lel_pct=60), station(11, indoor_temp_c=10)])
    store = engine.store
    assert isinstance(store, JsonStore)
    for key, text in store.data.items():
        assert json.loads(text) is not None, key
    assert {k.split(":")[0] for k in store} >= {
        "gas",
        "light",
        "circuit",
        "district-lit",
        "heating",
        "truck",
        "wm",
        "timers",
        "timer",
    }


def test_watermark_is_the_newest_event_time_minus_the_allowed_lateness() -> None:
    engine = make_engine()
    assert engine.watermark("gas") is None
    feed(engine, [gas(5), gas(3, detector_id="gd-2")])
    assert engine.watermark("gas") == to_ms(at(4, 30))
    engine.advance(at(10))
    assert engine.watermark("gas") == to_ms(at(10))
    feed(engine, [gas(6)])  # event time never moves a watermark back
    assert engine.watermark("gas") == to_ms(at(10))


def test_feed_and_event_must_match() -> None:
    with pytest.raises(ValueError, match="not an event of feed"):
        make_engine().on_event(topics.FLEET_GPS, gas(0))
    with pytest.raises(ValueError, match="not an event of feed"):
        make_engine().on_event("weather.v1", gas(0))


def test_fired_timer_buckets_are_removed_from_the_store() -> None:
    engine = make_engine()
    feed(engine, [gas(0, detector_id=f"gd-{i}") for i in range(5)])
    assert any(k.startswith("timer:gas:") for k in engine.store)
    assert len(engine.advance(at(3))) == 5
    assert not any(k.startswith("timer:gas:") for k in engine.store)
    assert engine.store["timers:gas"] == []


def test_an_event_does_not_touch_other_entities() -> None:
    """With thousands of detectors armed, one heartbeat reads and writes a handful of keys."""
    engine = make_engine()
    feed(engine, [gas(0, detector_id=f"gd-{i}") for i in range(2000)])
    store = engine.store
    assert isinstance(store, JsonStore)
    reads, writes = store.reads, store.writes
    feed(engine, [gas(1, detector_id="gd-7")])
    assert store.reads - reads <= 4
    assert store.writes - writes <= 2  # the detector and the watermark: already armed


def test_a_due_bucket_reads_only_its_own_entities() -> None:
    engine = make_engine()
    feed(engine, [gas(0, detector_id=f"early-{i}") for i in range(3)])
    feed(engine, [gas(2, detector_id=f"late-{i}") for i in range(2000)])
    store = engine.store
    assert isinstance(store, JsonStore)
    reads = store.reads
    fired = engine.advance(at(3))
    assert sorted(a.entity_id for a in fired) == ["early-0", "early-1", "early-2"]
    assert store.reads - reads < 20


def test_state_survives_a_new_engine_on_the_same_store() -> None:
    """A restarted worker resumes from its table: open alerts and timers carry over."""
    first = make_engine()
    (fired,) = feed(first, [gas(0, lel_pct=30)])
    second = make_engine()
    second.store = first.store
    second_alerts = feed(second, [gas(m, lel_pct=0) for m in (1, 2, 3)])
    assert [(a.alert_id, a.state) for a in second_alerts] == [(fired.alert_id, "resolved")]
    assert [a.rule for a in second.advance(at(6))] == ["gas.detector_offline"]


def test_lights_reporting_at_night_off_fire_dark_not_day_burning() -> None:
    alerts = feed(make_engine(), [light(0, power_state="off", power_w=0.0)])
    assert [a.rule for a in alerts] == ["streetlight.dark"]
