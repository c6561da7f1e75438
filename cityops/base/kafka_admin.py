"""Kafka administration: create the CityOps topics (idempotent).

The caller names the topics (`streams.topics.ALL_TOPICS` for the whole pipeline):
this base module knows Kafka, not the contract's topic list.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from cityops.base.settings import Settings

log = logging.getLogger(__name__)


async def committed_offsets(
    settings: Settings, group: str, names: Iterable[str]
) -> dict[TopicPartition, int | None]:
    """`group`'s committed offset on every partition of the full topic names `names` (None
    where it committed nothing), read by a consumer of the group that never subscribes, so
    it neither joins nor rebalances the group (OffsetFetch)."""
    assert settings.kafka_bootstrap, "committed_offsets needs a bootstrap server"
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        out: dict[TopicPartition, int | None] = {}
        for name in names:
            partitions = consumer.partitions_for_topic(name)
            if not partitions:
                await consumer._client.force_metadata_update()  # a topic created just now
                partitions = consumer.partitions_for_topic(name) or {0}
            for p in sorted(partitions):
                tp = TopicPartition(name, p)
                out[tp] = await consumer.committed(tp)
        return out
    finally:
        await consumer.stop()


async def ensure_topics(settings: Settings, names: tuple[str, ...]) -> list[str]:
    """Create each topic (with the configured partition count) unless it exists."""
    assert settings.kafka_bootstrap, "ensure_topics needs a bootstrap server"
    full = [settings.topic(n) for n in names]
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in full if n not in existing]
        if missing:
            # Another process may create them between list and create.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(n, settings.topic_partitions, 1) for n in missing]
                )
            log.info(
                "created %d topics (partitions per topic: %d)",
                len(missing),
                settings.topic_partitions,
            )
    finally:
        await admin.close()
    return full
