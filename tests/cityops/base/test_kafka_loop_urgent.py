"""`LoopConfig.urgent_topics` against the real broker (Tansu): records of an urgent topic
are handed over while a checkpoint is being made, and their offsets wait for the next
checkpoint (the sink's alerts, `sinks/sink.py`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiokafka import TopicPartition

from cityops.base.kafka_admin import committed_offsets, ensure_topics
from cityops.base.kafka_handler import Batch, Handler, LoopConfig
from cityops.base.kafka_loop import ConsumeLoop
from cityops.base.kafka_send import Out
from cityops.base.settings import Settings, load_settings
from cityops.stack.broker import EmbeddedBroker
from streams import topics
from tests.cityops.base.loop_helpers import eventually, send_each

pytestmark = pytest.mark.integration


class _SlowCheckpoint(Handler):
    """Its first checkpoint holding bulk records waits until the test releases it."""

    def __init__(self, bulk: str) -> None:
        self.bulk = bulk
        self.pending_bulk = 0
        self.in_checkpoint = False
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.during_checkpoint: list[bytes] = []
        self.processed: list[tuple[str, bytes]] = []

    def process(self, batch: Batch) -> list[Out]:
        for tp, records in batch.items():
            for r in records:
                self.processed.append((tp.topic, r.value))
                if tp.topic == self.bulk:
                    self.pending_bulk += 1
                elif self.in_checkpoint:
                    self.during_checkpoint.append(r.value)
        return []

    def checkpoint_due(self) -> bool:
        return self.pending_bulk > 0

    async def checkpoint(self) -> list[Out]:
        if self.pending_bulk and not self.release.is_set():
            self.in_checkpoint = True
            self.entered.set()
            await self.release.wait()
            self.in_checkpoint = False
        self.pending_bulk = 0
        return []


def test_urgent_records_are_handed_over_during_a_checkpoint_and_committed_after_the_next(
    broker: EmbeddedBroker, topic_prefix: str, tmp_path: Path
) -> None:
    settings: Settings = load_settings(
        kafka_bootstrap=broker.bootstrap,
        topic_prefix=topic_prefix,
        topic_partitions=1,
        state_dir=tmp_path,
    )
    urgent, bulk = settings.topic(topics.ALERTS), settings.topic(topics.GAS_DETECTOR)
    group = f"{topic_prefix}urgent-group"

    async def scenario() -> tuple[_SlowCheckpoint, dict, dict]:
        await ensure_topics(settings, (topics.ALERTS, topics.GAS_DETECTOR))
        await send_each(broker.bootstrap, bulk, [b"b0", b"b1", b"b2"])
        handler = _SlowCheckpoint(bulk)
        stop = asyncio.Event()
        config = LoopConfig(
            broker.bootstrap,
            group,
            f"{group}-client",
            (urgent, bulk),
            commit_interval_s=3600.0,  # checkpoints only when the handler asks
            produce=False,
            urgent_topics=(urgent,),
        )
        loop = ConsumeLoop(config, handler, stop)
        task = asyncio.create_task(loop.run())
        try:
            await asyncio.wait_for(handler.entered.wait(), 60)
            # the checkpoint of the bulk records is under way: an urgent record now
            await send_each(broker.bootstrap, urgent, [b"u0"])
            await eventually(lambda: handler.during_checkpoint, "the urgent record")
            handler.release.set()
            await eventually(lambda: loop.checkpoints >= 1, "the first checkpoint")
            first = await committed_offsets(settings, group, (urgent, bulk))
            # a bulk record makes the handler ask for the next checkpoint
            await send_each(broker.bootstrap, bulk, [b"b3"])
            await eventually(lambda: loop.checkpoints >= 2, "the second checkpoint")
            second = await committed_offsets(settings, group, (urgent, bulk))
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
        return handler, first, second

    handler, first, second = asyncio.run(scenario())
    assert handler.during_checkpoint == [b"u0"]
    # the first checkpoint took its batch before u0 came: it commits the bulk only
    assert first == {TopicPartition(bulk, 0): 3, TopicPartition(urgent, 0): None}
    assert second == {TopicPartition(bulk, 0): 4, TopicPartition(urgent, 0): 1}
    assert [v for t, v in handler.processed if t == bulk] == [b"b0", b"b1", b"b2", b"b3"]
