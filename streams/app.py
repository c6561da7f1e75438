"""The Faust app: thin agents around `streams.pipeline.Processor`.

Each agent takes a batch of events, hands the raw bytes to the processor,
sends what comes back (dead letters, alerts, roll-ups) and counts.

At-least-once (Tansu's transactions are incomplete, DESIGN.md): `take_events`
acknowledges a batch's events only after the loop body that sent its records
returns, and Faust flushes its producer before every offset commit
(`faust/transport/consumer.py`, `_commit_offsets`), so a committed offset never
runs ahead of the alerts and roll-ups it caused.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, MutableMapping
from datetime import UTC, datetime, timedelta

import faust
from prometheus_client import CollectorRegistry

from cityops.metrics import WorkerMetrics, serve
from cityops.settings import Settings
from cityops.stack.topics import ensure_topics
from sensors_sim.profiles import load_profile
from streams import topics
from streams.pipeline import Output, Processor, RawMessage
from streams.rules.engine import RuleEngine
from streams.rules.thresholds import load_thresholds
from streams.state import BufferedJsonStore
from streams.windows import RollupWindows

log = logging.getLogger(__name__)

# Measured on Tansu (2 cores): batches of up to 1000 events within 100 ms keep
# per-event overhead of the agent loop small without adding visible latency.
BATCH_MAX = 1000
BATCH_WITHIN_S = 0.1


def _utcnow() -> datetime:
    return datetime.now(UTC)


def create_app(settings: Settings, registry: CollectorRegistry | None = None) -> faust.App:
    if not settings.kafka_bootstrap:
        raise ValueError("create_app needs settings.kafka_bootstrap")
    datadir = settings.state_dir / "faust"
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.worker_id,
        broker=[f"kafka://{s.strip()}" for s in settings.kafka_bootstrap.split(",")],
        store="memory://",
        processing_guarantee="at_least_once",
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=1,
        broker_rebalance_timeout=settings.broker_rebalance_timeout_s,
        broker_session_timeout=max(settings.broker_rebalance_timeout_s, 10.0),
        table_cleanup_interval=settings.table_cleanup_interval_s,
        consumer_auto_offset_reset="earliest",
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=False,
        producer_linger=0.005,
        datadir=str(datadir / settings.worker_id),
    )
    metrics = WorkerMetrics(registry if registry is not None else CollectorRegistry())

    def topic(name: str) -> faust.TopicT:
        return app.topic(settings.topic(name), key_type=bytes, value_type=bytes)

    alerts_topic = topic(topics.ALERTS)
    rollups_topic = topic(topics.ROLLUPS)
    deadletter_topic = topic(topics.DEADLETTER)

    # Rule state lives in a changelog-backed table so a restarted worker
    # resumes with the alerts it had open; writes are buffered per batch.
    # use_partitioner: the changelog partition comes from the key, so the
    # batch flush needs no "current event" (Faust refuses table writes outside
    # stream iteration otherwise, measured).
    table: MutableMapping[bytes, bytes] = app.Table(
        "rules-state", default=None, key_type=bytes, value_type=bytes, use_partitioner=True
    )
    state = BufferedJsonStore(table)
    city = load_profile(settings.profile)
    engine = RuleEngine(
        load_thresholds(settings.rules_file),
        city,
        state,
        runbook_base_url=settings.runbook_base_url,
    )
    processor = Processor(
        engine,
        RollupWindows(city),
        clock=_utcnow,
        max_age=timedelta(seconds=settings.max_event_age_s),
        max_future=timedelta(seconds=settings.max_event_future_s),
    )

    async def send(out: Output) -> None:
        for dl in out.deadletters:
            metrics.deadletters.labels(dl.topic, dl.reason).inc()
            await deadletter_topic.send(key=dl.topic.encode(), value=dl.model_dump_json().encode())
        for alert in out.alerts:
            metrics.alerts.labels(alert.rule, alert.severity, alert.state).inc()
            await alerts_topic.send(key=alert.key.encode(), value=alert.model_dump_json().encode())
        for rollup in out.rollups:
            metrics.rollups.labels(rollup.feed).inc()
            if rollup.lit_rate is not None:
                metrics.district_lit_rate.labels(rollup.district).set(rollup.lit_rate)
            if rollup.warm_share is not None:
                metrics.district_heating_warm_share.labels(rollup.district).set(rollup.warm_share)
            await rollups_topic.send(
                key=f"{rollup.feed}:{rollup.district}".encode(),
                value=rollup.model_dump_json().encode(),
            )
        for feed, seconds in out.latencies:
            metrics.processing_latency.labels(feed).observe(seconds)

    async def raw_batches(
        stream: faust.StreamT, bare_topic: str
    ) -> AsyncIterator[list[RawMessage]]:
        # take_events is in faust-streaming's Stream but not in its StreamT protocol.
        batches = stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S)  # type: ignore[attr-defined]
        async for events in batches:
            batch = []
            for event in events:
                msg = event.message
                batch.append(
                    RawMessage(bare_topic, msg.topic, msg.partition, msg.offset, msg.key, msg.value)
                )
            metrics.events_in.labels(bare_topic).inc(len(batch))
            yield batch

    for feed in topics.FEED_TOPICS:

        async def feed_agent(stream: faust.StreamT, feed: str = feed) -> None:
            async for batch in raw_batches(stream, feed):
                out = processor.handle_feed(batch)
                # Outputs first, then the state: after a crash between the two the
                # batch is re-processed against the old state and re-sends (alert
                # ids are deterministic, the sink is idempotent); the other order
                # could record a transition whose alert was never sent.
                await send(out)
                state.flush()

        app.agent(topic(feed), name=f"cityops.feed.{feed}")(feed_agent)

    async def ack_agent(stream: faust.StreamT) -> None:
        async for batch in raw_batches(stream, topics.ALERTS_ACK):
            out = processor.handle_acks(batch)
            await send(out)
            state.flush()

    app.agent(topic(topics.ALERTS_ACK), name="cityops.acks")(ack_agent)

    return app


def run_worker(settings: Settings) -> int:
    """`cityops worker`: run the Faust worker until SIGTERM/SIGINT."""
    # Create the topics with the configured partitions before Faust subscribes:
    # a broker's auto-creation would use its own default (4 on Kafka in compose).
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(ensure_topics(settings))
    finally:
        loop.close()
    registry = CollectorRegistry()
    serve(registry, settings.metrics_port_worker, settings.metrics_host)
    app = create_app(settings, registry)
    worker = faust.Worker(app, loglevel=settings.log_level.lower(), quiet=True)
    worker.execute_from_commandline()  # returns via SystemExit on shutdown
    return 0
