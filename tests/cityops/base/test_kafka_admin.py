"""Kafka administration against the real broker (Tansu): a group's committed offsets."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from cityops.base.kafka_admin import committed_offsets, ensure_topics
from cityops.base.settings import load_settings
from cityops.stack.broker import EmbeddedBroker
from streams import topics


def test_committed_offsets_are_read_without_joining_the_group(
    broker: EmbeddedBroker, topic_prefix: str, tmp_path: Path
) -> None:
    settings = load_settings(
        kafka_bootstrap=broker.bootstrap,
        topic_prefix=topic_prefix,
        topic_partitions=2,
        state_dir=tmp_path,
    )
    group = f"{topic_prefix}group"
    name = settings.topic(topics.ALERTS)
    first, second = TopicPartition(name, 0), TopicPartition(name, 1)

    async def scenario() -> tuple[dict[TopicPartition, int | None], ...]:
        await ensure_topics(settings, (topics.ALERTS,))
        before = await committed_offsets(settings, group, [name])
        member = AIOKafkaConsumer(
            bootstrap_servers=broker.bootstrap, group_id=group, enable_auto_commit=False
        )
        await member.start()
        try:
            member.assign([second])
            await member.commit({second: 3})
        finally:
            await member.stop()
        return before, await committed_offsets(settings, group, [name])

    before, after = asyncio.run(scenario())
    assert set(before) == set(after) == {first, second}
    assert before[first] is None and before[second] is None
    assert after[first] is None and after[second] == 3
