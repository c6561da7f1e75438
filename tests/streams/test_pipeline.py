"""The worker's pure core: raw bytes in, dead letters, alerts and roll-ups out."""

from __future__ import annotations

from datetime import timedelta

import orjson

from cityops.base.thresholds import with_overrides
from streams import topics
from streams.models import iso_z
from streams.pipeline import PROCESSING_ERROR, Processor, RawMessage
from streams.rules.engine import RuleEngine
from streams.windows import RollupWindows
from tests.fixtures.city import FakeCity
from tests.fixtures.events import NIGHT, gas
from tests.streams.rules.support import RUNBOOKS, JsonStore


def make_processor(engine: RuleEngine | None = None) -> Processor:
    city = FakeCity()
    engine = engine or RuleEngine(with_overrides({}), city, JsonStore(), runbook_base_url=RUNBOOKS)
    return Processor(
        engine,
        RollupWindows(city),
        clock=lambda: NIGHT + timedelta(hours=1),
        max_age=timedelta(days=7),
        max_future=timedelta(minutes=5),
    )


def raw(offset: int, value: bytes) -> RawMessage:
    return RawMessage(topics.GAS_DETECTOR, "p." + topics.GAS_DETECTOR, 0, offset, b"gd-1", value)


def gas_bytes(minute: float, lel: float) -> bytes:
    event = gas(minute, lel_pct=lel).model_dump(mode="json")
    event["ts"] = iso_z(gas(minute).ts)
    return orjson.dumps(event)


def test_bad_and_good_messages_in_one_batch() -> None:
    processor = make_processor()
    batch = [raw(0, b"{oops"), raw(1, gas_bytes(0, 1.0)), raw(2, gas_bytes(1, 30.0))]
    out = processor.handle_feed(batch)
    assert [(d.reason, d.offset, d.topic) for d in out.deadletters] == [
        ("invalid_json", 0, "p.gas.detector.v1")
    ]
    assert out.valid == 2
    assert [(a.rule, a.state, a.severity) for a in out.alerts] == [
        ("gas.lel_high", "firing", "major")
    ]
    assert [feed for feed, _ in out.latencies] == ["gas", "gas"]


def test_rollups_close_when_the_feed_moves_on() -> None:
    processor = make_processor()
    out = processor.handle_feed([raw(i, gas_bytes(i, 1.0)) for i in range(5)])
    closed = {(r.feed, r.bucket) for r in out.rollups}
    assert ("gas", NIGHT) in closed
    assert all(r.feed == "gas" and r.readings == 1 for r in out.rollups)


class ExplodingEngine(RuleEngine):
    def on_event(self, feed_topic, event):  # type: ignore[no-untyped-def]
        raise RuntimeError("bug in a rule")


def test_a_failing_rule_dead_letters_the_event_instead_of_crashing() -> None:
    city = FakeCity()
    engine = ExplodingEngine(with_overrides({}), city, JsonStore(), runbook_base_url=RUNBOOKS)
    out = make_processor(engine).handle_feed([raw(7, gas_bytes(0, 1.0))])
    assert [(d.reason, d.offset) for d in out.deadletters] == [(PROCESSING_ERROR, 7)]
    assert "bug in a rule" in out.deadletters[0].message
    assert out.valid == 0


def test_alerts_carry_the_routing_labels_of_their_event() -> None:
    from tests.fixtures.events import light

    processor = make_processor()
    event = light(0, power_state="off", circuit_id="c-9", cabinet_id="cab-3")
    payload = event.model_dump(mode="json")
    payload["ts"] = iso_z(event.ts)
    msg = RawMessage(
        topics.STREETLIGHT_STATUS, topics.STREETLIGHT_STATUS, 0, 0, b"sl-1", orjson.dumps(payload)
    )
    out = processor.handle_feed([msg])
    dark = [a for a in out.alerts if a.rule == "streetlight.dark"]
    assert dark, out.alerts
    assert dark[0].labels == {"circuit_id": "c-9", "cabinet_id": "cab-3"}


def ack_message(offset: int, value: bytes) -> RawMessage:
    return RawMessage(topics.ALERTS_ACK, topics.ALERTS_ACK, 0, offset, None, value)


def test_acks_out_of_bounds_or_crashing_are_dead_lettered() -> None:
    processor = make_processor()
    far = orjson.dumps({"alert_id": "a:b:1", "by": "x", "at": "2099-01-01T00:00:00Z"})
    weird = orjson.dumps({"alert_id": "gas.lel_high:gd-1:²", "by": "x", "at": iso_z(NIGHT)})
    out = processor.handle_acks([ack_message(0, far), ack_message(1, weird)])
    assert [(d.reason, d.offset) for d in out.deadletters] == [("ts_out_of_bounds", 0)]
    assert out.alerts == [] and out.valid == 1  # the odd id is simply not ours


class ExplodingAcks(RuleEngine):
    def on_ack(self, ack):  # type: ignore[no-untyped-def]
        raise KeyError("boom")


def test_a_failing_ack_is_dead_lettered() -> None:
    engine = ExplodingAcks(with_overrides({}), FakeCity(), JsonStore(), runbook_base_url=RUNBOOKS)
    ok = orjson.dumps({"alert_id": "a:b:1", "by": "x", "at": iso_z(NIGHT)})
    out = make_processor(engine).handle_acks([ack_message(3, ok)])
    assert [(d.reason, d.offset) for d in out.deadletters] == [(PROCESSING_ERROR, 3)]


def test_a_device_32_days_ahead_is_dead_lettered_and_moves_no_window() -> None:
    """Beyond `max_future` of the worker's clock an event is out of bounds: it
    goes to dead letters and neither its windows nor the watermark see it."""
    processor = make_processor()
    ahead = gas(60 * 24 * 32).model_dump(mode="json")
    ahead["ts"] = iso_z(gas(60 * 24 * 32).ts)
    out = processor.handle_feed([raw(0, orjson.dumps(ahead)), raw(1, gas_bytes(0, 1.0))])
    assert [(d.reason, d.offset) for d in out.deadletters] == [("ts_out_of_bounds", 0)]
    assert processor.windows.max_event_ts == gas(0).ts
    out = processor.handle_feed([raw(2, gas_bytes(0.5, 1.0)), raw(3, gas_bytes(2, 1.0))])
    assert processor.windows.late_dropped == 0
    assert [(r.feed, r.bucket, r.readings) for r in out.rollups] == [("gas", NIGHT, 2)]


def test_tick_escalates_on_a_silent_feed_after_the_idle_timeout() -> None:
    """The processing-time fallback: the feed stops, the wall clock goes on."""
    now = [NIGHT + timedelta(minutes=1)]
    city = FakeCity()
    engine = RuleEngine(with_overrides({}), city, JsonStore(), runbook_base_url=RUNBOOKS)
    processor = Processor(
        engine,
        RollupWindows(city),
        clock=lambda: now[0],
        max_age=timedelta(days=7),
        max_future=timedelta(minutes=5),
    )
    (fired,) = processor.handle_feed([raw(0, gas_bytes(0, 60.0))]).alerts  # critical: 5 min
    assert processor.tick().alerts == []  # first sight of the watermark
    now[0] += timedelta(minutes=4)
    assert processor.tick().alerts == []  # silent 4 min: not due yet (due 5 min after firing)
    now[0] += timedelta(minutes=2)
    (escalated,) = processor.tick().alerts
    assert (escalated.alert_id, escalated.labels, escalated.state) == (
        fired.alert_id,
        {"escalation": "1"},
        "firing",
    )
    assert processor.tick().alerts == []


def test_tick_leaves_a_moving_feed_to_event_time() -> None:
    now = [NIGHT + timedelta(minutes=1)]
    city = FakeCity()
    engine = RuleEngine(with_overrides({}), city, JsonStore(), runbook_base_url=RUNBOOKS)
    processor = Processor(
        engine,
        RollupWindows(city),
        clock=lambda: now[0],
        max_age=timedelta(days=7),
        max_future=timedelta(minutes=5),
    )
    processor.handle_feed([raw(0, gas_bytes(0, 60.0))])
    for minute in range(1, 4):  # a slow replay: 1 min of event time per 10 min of clock
        processor.tick()
        now[0] += timedelta(minutes=10)
        assert processor.handle_feed([raw(minute, gas_bytes(minute, 60.0))]).alerts == []
        assert processor.tick().alerts == []
