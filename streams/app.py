"""The Faust app: thin agents around `streams.pipeline.Processor`.

Each agent takes a batch of events, hands the raw bytes to the processor,
sends what comes back (dead letters, alerts, roll-ups) and counts.

At-least-once (Tansu's transactions are incomplete, DESIGN.md): `take_events`
acknowledges a batch's events only after the loop body that sent its records
returns, and Faust flushes its producer before every offset commit
(`faust/transport/consumer.py`, `_commit_offsets`), so a committed offset never
runs ahead of the alerts and roll-ups it caused.

The agents share one rule-state store (acknowledgements change the alerts of
every feed). `BatchRunner` runs one batch at a time: process, wait until the
broker has every output, then write the state. Without the lock, an agent's
`flush()` could persist the pending state of another agent whose outputs were
still unsent (a `kill -9` then loses those alerts: their events are stale on
replay); without waiting for the outputs, the changelog record could reach the
broker before the alert it accounts for.

The app runs on `streams.faust_transport`: Faust's consumer with the commit
and recovery fixes a restart on Tansu needs (issue 13, item 6).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping

import faust
from prometheus_client import CollectorRegistry

from cityops.base.kafka_admin import ensure_topics
from cityops.base.metrics import WorkerMetrics, serve
from cityops.base.settings import Settings
from streams import topics
from streams.faust_transport import App
from streams.outputs import build_processor, count_output, output_records
from streams.pipeline import Output, RawMessage
from streams.state import BufferedJsonStore

log = logging.getLogger(__name__)

# Measured on Tansu (2 cores): batches of up to 1000 events within 100 ms keep
# per-event overhead of the agent loop small without adding visible latency.
BATCH_MAX = 1000
BATCH_WITHIN_S = 0.1


class BatchRunner:
    """Process, deliver, persist: one batch at a time across the agents.

    The agents share one buffered rule-state store, so the lock keeps another
    agent's pending writes out of this batch's `flush()`; `send` returns only
    when the broker has every output, so the state written after it never
    accounts for an output that could still be lost.
    """

    def __init__(self, state: BufferedJsonStore, send: Callable[[Output], Awaitable[None]]) -> None:
        self.state = state
        self.send = send
        self.lock = asyncio.Lock()

    async def run(
        self, handle: Callable[[list[RawMessage]], Output], batch: list[RawMessage]
    ) -> None:
        async with self.lock:
            out = handle(batch)
            # Outputs first, then the state: after a crash between the two the
            # batch is re-processed against the old state and re-sends (alert
            # ids are deterministic, the sink is idempotent); the other order
            # could record a transition whose alert was never sent.
            await self.send(out)
            self.state.flush()


def create_app(settings: Settings, registry: CollectorRegistry | None = None) -> faust.App:
    if not settings.kafka_bootstrap:
        raise ValueError("create_app needs settings.kafka_bootstrap")
    datadir = settings.state_dir / "faust"
    datadir.mkdir(parents=True, exist_ok=True)
    app = App(
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

    # Output topics by full name; the records come from streams.outputs, shared
    # with the direct runtime.
    out_topics: dict[str, faust.TopicT] = {
        settings.topic(name): app.topic(settings.topic(name), key_type=bytes, value_type=bytes)
        for name in (topics.ALERTS, topics.ROLLUPS, topics.DEADLETTER)
    }

    def feed_topic(name: str) -> faust.TopicT:
        return app.topic(settings.topic(name), key_type=bytes, value_type=bytes)

    # Rule state lives in a changelog-backed table so a restarted worker
    # resumes with the alerts it had open; writes are buffered per batch.
    # use_partitioner: the changelog partition comes from the key, so the
    # batch flush needs no "current event" (Faust refuses table writes outside
    # stream iteration otherwise, measured).
    table: MutableMapping[bytes, bytes] = app.Table(
        "rules-state", default=None, key_type=bytes, value_type=bytes, use_partitioner=True
    )
    processor, state = build_processor(settings, table)

    async def send(out: Output) -> None:
        """Send a batch's outputs and wait until the broker has all of them."""
        count_output(metrics, out)
        pending = [
            await out_topics[topic_name].send(key=key, value=value)
            for topic_name, key, value in output_records(settings, out)
        ]
        if pending:
            # A refused send raises here: the agent crashes before the state is
            # written and its events are acked, so they are processed again.
            await asyncio.gather(*pending)

    runner = BatchRunner(state, send)

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
                await runner.run(processor.handle_feed, batch)

        app.agent(feed_topic(feed), name=f"cityops.feed.{feed}")(feed_agent)

    async def ack_agent(stream: faust.StreamT) -> None:
        async for batch in raw_batches(stream, topics.ALERTS_ACK):
            await runner.run(processor.handle_acks, batch)

    app.agent(feed_topic(topics.ALERTS_ACK), name="cityops.acks")(ack_agent)

    async def escalation_tick() -> None:
        # The processing-time fallback of escalation (Processor.tick); usually
        # nothing. Through the runner: it writes the same shared state.
        await runner.run(lambda _: processor.tick(), [])

    app.timer(interval=1.0, name="cityops.escalation_tick")(escalation_tick)

    return app


def run_worker(settings: Settings) -> int:
    """`cityops worker`: run the Faust worker until SIGTERM/SIGINT."""
    # Create the topics with the configured partitions before Faust subscribes:
    # a broker's auto-creation would use its own default (4 on Kafka in compose).
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(ensure_topics(settings, topics.ALL_TOPICS))
    finally:
        loop.close()
    registry = CollectorRegistry()
    serve(registry, settings.metrics_port_worker, settings.metrics_host)
    app = create_app(settings, registry)
    worker = faust.Worker(app, loglevel=settings.log_level.lower(), quiet=True)
    worker.execute_from_commandline()  # returns via SystemExit on shutdown
    return 0
