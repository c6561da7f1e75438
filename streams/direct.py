"""`CITYOPS_WORKER_RUNTIME=direct`: the worker without Faust.

The same pure `streams.pipeline.Processor` (rules, windows, dead-lettering,
routing labels) as `streams.app`, driven by one aiokafka `getmany` consumer and
one aiokafka producer. docs/benchmarks.md measured the Faust worker at ~1.6-2k
events/s on 2 cores with only ~25 % of its time in our code: the rest was
Faust's per-message stream machinery and one changelog message per state key
pushed through its Python producer buffer. Here the per-message cost is the
processor's alone; Kafka I/O is paid per batch.

One loop iteration = one batch:

1. `getmany` up to `BATCH_MAX` records from the four feeds and `alerts.ack.v1`;
2. per topic, in offset order, `handle_feed` / `handle_acks` (feeds in the fixed
   order of `streams.topics.FEED_TOPICS`, acks last);
3. `BufferedJsonStore.flush()` once: the changed rule-state keys land in a
   `ChangeTrackingTable`, which remembers them;
4. send dead letters, alerts and roll-ups (same keys and JSON as `streams.app`)
   and the changed keys to the compacted changelog `<worker_id>-rules-state-changelog`;
5. wait until the broker acknowledged every one of those sends (acks=all);
6. only then commit the batch's offsets.

So a committed offset never runs ahead of the outputs or the state it caused
(at-least-once). A crash between 5 and 6 re-reads the batch on restart with a
state that already saw it: the engine ignores stale readings per entity
(`is_stale`), so no alert fires twice; a re-read roll-up window may be sent
again (as with Faust). A send the broker refuses (after aiokafka's own
retries) is retried, with backoff, until it succeeds or the worker is stopped;
offsets are not committed meanwhile, and the next batch waits. A retried alert
can then land after a later alert of the same batch.

The state is global, not per partition: one worker process per `worker_id`
(settings.py explains the single partition). A rebalance waits for the batch
in hand to be committed (`_FinishOnRevoke`).

The changelog holds one message per changed key (key = the state key, value =
its JSON, None = deleted) rather than one message per batch: compaction keeps
the last value of each key, so the topic stays bounded by the number of keys
and a restart reads each live key once; a per-batch blob cannot be compacted
(each blob would need every older one). The per-message cost is avoided by
appending to aiokafka `BatchBuilder`s and sending whole record batches, with no
future per record: measured on Tansu, 2.0 µs of CPU a record against 16.3 µs
with one `producer.send` per record (22 µs an event at 1.35 keys an event, a
third of the processing) and 1.5 µs for one blob per batch (docs/benchmarks.md).
At start the worker reads the changelog to its end before consuming anything.
Roll-up windows stay in memory, as in the Faust worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from datetime import UTC, datetime
from typing import Any

from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.partitioner import DefaultPartitioner
from prometheus_client import CollectorRegistry

from cityops.base.metrics import LagMetrics, WorkerMetrics, consumer_lag, serve
from cityops.base.settings import ConfigurationError, Settings
from streams import topics
from streams.outputs import build_processor, count_output, output_records
from streams.pipeline import Output, RawMessage

log = logging.getLogger(__name__)

# Records per batch. A batch is processed in one go (50-65 µs of CPU an event
# in the megacity bench, docs/benchmarks.md), so 5,000 bound a batch at ~0.3 s:
# large enough that the per-batch Kafka round trips (produce + commit, a few ms
# on Tansu) cost a few per cent, small enough to keep alert latency well under
# a second when the worker keeps up (a batch then holds what arrived meanwhile).
BATCH_MAX = 5000
# How long an idle getmany waits: also how quickly a stop request is noticed.
POLL_TIMEOUT_MS = 200
# A feed message is ~300-400 bytes; 8 MiB per partition lets one fetch carry a
# whole batch of one feed instead of the 1 MiB default (~3,000 messages).
FETCH_PARTITION_BYTES = 8 * 1024 * 1024
# Producer batches: 512 KiB holds ~3,000 changelog records, so a batch of
# changes goes out in a handful of record batches; linger 5 ms as in streams.app.
PRODUCER_BATCH_BYTES = 512 * 1024
PRODUCER_REQUEST_BYTES = 8 * 1024 * 1024
LINGER_MS = 5
# Retries of a refused send: short first, capped (as the sink does).
BACKOFF_FIRST_S = 0.2
BACKOFF_MAX_S = 10.0
LAG_INTERVAL_S = 2.0

CHANGELOG_SUFFIX = "-rules-state-changelog"

# Garbage collector thresholds of the worker process (CPython's default: 700, 10,
# 10). A batch keeps thousands of state dicts alive until its flush, so with the
# defaults they are promoted into the old generations and set off full
# collections that traverse every roll-up window object: 20-25 % of the
# processing CPU on megacity (`python -m cityops.bench.processing`, gc callbacks: 3.5 s of
# GC in ~13 s, 16 full collections of ~170 ms in 120 s of event time). With
# these, ~1 s and no full collection; memory is unchanged (nothing here relies
# on the collector: state is freed by reference counting).
GC_THRESHOLDS = (10_000, 20, 20)


def tune_gc() -> tuple[int, int, int]:
    """Apply GC_THRESHOLDS to the process; returns the thresholds before."""
    previous = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    return previous


def changelog_topic(settings: Settings) -> str:
    """The compacted topic that holds the rule state (Faust's name for its table)."""
    return f"{settings.worker_id}{CHANGELOG_SUFFIX}"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ChangeTrackingTable(MutableMapping[bytes, bytes]):
    """A dict of the encoded rule state that remembers what changed since `take_changes`.

    `BufferedJsonStore.flush` writes here once per batch; the changes are then
    the batch's changelog records (None = deleted).
    """

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}
        self.changes: dict[bytes, bytes | None] = {}

    def __getitem__(self, key: bytes) -> bytes:
        return self.data[key]

    def __contains__(self, key: object) -> bool:
        return key in self.data

    def get(self, key: bytes, default: Any = None) -> Any:
        # Mapping.get would go through __getitem__ and a KeyError on every miss.
        return self.data.get(key, default)

    def __setitem__(self, key: bytes, value: bytes) -> None:
        # `BufferedJsonStore.flush` hands over a compact copy of orjson's output
        # (orjson's own bytes keep ~4 KiB each: 1.35 GiB RSS on megacity before).
        self.data[key] = value
        self.changes[key] = value

    def __delitem__(self, key: bytes) -> None:
        del self.data[key]
        self.changes[key] = None

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def restore(self, key: bytes, value: bytes | None) -> None:
        """Apply one changelog record (not itself a change)."""
        if value is None:
            self.data.pop(key, None)
        else:
            self.data[key] = value

    def take_changes(self) -> dict[bytes, bytes | None]:
        changes, self.changes = self.changes, {}
        return changes


# A send that can be repeated: returns the future the broker's answer resolves.
_Send = Callable[[], Awaitable["asyncio.Future[Any]"]]


class DirectWorker:
    def __init__(
        self,
        settings: Settings,
        stop: asyncio.Event,
        registry: CollectorRegistry | None = None,
    ) -> None:
        if not settings.kafka_bootstrap:
            raise ConfigurationError(
                "the worker needs CITYOPS_KAFKA_BOOTSTRAP (or run `cityops up`)"
            )
        self.settings = settings
        self.stop = stop
        registry = registry if registry is not None else CollectorRegistry()
        self.metrics = WorkerMetrics(registry)
        self.lag = LagMetrics(registry)
        self.table = ChangeTrackingTable()
        self.processor, self.state = build_processor(settings, self.table)
        self.changelog = changelog_topic(settings)
        self.bare = {settings.topic(t): t for t in (*topics.FEED_TOPICS, topics.ALERTS_ACK)}
        self.order = {name: i for i, name in enumerate((*topics.FEED_TOPICS, topics.ALERTS_ACK))}
        self.partitioner = DefaultPartitioner()
        self.changelog_partitions: list[int] = [0]
        self.producer: AIOKafkaProducer | None = None
        self.consumer: AIOKafkaConsumer | None = None
        self.batches = 0
        # Held from getmany's result to its commit: a rebalance waits for it
        # (`_FinishOnRevoke`), so a batch is never committed by a former owner.
        self.lock = asyncio.Lock()

    # --- start: changelog topic and restore ----------------------------------
    async def ensure_changelog(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap)
        await admin.start()
        try:
            if self.changelog not in set(await admin.list_topics()):
                # One partition: the state is global to the (single) worker, and
                # one partition keeps restore a single ordered read.
                topic = NewTopic(self.changelog, 1, 1, topic_configs={"cleanup.policy": "compact"})
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics([topic])
                log.info("created the changelog %s (cleanup.policy=compact)", self.changelog)
        finally:
            await admin.close()

    async def restore(self) -> int:
        """Read the changelog to its end into the table; returns the records read."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=FETCH_PARTITION_BYTES,
            fetch_max_wait_ms=100,  # the empty poll that ends the restore
        )
        await consumer.start()
        read = 0
        try:
            partitions = consumer.partitions_for_topic(self.changelog)
            if not partitions:
                await consumer._client.force_metadata_update()  # a topic created just now
                partitions = consumer.partitions_for_topic(self.changelog) or {0}
            self.changelog_partitions = sorted(partitions)
            tps = [TopicPartition(self.changelog, p) for p in self.changelog_partitions]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            end = await consumer.end_offsets(tps)
            # Tansu's ListOffsets answers the base offset of the last record batch
            # + 1, not the log end (measured), so reaching `end` does not prove the
            # whole log was read: read on until a poll past it comes back empty.
            # Nothing else writes the changelog meanwhile: this worker is its writer.
            while True:
                data = await consumer.getmany(timeout_ms=200, max_records=50_000)
                for records in data.values():
                    for record in records:
                        self.table.restore(record.key, record.value)
                    read += len(records)
                if data:
                    continue
                positions = {tp: await consumer.position(tp) for tp in tps}
                if all(positions[tp] >= end[tp] for tp in tps):
                    break
        finally:
            await consumer.stop()
        return read

    # --- one batch ------------------------------------------------------------
    def process(self, data: dict[TopicPartition, list[ConsumerRecord[Any, Any]]]) -> Output:
        """Run the processor over one getmany result; returns everything to send."""
        by_topic: dict[str, list[RawMessage]] = {}
        for tp, records in data.items():
            bare = self.bare[tp.topic]
            batch = by_topic.setdefault(bare, [])
            batch.extend(
                RawMessage(bare, r.topic, r.partition, r.offset, r.key, r.value) for r in records
            )
        total = Output()
        for bare in sorted(by_topic, key=self.order.__getitem__):
            batch = by_topic[bare]
            self.metrics.events_in.labels(bare).inc(len(batch))
            if bare == topics.ALERTS_ACK:
                out = self.processor.handle_acks(batch)
            else:
                out = self.processor.handle_feed(batch)
            total.deadletters += out.deadletters
            total.alerts += out.alerts
            total.rollups += out.rollups
            total.latencies += out.latencies
            total.valid += out.valid
        self.state.flush()
        return total

    async def send(self, out: Output) -> list[_Send]:
        """Hand the batch's outputs and state changes to the producer (not awaited)."""
        producer = self.producer
        assert producer is not None
        sends: list[_Send] = []
        for topic, key, value in output_records(self.settings, out):

            def send_one(t: str = topic, k: bytes = key, v: bytes = value) -> Any:
                return producer.send(t, v, key=k)

            sends.append(send_one)
        changes = self.table.take_changes()
        per_partition: dict[int, list[tuple[bytes, bytes | None]]] = {}
        partitions = self.changelog_partitions
        for item in changes.items():
            p = (
                partitions[0]
                if len(partitions) == 1
                else self.partitioner(item[0], partitions, partitions)
            )
            per_partition.setdefault(p, []).append(item)
        for partition, items in per_partition.items():
            sends.extend(self._changelog_sends(partition, items))
        return sends

    def _changelog_sends(
        self, partition: int, items: list[tuple[bytes, bytes | None]]
    ) -> list[_Send]:
        """Record batches of changelog records, each a repeatable send."""
        producer = self.producer
        assert producer is not None
        chunks: list[list[tuple[bytes, bytes | None]]] = []
        sends: list[_Send] = []
        current: list[tuple[bytes, bytes | None]] = []
        size = 0
        for item in items:
            # ~ the record's bytes in the batch (varint headers included)
            n = len(item[0]) + len(item[1] or b"") + 32
            if current and size + n > PRODUCER_BATCH_BYTES - 1024:
                chunks.append(current)
                current, size = [], 0
            current.append(item)
            size += n
        if current:
            chunks.append(current)
        for chunk in chunks:

            async def send_chunk(chunk: list[tuple[bytes, bytes | None]] = chunk) -> Any:
                futures = []
                builder = producer.create_batch()
                for key, value in chunk:
                    if builder.append(key=key, value=value, timestamp=None) is None:
                        # the size estimate was short: send what fits, go on in a new batch
                        futures.append(
                            await producer.send_batch(builder, self.changelog, partition=partition)
                        )
                        builder = producer.create_batch()
                        builder.append(key=key, value=value, timestamp=None)
                futures.append(
                    await producer.send_batch(builder, self.changelog, partition=partition)
                )
                return futures[0] if len(futures) == 1 else asyncio.gather(*futures)

            sends.append(send_chunk)
        return sends

    async def deliver(self, sends: list[_Send]) -> bool:
        """Start every send, then wait for the broker's acks; retry refused ones.

        Returns False when stopped before everything was delivered.
        """
        delay = BACKOFF_FIRST_S
        todo = sends
        while todo:
            futures: list[asyncio.Future[Any]] = []
            failed: list[_Send] = []
            for send in todo:
                try:
                    futures.append(await send())
                except KafkaError as exc:
                    log.warning("send failed (%s: %s)", type(exc).__name__, exc)
                    futures.append(_failed_future(exc))
            results = await asyncio.gather(*futures, return_exceptions=True)
            for send, result in zip(todo, results, strict=True):
                if isinstance(result, BaseException):
                    failed.append(send)
            if not failed:
                return True
            log.warning(
                "%d of %d sends were not acknowledged; retrying in %.1f s, offsets not committed",
                len(failed),
                len(todo),
                delay,
            )
            if self.stop.is_set():
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), delay)
            delay = min(delay * 2, BACKOFF_MAX_S)
            todo = failed
        return True

    async def handle(self, data: dict[TopicPartition, list[ConsumerRecord[Any, Any]]]) -> bool:
        """Process, deliver, commit one batch; False when stopped before delivery."""
        async with self.lock:
            out = self.process(data)
            count_output(self.metrics, out)
            if not await self.deliver(await self.send(out)):
                return False
            await self.commit(data)
            self.batches += 1
            return True

    async def commit(self, data: dict[TopicPartition, list[ConsumerRecord[Any, Any]]]) -> None:
        assert self.consumer is not None
        offsets = {tp: records[-1].offset + 1 for tp, records in data.items() if records}
        try:
            await self.consumer.commit(offsets)
        except KafkaError as exc:
            # Outputs and state are stored; the batch is re-read and its events
            # are stale for the rules (no duplicate alert).
            log.warning("offset commit failed (%s); the batch will be re-read", exc)

    # --- the loop -------------------------------------------------------------
    async def run(self) -> None:
        settings = self.settings
        await self.ensure_changelog()
        started = time.perf_counter()
        restored = await self.restore()
        log.info(
            "restored %d rule-state keys from %d changelog records in %.2f s",
            len(self.table),
            restored,
            time.perf_counter() - started,
        )
        self.producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap,
            client_id=f"{settings.worker_id}-producer",
            acks="all",
            linger_ms=LINGER_MS,
            max_batch_size=PRODUCER_BATCH_BYTES,
            max_request_size=PRODUCER_REQUEST_BYTES,
        )
        consumer = self.consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=settings.worker_id,
            client_id=f"{settings.worker_id}-{id(self):x}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=BATCH_MAX,
            max_partition_fetch_bytes=FETCH_PARTITION_BYTES,
            fetch_max_bytes=64 * 1024 * 1024,
            # Tansu holds a group join for the whole rebalance timeout (DESIGN.md).
            rebalance_timeout_ms=int(settings.broker_rebalance_timeout_s * 1000),
        )
        await self.producer.start()
        try:
            consumer.subscribe(list(self.bare), listener=_FinishOnRevoke(self))
            await consumer.start()
            log.info(
                "direct worker ready: group %s, %d topics, batches of up to %d",
                settings.worker_id,
                len(self.bare),
                BATCH_MAX,
            )
            lag_at = 0.0
            while not self.stop.is_set():
                data = await consumer.getmany(timeout_ms=POLL_TIMEOUT_MS, max_records=BATCH_MAX)
                if data and not await self.handle(data):
                    log.error(
                        "stopping with undelivered outputs: the batch's offsets are not "
                        "committed, so it is re-read on the next start"
                    )
                    break
                if time.monotonic() - lag_at >= LAG_INTERVAL_S:
                    lag_at = time.monotonic()
                    self.lag.set(settings.worker_id, await consumer_lag(consumer))
        finally:
            with contextlib.suppress(KafkaError):
                await consumer.stop()
            with contextlib.suppress(KafkaError):
                await self.producer.stop()
            log.info("direct worker stopped after %d batches", self.batches)


class _FinishOnRevoke(ConsumerRebalanceListener):
    """Let the batch in hand finish (delivered and committed) before partitions move."""

    def __init__(self, worker: DirectWorker) -> None:
        self.worker = worker

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        async with self.worker.lock:
            pass

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("worker assigned %d partitions", len(assigned))


def _failed_future(exc: BaseException) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    future.set_exception(exc)
    return future


async def run_direct(
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    registry: CollectorRegistry | None = None,
) -> None:
    """Run the direct worker until `stop` is set (or SIGTERM/SIGINT when `stop` is None)."""
    installed: list[signal.Signals] = []
    loop = asyncio.get_running_loop()
    if stop is None:
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        await DirectWorker(settings, stop, registry).run()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def run_worker(settings: Settings) -> int:
    """`cityops worker` with CITYOPS_WORKER_RUNTIME=direct."""
    logging.getLogger().setLevel(settings.log_level)
    tune_gc()
    registry = CollectorRegistry()
    serve(registry, settings.metrics_port_worker, settings.metrics_host)
    asyncio.run(run_direct(settings, registry=registry))
    return 0
