"""Record topics to a file and replay them elsewhere: the same messages, byte for byte,
in the same per-partition order, with their timestamps; a replayed scenario makes the
worker raise exactly the alerts of the original run."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from cityops.scenarios.run import observe, worker_process
from cityops.stack.broker import EmbeddedBroker
from sensors_sim.record import RecordedMessage, read_recording, record, write_recording
from sensors_sim.replay import Replayer, TopicMap, plan, replay
from streams import topics
from tests.fixtures.citystream import CityStream
from tests.fixtures.pipeline import read_topic

pytestmark = pytest.mark.integration

Row = tuple[bytes | None, bytes | None, tuple[tuple[str, bytes], ...], int]


def by_partition(bootstrap: str, topic: str) -> dict[int, list[Row]]:
    out: dict[int, list[Row]] = {}
    for r in read_topic(bootstrap, topic):
        headers = tuple((k, v) for k, v in r.headers or ())
        out.setdefault(r.partition, []).append((r.key, r.value, headers, r.timestamp))
    return out


async def _produce_sample(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 3, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        base = 1_795_000_000_000
        for i in range(60):
            # non-JSON bytes, a header, and timestamps that go backwards now and then
            await producer.send(
                topic,
                bytes([i % 256, 0xFF, 0x00]) + f"value-{i}".encode(),
                key=f"k{i % 7}".encode(),
                timestamp_ms=base + i * 1000 - (5000 if i % 10 == 3 else 0),
                headers=[("trace", f"t{i}".encode())],
            )
        await producer.flush()
    finally:
        await producer.stop()


def test_record_is_resumable_and_replay_is_exact(broker: EmbeddedBroker, tmp_path: Path) -> None:
    bootstrap = broker.bootstrap
    src = f"rr{uuid.uuid4().hex[:8]}."
    dst = f"rr{uuid.uuid4().hex[:8]}."
    asyncio.run(_produce_sample(bootstrap, f"{src}sample.v1"))
    out = tmp_path / "run.jsonl.gz"
    names = {f"{src}sample.v1": "sample.v1"}

    first = record(bootstrap, names, out, from_beginning=True, max_messages=25)
    assert first.total == 25
    second = record(bootstrap, names, out, from_beginning=True, until_idle_s=1.0)
    assert (second.resumed_from, second.total) == (25, 35)
    recorded = list(read_recording(out))
    assert len({(m.partition, m.offset) for m in recorded}) == 60  # nothing twice
    assert all(m.topic == "sample.v1" for m in recorded)

    stats = replay(bootstrap, [out], TopicMap(prefix=dst), speed=None)
    assert stats.sent == 60
    original = by_partition(bootstrap, f"{src}sample.v1")
    replayed = by_partition(bootstrap, f"{dst}sample.v1")
    assert replayed == original
    assert sum(len(rows) for rows in replayed.values()) == 60


def test_plan_counts_messages_and_spans_the_recorded_time(tmp_path: Path) -> None:
    # a plan needs no broker: the counts and time span behind the progress bar and ETA
    path = tmp_path / "two.jsonl.gz"
    write_recording(
        path,
        [
            RecordedMessage("a.v1", 0, 0, b"k", b"v", (), 1000, 0),
            RecordedMessage("a.v1", 1, 0, None, None, (), 4000, 0),
        ],
    )
    the_plan = plan([path])
    assert (the_plan.messages, the_plan.span_s, the_plan.partitions) == (2, 3.0, {"a.v1": 2})
    assert Replayer("127.0.0.1:1", the_plan, TopicMap("x."), speed=2.0).plan is the_plan


def test_replayed_scenario_gives_the_same_stream_and_identical_alerts(
    city_stream: CityStream, broker: EmbeddedBroker, tmp_path: Path
) -> None:
    bootstrap = broker.bootstrap
    original = city_stream.run_scenario("gas_leak.yaml")
    assert original.caught_up and original.raw_alerts
    src = original.topic_prefix
    out = tmp_path / "gas_leak.jsonl.gz"
    names = {f"{src}{t}": t for t in topics.FEED_TOPICS}
    stats = record(bootstrap, names, out, from_beginning=True, until_idle_s=1.0)
    assert stats.total == sum(original.events.values())

    settings = city_stream.settings_for_run()  # fresh prefix and consumer group
    assert settings.topic_prefix != src

    async def produce() -> dict[str, int]:
        sent = await Replayer(
            bootstrap, plan([out]), TopicMap(prefix=settings.topic_prefix), speed=None
        ).run()
        return sent.per_topic

    with worker_process(settings) as procs:
        outputs = asyncio.run(observe(settings, produce, procs=procs))
    assert outputs.caught_up
    for feed in topics.FEED_TOPICS:
        assert by_partition(bootstrap, settings.topic(feed)) == by_partition(
            bootstrap, f"{src}{feed}"
        ), feed
    assert outputs.raw_alerts == original.raw_alerts  # byte-identical, same order
