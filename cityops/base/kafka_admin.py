"""Kafka administration: create the CityOps topics (idempotent).

The caller names the topics (`streams.topics.ALL_TOPICS` for the whole pipeline):
this base module knows Kafka, not the contract's topic list.
"""

from __future__ import annotations

import contextlib
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from cityops.base.settings import Settings

log = logging.getLogger(__name__)


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
