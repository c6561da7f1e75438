"""`CITYOPS_WORKER_RUNTIME=faust`: the keyed stages of `streams.stages` as Faust agents.

One agent per stage (entity, circuit, district) over the stage's input topics;
each keeps one task per input partition over that partition's slice of a Faust
table co-partitioned with the inputs (`streams.faust_stages`). Faust's own
recovery restores the tables of the partitions a worker is assigned before their
streams resume; on every revocation the tasks are dropped and rebuilt from the
restored tables at their partition's next batch.

At-least-once (Tansu's transactions are incomplete, DESIGN.md): a batch's
outputs are sent and acknowledged by the broker before its state is written,
`take_events` acknowledges the batch's events only after the loop body returns,
and Faust flushes its producer (changelog records included) before every offset
commit (`faust/transport/consumer.py`, `_commit_offsets`; that flush waits for every
changelog record only with `streams.faust_transport.Producer`). So a committed offset
never runs ahead of the outputs and state it caused, and a `kill -9` re-reads
from the committed offset, at or behind the restored state (the runner drops
what the state has seen, `faust_stages.Inputs`).

Each stage owns its tables, so no agent's `flush()` can persist another's
state (the shared buffered store of the former one-processor agents could,
issue 13); within a stage a lock keeps the tick timer out of a batch.

The app runs on `streams.faust_transport`: Faust's consumer with the commit
and recovery fixes a restart on Tansu needs (issue 13, item 6), and its tables
are recovered by `streams.faust_recovery` (a rebalance during recovery restarts
it). A task's runner drops records it has applied and reads back those the
consumer skipped (`faust_stages.Inputs`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from prometheus_client import CollectorRegistry

from cityops.base.kafka_admin import ensure_topics
from cityops.base.kafka_send import PRODUCER_REQUEST_BYTES
from cityops.base.metrics import WorkerMetrics, serve
from cityops.base.settings import Settings
from streams import topics
from streams.faust_stages import PartitionState, StageRunner, bare_names, read_ranges
from streams.faust_transport import App
from streams.outputs import count_output, output_records
from streams.pipeline import Output
from streams.stages import StageOutput
from streams.stages.build import build_stages, stage_topics
from streams.stages.feed_silence import FeedSilence

log = logging.getLogger(__name__)

# Measured on Tansu (2 cores): batches of up to 1000 events within 100 ms keep
# per-event overhead of the agent loop small without adding visible latency.
BATCH_MAX = 1000
BATCH_WITHIN_S = 0.1
# The stages' processing-time hook (idleness of merged inputs, feed silence).
TICK_INTERVAL_S = 1.0
FEED_POLL_INTERVAL_S = 2.0


def create_app(settings: Settings, registry: CollectorRegistry | None = None) -> faust.App:
    if not settings.kafka_bootstrap:
        raise ValueError("create_app needs settings.kafka_bootstrap")
    bootstrap = settings.kafka_bootstrap
    datadir = settings.state_dir / "faust"
    datadir.mkdir(parents=True, exist_ok=True)
    app = App(
        settings.worker_id,
        broker=[f"kafka://{s.strip()}" for s in bootstrap.split(",")],
        store="memory://",
        processing_guarantee="at_least_once",
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=1,
        broker_rebalance_timeout=settings.broker_rebalance_timeout_s,
        broker_session_timeout=settings.worker_session_timeout_s,
        broker_heartbeat_interval=settings.worker_heartbeat_interval_s,
        table_cleanup_interval=settings.table_cleanup_interval_s,
        consumer_auto_offset_reset="earliest",
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=False,
        producer_linger=0.005,
        # A stage's state record can pass Faust's default 1 MB: the district stage's
        # `~merge` while a partition holds its gate back (3.7 MB measured on the small
        # profile's 50-minute incident stream, tests/fixtures/topology.py), the circuit
        # stage's `~gate` on megacity (~2 MB). At 1 MB the send failed with
        # MessageSizeTooLargeError and the worker crashed (the kill tests' "crashed at
        # start-up", issue 13 item 5). The direct runtime's producer allows the same.
        producer_max_request_size=PRODUCER_REQUEST_BYTES,
        datadir=str(datadir / settings.worker_id),
        # Faust's default (1) keeps a standby copy of every table partition on another
        # worker: on the memory store a standby gives nothing to a failover (the
        # recovery of a gained partition reads its changelog from the start anyway),
        # and reading the standbys is recovery work on every rebalance.
        table_standby_replicas=0,
    )
    metrics = WorkerMetrics(registry if registry is not None else CollectorRegistry())
    bare = bare_names(settings.topic)
    out_topics: dict[str, faust.TopicT] = {}

    def topic(name: str) -> faust.TopicT:
        found = out_topics.get(name)
        if found is None:
            found = out_topics[name] = app.topic(name, key_type=bytes, value_type=bytes)
        return found

    async def send(result: StageOutput) -> None:
        """Send a batch's outputs and internal records; wait until the broker has all."""
        count_output(metrics, result.out)
        pending = [
            await topic(name).send(key=key, value=value)
            for name, key, value in output_records(settings, result.out)
        ]
        pending += [
            await topic(r.topic).send(key=r.key, value=r.value, partition=r.partition)
            for r in result.records
        ]
        if pending:
            # A refused send raises here: the agent crashes before the state is
            # written and its events are acked, so they are processed again.
            await asyncio.gather(*pending)

    async def read(p: int, ranges: dict[str, tuple[int, int]]) -> Any:
        return await read_ranges(bootstrap, bare, p, ranges)

    runners: list[StageRunner] = []
    for stage in build_stages(settings):
        table = app.Table(
            f"{stage.name}-faust-state",
            default=None,
            key_type=bytes,
            value_type=bytes,
            partitions=settings.topic_partitions,
        )
        runner = StageRunner(stage, table, bare, send, read)
        runners.append(runner)

        async def agent(stream: faust.StreamT, runner: StageRunner = runner) -> None:
            # take_events is in faust-streaming's Stream but not in its StreamT protocol.
            batches = stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S)  # type: ignore[attr-defined]
            async for events in batches:
                messages = [event.message for event in events]
                for msg in messages:
                    name = bare.get(msg.topic)
                    if name in topics.FEED_NAME and runner is runners[0]:
                        metrics.events_in.labels(name).inc()
                await runner.run(messages)

        source = app.topic(*stage.inputs, key_type=bytes, value_type=bytes)
        app.agent(source, name=f"cityops.stage.{stage.name}")(agent)

    entity = runners[0]
    silence = FeedSilence(settings)
    feed_ends: dict[str, Any] = {"consumer": None, "at": 0.0}

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def on_revoked(sender: Any, revoked: Any, **kwargs: Any) -> None:
        for runner in runners:
            async with runner.lock:
                runner.drop()
        silence.owns(None, time.monotonic())

    async def poll_feed_ends() -> None:
        consumer = feed_ends["consumer"]
        if consumer is None:
            consumer = feed_ends["consumer"] = AIOKafkaConsumer(bootstrap_servers=bootstrap)
            await consumer.start()
        n = settings.topic_partitions
        tps = [TopicPartition(settings.topic(t), p) for t in topics.FEED_TOPICS for p in range(n)]
        totals: dict[str, int] = {}
        for tp, end in (await consumer.end_offsets(tps)).items():
            feed = topics.FEED_NAME[bare[tp.topic]]
            totals[feed] = totals.get(feed, 0) + end
        silence.observe(totals, time.monotonic())

    async def tick() -> None:
        for runner in runners:
            await runner.tick()
        # `pipeline.feed_silent` is judged by the owner of partition 0 (as in
        # streams.direct), with its state in the entity table's partition 0.
        owned = any(tp.partition == 0 for tp in app.consumer.assignment())
        async with entity.lock:
            silence.owns(PartitionState(entity.table, 0) if owned else None, time.monotonic())
            if silence.table is None:
                return
            if time.monotonic() - feed_ends["at"] >= FEED_POLL_INTERVAL_S:
                feed_ends["at"] = time.monotonic()
                try:
                    await poll_feed_ends()
                except KafkaError as exc:
                    log.warning("polling the feeds' log ends failed: %s", exc)
            alerts = silence.tick(time.monotonic(), int(time.time() * 1000))
            if alerts:
                await send(StageOutput(out=Output(alerts=alerts)))

    app.timer(interval=TICK_INTERVAL_S, name="cityops.stages.tick")(tick)

    return app


async def ensure_internal_topics(settings: Settings) -> None:
    """The stages' repartition topics, partitioned like the feeds."""
    names = stage_topics(settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [NewTopic(t, settings.topic_partitions, 1) for t in names.internal]
        new = [t for t in new if t.name not in existing]
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(new)
    finally:
        await admin.close()


def run_worker(settings: Settings) -> int:
    """`cityops worker`: run the Faust worker until SIGTERM/SIGINT."""
    # Create the topics with the configured partitions before Faust subscribes:
    # a broker's auto-creation would use its own default (4 on Kafka in compose).
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(ensure_topics(settings, topics.ALL_TOPICS))
        loop.run_until_complete(ensure_internal_topics(settings))
    finally:
        loop.close()
    registry = CollectorRegistry()
    serve(registry, settings.metrics_port_worker, settings.metrics_host)
    app = create_app(settings, registry)
    worker = faust.Worker(app, loglevel=settings.log_level.lower(), quiet=True)
    worker.execute_from_commandline()  # returns via SystemExit on shutdown
    return 0
