"""`LoopConfig.out_linger_s` against the real broker (Tansu): the outputs of several
batches leave together as one record batch, the urgent topics' at once, and every
held record is on the broker before the offsets of its input are committed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.record.memory_records import MemoryRecords

from cityops.base.kafka_admin import committed_offsets, ensure_topics
from cityops.base.kafka_handler import Batch, Handler, LoopConfig
from cityops.base.kafka_loop import ConsumeLoop
from cityops.base.kafka_send import Out
from cityops.base.settings import Settings, load_settings
from cityops.stack.broker import EmbeddedBroker
from streams import topics
from tests.cityops.base.loop_helpers import eventually, send_each

pytestmark = pytest.mark.integration


class _Echo(Handler):
    """Each input record gives one record of `bulk_out` and one of `urgent_out`; a
    checkpoint only once the test asks for it."""

    def __init__(self, bulk_out: str, urgent_out: str) -> None:
        self.bulk_out = bulk_out
        self.urgent_out = urgent_out
        self.processed = 0
        self.batches = 0
        self.want_checkpoint = False

    def process(self, batch: Batch) -> list[Out]:
        out: list[Out] = []
        for records in batch.values():
            for r in records:
                self.processed += 1
                out.append(Out(self.bulk_out, None, r.value, 0))
                out.append(Out(self.urgent_out, None, r.value, 0))
        self.batches += 1
        return out

    def checkpoint_due(self) -> bool:
        return self.want_checkpoint

    async def checkpoint(self) -> list[Out]:
        self.want_checkpoint = False
        return []


async def _batches(bootstrap: str, topic: str) -> list[list[bytes]]:
    """The record batches stored in partition 0 of `topic`, each as its values."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        end = (await consumer.end_offsets([tp]))[tp]
        node = next(iter(consumer._client.cluster.brokers())).nodeId
        found: list[list[bytes]] = []
        offset = 0
        while offset < end:
            request = FetchRequest(100, 1, 1 << 20, 0, [(topic, [(0, offset, 1 << 20)])])
            response = await consumer._client.send(node, request)
            records = MemoryRecords(response.topics[0][1][0][-1])
            while (batch := records.next_batch()) is not None:
                found.append([r.value for r in batch])
                offset = batch.next_offset
        return found
    finally:
        await consumer.stop()


def _setup(
    broker: EmbeddedBroker, topic_prefix: str, tmp_path: Path, group: str, linger_s: float
) -> tuple[Settings, str, _Echo, LoopConfig]:
    """Settings, the source topic, an echo handler into a bulk and an urgent topic,
    and a loop configuration that checkpoints only when the handler asks."""
    settings: Settings = load_settings(
        kafka_bootstrap=broker.bootstrap,
        topic_prefix=topic_prefix,
        topic_partitions=1,
        state_dir=tmp_path,
    )
    source = settings.topic(topics.GAS_DETECTOR)
    handler = _Echo(settings.topic(topics.ROLLUPS), settings.topic(topics.ALERTS))
    config = LoopConfig(
        broker.bootstrap,
        group,
        f"{group}-client",
        (source,),
        commit_interval_s=3600.0,  # checkpoints only when the handler asks
        urgent_out_topics=(handler.urgent_out,),
        out_linger_s=linger_s,
    )
    return settings, source, handler, config


def test_held_outputs_leave_as_one_batch_before_their_offsets_are_committed(
    broker: EmbeddedBroker, topic_prefix: str, tmp_path: Path
) -> None:
    group = f"{topic_prefix}linger-group"
    # held until the checkpoint
    settings, source, handler, config = _setup(broker, topic_prefix, tmp_path, group, 3600.0)
    values = [b"e0", b"e1", b"e2"]

    async def scenario() -> tuple[list[list[bytes]], list[list[bytes]], list, dict]:
        await ensure_topics(settings, (topics.GAS_DETECTOR, topics.ROLLUPS, topics.ALERTS))
        stop = asyncio.Event()
        loop = ConsumeLoop(config, handler, stop)
        task = asyncio.create_task(loop.run())
        try:
            # three records sent one by one: three batches of the loop
            for i, value in enumerate(values):
                await send_each(broker.bootstrap, source, [value])
                await eventually(lambda i=i: handler.processed > i, f"record {i}")
            urgent_before = await _batches(broker.bootstrap, handler.urgent_out)
            bulk_before = await _batches(broker.bootstrap, handler.bulk_out)
            handler.want_checkpoint = True
            await eventually(lambda: loop.checkpoints >= 1, "the checkpoint")
            committed = await committed_offsets(settings, group, (source,))
            bulk_after = await _batches(broker.bootstrap, handler.bulk_out)
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
        return urgent_before, bulk_before, bulk_after, committed

    urgent_before, bulk_before, bulk_after, committed = asyncio.run(scenario())
    # the urgent outputs left with their batch, one record batch each
    assert urgent_before == [[v] for v in values]
    # the others waited: nothing of them before the checkpoint, then one batch
    assert bulk_before == []
    assert bulk_after == [values]
    assert committed == {TopicPartition(source, 0): len(values)}


def test_held_outputs_leave_after_the_linger_without_a_checkpoint(
    broker: EmbeddedBroker, topic_prefix: str, tmp_path: Path
) -> None:
    group = f"{topic_prefix}linger-short"
    settings, source, handler, config = _setup(broker, topic_prefix, tmp_path, group, 0.2)

    async def scenario() -> tuple[list[list[bytes]], int]:
        await ensure_topics(settings, (topics.GAS_DETECTOR, topics.ROLLUPS, topics.ALERTS))
        stop = asyncio.Event()
        loop = ConsumeLoop(config, handler, stop)
        task = asyncio.create_task(loop.run())
        try:
            await send_each(broker.bootstrap, source, [b"only"])
            await eventually(lambda: handler.processed == 1, "the record")
            held: list[list[bytes]] = []
            deadline = asyncio.get_running_loop().time() + 30
            while not held and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.1)
                held = await _batches(broker.bootstrap, handler.bulk_out)
            checkpoints = loop.checkpoints
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
        return held, checkpoints

    held, checkpoints = asyncio.run(scenario())
    assert held == [[b"only"]]
    assert checkpoints == 0  # sent by the linger, not by a checkpoint
