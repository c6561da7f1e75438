"""Reading partitions back (cityops/base/kafka_reader.py) against the real broker (Tansu),
and the consume loop's assignment hook that lends the reader to a handler."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from cityops.base.kafka_admin import ensure_topics
from cityops.base.kafka_handler import Assignment, Batch, Handler, LoopConfig
from cityops.base.kafka_loop import ConsumeLoop
from cityops.base.kafka_reader import PartitionReader, Records
from cityops.base.kafka_send import Out
from cityops.base.settings import Settings, load_settings
from cityops.stack.broker import EmbeddedBroker
from streams import topics


@dataclass
class _Topic:
    """A two-partition alerts topic of this test's own, and the records produced to it."""

    settings: Settings
    name: str

    def partitions(self) -> tuple[TopicPartition, TopicPartition]:
        return TopicPartition(self.name, 0), TopicPartition(self.name, 1)

    async def create(self, counts: dict[int, int]) -> None:
        await ensure_topics(self.settings, (topics.ALERTS,))
        assert self.settings.kafka_bootstrap
        await _produce(self.settings.kafka_bootstrap, self.name, counts)


@pytest.fixture
def topic(broker: EmbeddedBroker, topic_prefix: str, tmp_path: Path) -> _Topic:
    settings = load_settings(
        kafka_bootstrap=broker.bootstrap,
        topic_prefix=topic_prefix,
        topic_partitions=2,
        state_dir=tmp_path,
    )
    return _Topic(settings, settings.topic(topics.ALERTS))


async def _produce(bootstrap: str, topic: str, counts: dict[int, int]) -> None:
    """`counts[p]` records to partition p, values `p:i`."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for p, n in counts.items():
            for i in range(n):
                await producer.send_and_wait(topic, f"{p}:{i}".encode(), partition=p)
    finally:
        await producer.stop()


def _values(batches: list[Records]) -> dict[int, list[bytes]]:
    out: dict[int, list[bytes]] = {}
    for data in batches:
        for tp, records in data.items():
            out.setdefault(tp.partition, []).extend(r.value for r in records)
    return out


def test_read_to_end_and_ranges_with_one_reader(broker: EmbeddedBroker, topic: _Topic) -> None:
    p0, p1 = topic.partitions()

    async def scenario() -> tuple[dict[int, list[bytes]], ...]:
        await topic.create({0: 5, 1: 3})
        reader = PartitionReader(broker.bootstrap)
        await reader.start()
        try:
            whole = [data async for data in reader.read_to_end([p0, p1])]
            # [1, 4) of partition 0; partition 1's range is empty (nothing to read)
            ranges = [data async for data in reader.read_ranges({p0: (1, 4), p1: (2, 2)})]
            # the same reader again, from offset 0
            head = [data async for data in reader.read_ranges({p1: (0, 2)})]
            assert reader.consumer.assignment() == set()  # every read gives its partitions up
        finally:
            await reader.stop()
        return _values(whole), _values(ranges), _values(head)

    whole, ranges, head = asyncio.run(scenario())
    assert whole == {0: [b"0:%d" % i for i in range(5)], 1: [b"1:0", b"1:1", b"1:2"]}
    assert ranges == {0: [b"0:1", b"0:2", b"0:3"]}
    assert head == {1: [b"1:0", b"1:1"]}


class _Recorder(Handler):
    """Reads its partitions back on assignment, like the notifier's firing set."""

    def __init__(self, stop: asyncio.Event) -> None:
        self.stop = stop
        self.partitions: tuple[TopicPartition, ...] = ()
        self.committed: dict[TopicPartition, int] = {}
        self.read_back: dict[int, list[bytes]] = {}
        self.processed: dict[int, list[bytes]] = {}

    async def assigned(self, assignment: Assignment) -> None:
        self.partitions = assignment.partitions
        self.committed = await assignment.committed()
        ranges = {tp: (0, end) for tp, end in self.committed.items() if end}
        self.read_back = _values([data async for data in assignment.read_ranges(ranges)])

    def process(self, batch: Batch) -> list[Out]:
        for tp, records in batch.items():
            self.processed.setdefault(tp.partition, []).extend(r.value for r in records)
        if sum(map(len, self.processed.values())) >= 3:
            self.stop.set()
        return []


def test_assigned_gets_the_committed_offsets_and_reads_before_any_record(
    broker: EmbeddedBroker, topic: _Topic, topic_prefix: str
) -> None:
    p0, p1 = topic.partitions()
    group = f"{topic_prefix}reader-group"

    async def scenario() -> tuple[_Recorder, Any]:
        await topic.create({0: 5, 1: 1})
        member = AIOKafkaConsumer(
            bootstrap_servers=broker.bootstrap, group_id=group, enable_auto_commit=False
        )
        await member.start()
        try:
            member.assign([p0])
            await member.commit({p0: 3})  # partition 0 was processed up to offset 3
        finally:
            await member.stop()
        stop = asyncio.Event()
        handler = _Recorder(stop)
        reader = PartitionReader(broker.bootstrap)
        await reader.start()
        config = LoopConfig(
            broker.bootstrap, group, f"{group}-client", (topic.name,), produce=False
        )
        loop = ConsumeLoop(config, handler, stop, reader)
        try:
            await asyncio.wait_for(loop.run(), timeout=60)
        finally:
            await reader.stop()
        return handler, loop

    handler, _ = asyncio.run(scenario())
    assert set(handler.partitions) == {p0, p1}
    assert handler.committed == {p0: 3, p1: 0}
    # read back: exactly what was processed before (the committed part) ...
    assert handler.read_back == {0: [b"0:0", b"0:1", b"0:2"]}
    # ... and the loop hands over only what comes after it
    assert handler.processed == {0: [b"0:3", b"0:4"], 1: [b"1:0"]}
