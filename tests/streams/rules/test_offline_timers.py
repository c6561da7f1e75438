"""`streams.rules.offline_timers`: the offline due times, filed and fired by watermark."""

from __future__ import annotations

from cityops.base.thresholds import with_overrides
from streams.rules.context import RuleContext
from streams.rules.escalation import Escalations
from streams.rules.offline_timers import OfflineTimers, offline_rules
from streams.rules.timeutil import seconds_ms
from tests.fixtures.city import FakeCity
from tests.streams.rules.support import NO_ESCALATION, RUNBOOKS, JsonStore

T0 = 1_700_000_000_000  # a multiple of the 5 s bucket


def _timers() -> tuple[OfflineTimers, JsonStore, int]:
    thresholds = with_overrides(NO_ESCALATION)
    ctx = RuleContext(thresholds, FakeCity(), RUNBOOKS)
    store = JsonStore()
    bucket_ms = seconds_ms(thresholds.engine.timer_bucket_s)
    rules = offline_rules(thresholds)
    timers = OfflineTimers(ctx, bucket_ms, rules, Escalations(store, ctx, bucket_ms))
    return timers, store, rules["gas"].after_ms


def _file(timers: OfflineTimers, store: JsonStore, detector: str, ts: int, after: int) -> int:
    bucket = timers.arm(store, "gas", detector, ts + after)
    store[f"gas:{detector}"] = {
        "id": detector,
        "district": "centre",
        "lat": 36.07,
        "lon": 120.38,
        "ts": ts,
        "timer": bucket,
    }
    return bucket


def test_a_device_fires_offline_once_the_watermark_passes_its_due_time() -> None:
    timers, store, after = _timers()
    _file(timers, store, "GD-1", T0, after)
    assert timers.fire(store, "gas", T0 + after - 1) == []
    fired = timers.fire(store, "gas", T0 + after)
    assert [(a.rule, a.state, a.entity_id) for a in fired] == [
        ("gas.detector_offline", "firing", "GD-1")
    ]
    assert store["gas:GD-1"]["timer"] is None  # re-armed by its next reading
    assert timers.fire(store, "gas", T0 + 10 * after) == []


def test_a_device_that_reported_since_is_filed_again_not_fired() -> None:
    timers, store, after = _timers()
    _file(timers, store, "GD-1", T0, after)
    later = T0 + after // 2
    store["gas:GD-1"] = {**store["gas:GD-1"], "ts": later}  # a reading, timer kept
    assert timers.fire(store, "gas", T0 + after) == []
    refiled = store["gas:GD-1"]["timer"]
    assert refiled is not None and refiled >= later + after
    assert [a.entity_id for a in timers.fire(store, "gas", later + after)] == ["GD-1"]


def test_a_stale_filing_is_skipped() -> None:
    timers, store, after = _timers()
    _file(timers, store, "GD-1", T0, after)
    store["gas:GD-1"] = {**store["gas:GD-1"], "timer": 0}  # filed elsewhere since
    assert timers.fire(store, "gas", T0 + after) == []


def test_nothing_due_reads_no_index_once_the_earliest_bucket_is_known() -> None:
    timers, store, after = _timers()
    _file(timers, store, "GD-1", T0, after)
    assert timers.fire(store, "gas", T0) == []  # learns the earliest bucket
    reads = store.reads
    for step in range(1, 50):
        assert timers.fire(store, "gas", T0 + step) == []
    assert store.reads == reads


def test_a_feed_without_an_offline_rule_fires_nothing() -> None:
    timers, store, _ = _timers()
    assert timers.fire(store, "fleet", T0) == []
