"""`pipeline.feed_silent`: a whole feed silent for the threshold fires, and resolves
when it delivers again (real worker, real broker; processing time, so the
threshold is set to a few seconds here)."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from cityops.base.settings import Settings
from streams import topics
from streams.models import Alert, iso_z
from streams.stages.feed_silence import RULE, FeedSilence
from tests.fixtures.events import station
from tests.fixtures.pipeline import produce, read_topic, running_pipeline, wait_until
from tests.streams.test_app import gas_event


def _heating(at: datetime) -> tuple[str, bytes, bytes]:
    event = station(base=at).model_dump(mode="json")
    event["ts"] = iso_z(at)
    return topics.HEATING_STATION, b"hs-1", orjson.dumps(event)


def _gas(at: datetime) -> tuple[str, bytes, bytes]:
    return topics.GAS_DETECTOR, b"GD-1", orjson.dumps(gas_event("GD-1", at, 1.0))


def _silent(settings: Settings) -> list[Alert]:
    records = read_topic(settings.kafka_bootstrap or "", settings.topic(topics.ALERTS))
    alerts = [Alert.model_validate_json(r.value) for r in records]
    return [a for a in alerts if a.rule == RULE]


@pytest.mark.integration
def test_a_silent_feed_fires_and_resolves(
    stack_settings: Settings, created_topics: list[str], tmp_path: Path
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[pipeline]\nfeed_silent_s = 4\n", encoding="utf-8")
    settings = stack_settings.model_copy(update={"rules_file": rules})
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    stop = threading.Event()

    def heating_keeps_flowing() -> None:
        i = 0
        while not stop.wait(1.0):
            i += 1
            asyncio.run(produce(settings, [_heating(t0 + timedelta(seconds=10 * i))]))

    with running_pipeline(settings, parts=("worker",)) as procs:
        asyncio.run(produce(settings, [_gas(t0), _heating(t0)]))
        feeder = threading.Thread(target=heating_keeps_flowing, daemon=True)
        feeder.start()
        try:
            fired = wait_until(
                lambda: _silent(settings),
                lambda a: any(x.entity_id == "gas" and x.state == "firing" for x in a),
                timeout=90,
                what="pipeline.feed_silent for the gas feed",
                procs=procs,
            )
            asyncio.run(produce(settings, [_gas(t0 + timedelta(minutes=1))]))
            done = wait_until(
                lambda: _silent(settings),
                lambda a: any(x.entity_id == "gas" and x.state == "resolved" for x in a),
                timeout=90,
                what="pipeline.feed_silent for gas to resolve",
                procs=procs,
            )
        finally:
            stop.set()
            feeder.join(timeout=10)
    gas = [(a.alert_id, a.state, a.severity) for a in done if a.entity_id == "gas"]
    first = next(a for a in fired if a.entity_id == "gas")
    assert gas == [(first.alert_id, "firing", "major"), (first.alert_id, "resolved", "major")]
    assert not [a for a in done if a.entity_id == "heating"], "a flowing feed is not silent"


def test_silence_is_judged_by_the_owner_only_and_resolves_with_the_same_id(
    stack_settings: Settings,
) -> None:
    """Pure: a non-owner never fires; a new owner restoring the state resolves the same id."""
    settings = stack_settings
    table: dict[bytes, bytes] = {}
    first = FeedSilence(settings)
    assert first.tick(1000.0, 1) == []  # owns nothing
    first.owns(table, 0.0)
    fired = first.tick(first.after_s + 1, 5_000)
    assert {(a.entity_id, a.state) for a in fired} == {
        (feed, "firing") for feed in topics.FEED_NAME.values()
    }
    # failover: a new owner with the same state, the gas feed delivers again
    second = FeedSilence(settings)
    second.owns(dict(table), 100.0)
    second.observe({"gas": 10, "heating": 5}, 101.0)  # the first poll is only a baseline
    assert second.tick(102.0, 8_000) == []  # still silent: still open, nothing re-fired
    second.observe({"gas": 11, "heating": 5}, 103.0)
    resolved = [a for a in second.tick(104.0, 9_000) if a.state == "resolved"]
    gas_id = next(a.alert_id for a in fired if a.entity_id == "gas")
    assert [(a.alert_id, a.entity_id) for a in resolved] == [(gas_id, "gas")]


@pytest.mark.integration
def test_one_silent_partition_pages_its_devices_while_the_feed_flows(
    stack_settings: Settings, created_topics: list[str]
) -> None:
    """Issue 13, item 2, with the real worker: the detectors of partition 0 stop, the
    others go on. Partition 0 declares the gas feed idle, takes the feed's time from
    the busy partitions, and pages its detectors `gas.detector_offline`; the busy
    partitions page nobody, and the feed is not silent."""
    from tests.streams.test_stages import topo_partition

    settings = stack_settings.model_copy(update={"worker_idle_timeout_s": 3.0})
    n = settings.topic_partitions
    ids = [f"GD-{i:03d}" for i in range(24)]
    silent = {d for d in ids if topo_partition(d, n) == 0}
    assert silent and len(silent) < len(ids)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    stop = threading.Event()

    def readings(i: int) -> list[tuple[str, bytes, bytes]]:
        at = t0 + timedelta(seconds=10 * i)  # event time runs 20x the clock
        return [
            (topics.GAS_DETECTOR, d.encode(), orjson.dumps(gas_event(d, at, 1.0)))
            for d in ids
            if i < 3 or d not in silent
        ]

    def feed() -> None:
        i = 0
        while not stop.wait(0.5):
            asyncio.run(produce(settings, readings(i)))
            i += 1

    def offline() -> list[Alert]:
        records = read_topic(settings.kafka_bootstrap or "", settings.topic(topics.ALERTS))
        alerts = [Alert.model_validate_json(r.value) for r in records]
        return [a for a in alerts if a.rule in ("gas.detector_offline", RULE)]

    with running_pipeline(settings, parts=("worker",)) as procs:
        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        try:
            paged = wait_until(
                offline,
                lambda a: {x.entity_id for x in a if x.state == "firing"} >= silent,
                timeout=120,
                what="gas.detector_offline for every detector of partition 0",
                procs=procs,
            )
        finally:
            stop.set()
            feeder.join(timeout=10)
    assert {a.entity_id for a in paged} == silent, "only partition 0's detectors, no feed"
