"""`CITYOPS_WORKER_RUNTIME=direct`: the worker without Faust.

The keyed stages of `streams.stages` (entity, circuit, district: pure tasks, one
per input partition) driven by the shared consume loop `cityops.base.kafka_loop` (one
aiokafka consumer in the worker's group, range-assigned so partition p of every
input topic lands on one worker, and one producer). docs/benchmarks.md measured
the Faust worker at ~1.6-2k events/s on 2 cores, most of it Faust's per-message
machinery; here the per-message cost is the processors' alone and Kafka I/O is
paid per batch.

Per partition p the worker holds three tasks, each over its own
`ChangeTrackingTable`, whose changes go to partition p of the stage's compacted
changelog (`<worker_id>-<stage>-state-changelog`). The loop's checkpoint (every
`CITYOPS_WORKER_COMMIT_INTERVAL_S` and before partitions are given up) asks every
task to flush (rule state, roll-up windows, merge buffers), sends the changes,
waits for every output and change to be acknowledged, and only then commits the
offsets. So a `kill -9` loses nothing: the partition's next owner restores its
changelog partitions, which match the committed offsets, and re-reads from them;
the stages send the same records again and the receivers drop repeats.

Assignment: on revocation (eager rebalance: everything) the loop checkpoints and
the tasks are kept aside; on assignment the kept partitions that came back are
reused (nobody else can have processed them in between), the others dropped, and
exactly the gained partitions are restored from their changelogs before any of
their records is processed.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import time
from collections.abc import Iterator, MutableMapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from prometheus_client import CollectorRegistry

from cityops.base.kafka_loop import (
    FETCH_PARTITION_BYTES,
    Batch,
    ConsumeLoop,
    Handler,
    LoopConfig,
    Out,
)
from cityops.base.metrics import LagMetrics, WorkerMetrics, consumer_lag, serve
from cityops.base.settings import ConfigurationError, Settings
from streams import topics
from streams.outputs import count_output, output_records
from streams.pipeline import Output, RawMessage
from streams.stages import Stage, StageTask
from streams.stages.build import build_stages, stage_topics
from streams.stages.feed_silence import FeedSilence

log = logging.getLogger(__name__)

# Records per batch: 5,000 bound a batch at ~0.3 s of processing, keeping alert
# latency well under a second while per-batch round trips cost a few per cent.
BATCH_MAX = 5000
LAG_INTERVAL_S = 2.0
# Empty 1 s polls after which a replay range counts as no longer in the log.
REPLAY_EMPTY_POLLS = 10

# Garbage collector thresholds of the worker process (CPython's default: 700, 10,
# 10). A batch keeps thousands of state dicts alive until its flush, so with the
# defaults they are promoted into the old generations and set off full
# collections that traverse every roll-up window object: 20-25 % of the
# processing CPU on megacity (`python -m streams.perf`, gc callbacks: 3.5 s of
# GC in ~13 s, 16 full collections of ~170 ms in 120 s of event time). With
# these, ~1 s and no full collection; memory is unchanged (nothing here relies
# on the collector: state is freed by reference counting). A batch allocates
# far more than 10,000 containers, so each was still scanned several times per
# batch (young collections: 0.6-0.9 s of a 120 s run, 8 % of the processing):
# 100,000 scans most of them once or never (0.3 s; 2026-12-01, docs/benchmarks.md).
GC_THRESHOLDS = (100_000, 20, 20)


def tune_gc() -> tuple[int, int, int]:
    """Apply GC_THRESHOLDS to the process; returns the thresholds before."""
    previous = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    return previous


def changelog_topic(settings: Settings) -> str:
    """The entity stage's changelog (per-entity rule state, windows)."""
    return stage_topics(settings).changelog("entity")


class ChangeTrackingTable(MutableMapping[bytes, bytes]):
    """A dict of one task's encoded state that remembers what changed since `take_changes`.

    A task's flush writes here once per checkpoint; the changes are then the
    changelog records (None = deleted).
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


class _Partition:
    """One input partition: a task per stage, each over its own table."""

    def __init__(self, stages: Sequence[Stage], p: int, tables: list[ChangeTrackingTable]):
        self.tables = tables
        self.tasks: list[StageTask] = [s.task(p, t) for s, t in zip(stages, tables, strict=True)]


class StageHandler(Handler):
    """The worker's side of the consume loop: records -> tasks -> records."""

    def __init__(self, settings: Settings, metrics: WorkerMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.names = stage_topics(settings)
        entity, circuit, district = build_stages(settings)
        stages: list[Stage] = [entity, circuit, district]
        self.stages = tuple(stages)
        self.inputs: dict[str, tuple[str, tuple[int, ...]]] = {}  # topic -> (bare, stages)
        for i, stg in enumerate(self.stages):
            for topic in stg.inputs:
                bare = next((b for b in topics.ALL_TOPICS if settings.topic(b) == topic), topic)
                old = self.inputs.get(topic, (bare, ()))[1]
                self.inputs[topic] = (bare, (*old, i))
        self.parts: dict[int, _Partition] = {}
        self.kept: dict[int, _Partition] = {}
        self.silence = FeedSilence(settings)
        self.restore_consumer: AIOKafkaConsumer | None = None
        # the loop's consumer (committed offsets) and, per input partition, the next
        # offset this worker will process (= the committed one after a checkpoint)
        self.group_consumer: AIOKafkaConsumer | None = None
        self.position: dict[TopicPartition, int] = {}

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(self.inputs)

    # --- assignment ---
    async def assigned(self, partitions: Sequence[TopicPartition]) -> None:
        owned = {tp.partition for tp in partitions}
        kept, self.kept = self.kept, {}
        committed = await self._committed(owned)
        # A kept partition is reused only if the group's committed offsets are exactly
        # where this worker's own processing ended: otherwise someone else owned it
        # meanwhile (this member was out of the group for a generation), or the last
        # commit failed, and its state must come from the changelog.
        self.parts = {
            p: kept[p]
            for p in owned
            if p in kept
            and all(committed[tp] == self.position.get(tp) for tp in committed if tp.partition == p)
        }
        gained = sorted(owned - set(self.parts))
        stale = sorted(set(kept) & set(gained))
        if stale:
            log.warning("partitions %s moved while kept aside: restored from the changelog", stale)
        self.position.update({tp: o for tp, o in committed.items() if tp.partition in gained})
        if gained:
            started = time.perf_counter()
            tables, read = await self.restore(gained)
            for p in gained:
                self.parts[p] = _Partition(self.stages, p, tables[p])
                for task in self.parts[p].tasks:
                    ranges = task.replay_range()
                    if ranges:
                        task.replay(await self.read_ranges(p, ranges))
            log.info(
                "partitions %s restored from %d changelog records in %.2f s (kept %s)",
                gained,
                read,
                time.perf_counter() - started,
                sorted(set(self.parts) - set(gained)),
            )
        self.silence.owns(self.parts[0].tables[0] if 0 in self.parts else None, time.monotonic())
        # a rebalance paused every source: the merging tasks' idleness restarts now
        for part in self.parts.values():
            for task in part.tasks:
                resume = getattr(task, "resume", None)
                if resume is not None:
                    resume()

    async def _committed(self, owned: set[int]) -> dict[TopicPartition, int]:
        consumer = self.group_consumer
        if consumer is None:
            return {}
        tps = [TopicPartition(t, p) for t in self.inputs for p in owned]
        return {tp: await consumer.committed(tp) or 0 for tp in tps}

    def revoked(self, partitions: Sequence[TopicPartition]) -> None:
        # The loop has checkpointed: these tasks match the committed offsets.
        gone = {tp.partition for tp in partitions}
        for p in gone:
            part = self.parts.pop(p, None)
            if part is not None:
                self.kept[p] = part

    async def restore(self, gained: list[int]) -> tuple[dict[int, list[ChangeTrackingTable]], int]:
        """Read partitions `gained` of every stage changelog to their end."""
        consumer = self.restore_consumer
        assert consumer is not None
        tables = {p: [ChangeTrackingTable() for _ in self.stages] for p in gained}
        index = {s.changelog: i for i, s in enumerate(self.stages)}
        tps = [TopicPartition(s.changelog, p) for s in self.stages for p in gained]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        read = 0
        # Tansu's ListOffsets answers the base offset of the last record batch + 1,
        # not the log end (measured): read on until a poll past it comes back empty.
        while True:
            data = await consumer.getmany(timeout_ms=200, max_records=50_000)
            for tp, records in data.items():
                table = tables[tp.partition][index[tp.topic]]
                for record in records:
                    table.restore(record.key, record.value)
                read += len(records)
            if data:
                continue
            positions = {tp: await consumer.position(tp) for tp in tps}
            if all(positions[tp] >= end[tp] for tp in tps):
                break
        consumer.assign([])
        return tables, read

    async def poll_feeds(self) -> None:
        """Log ends of every feed partition, for `pipeline.feed_silent` (owner only)."""
        consumer = self.restore_consumer
        if self.silence.table is None or consumer is None:
            return
        n = self.settings.topic_partitions
        tps = [
            TopicPartition(self.settings.topic(t), p) for t in topics.FEED_TOPICS for p in range(n)
        ]
        ends = await consumer.end_offsets(tps)
        totals: dict[str, int] = {}
        for tp, end in ends.items():
            feed = topics.FEED_NAME[self.inputs[tp.topic][0]]
            totals[feed] = totals.get(feed, 0) + end
        self.silence.observe(totals, time.monotonic())

    async def read_ranges(self, p: int, ranges: dict[str, tuple[int, int]]) -> list[RawMessage]:
        """Records [from, to) of partition `p` of each topic, for a task's replay."""
        consumer = self.restore_consumer
        assert consumer is not None
        tps = {TopicPartition(t, p): r for t, r in ranges.items()}
        consumer.assign(list(tps))
        for tp, (start, _end) in tps.items():
            consumer.seek(tp, start)
        out: list[RawMessage] = []
        todo = set(tps)
        empty = 0
        while todo:
            data = await consumer.getmany(*todo, timeout_ms=1000, max_records=50_000)
            if not data:
                empty += 1
                if empty < REPLAY_EMPTY_POLLS:
                    continue
                # the log no longer holds the range (retention): say so, go on
                log.warning("partition %d: replay stopped short of %s", p, sorted(map(str, todo)))
                break
            empty = 0
            for tp, records in data.items():
                end = tps[tp][1]
                bare = self.inputs[tp.topic][0]
                out += [
                    RawMessage(bare, r.topic, r.partition, r.offset, r.key, r.value)
                    for r in records
                    if r.offset < end
                ]
                if records[-1].offset + 1 >= end:
                    todo.discard(tp)
        consumer.assign([])
        log.info("partition %d: %d source records replayed into its windows", p, len(out))
        return out

    # --- the loop's calls ---
    def process(self, batch: Batch) -> list[Out]:
        per_partition: dict[int, list[list[RawMessage]]] = {}
        events_in = self.metrics.events_in
        for tp, records in batch.items():
            bare, stages = self.inputs[tp.topic]
            if tp.partition not in self.parts:
                # never skip: the loop would commit past records nobody processed
                raise RuntimeError(f"records of {tp} arrived without its partition's tasks")
            lists = per_partition.setdefault(tp.partition, [[] for _ in self.stages])
            msgs = [
                RawMessage(bare, r.topic, r.partition, r.offset, r.key, r.value) for r in records
            ]
            if records:
                self.position[tp] = records[-1].offset + 1
            if bare in topics.FEED_NAME:
                events_in.labels(bare).inc(len(msgs))
            for i in stages:
                lists[i].extend(msgs)
        out: list[Out] = []
        for p in sorted(per_partition):
            part = self.parts[p]
            for task, msgs in zip(part.tasks, per_partition[p], strict=True):
                if msgs:
                    self._collect(task.process(msgs), out)
        return out

    def tick(self) -> list[Out]:
        out: list[Out] = []
        for p in sorted(self.parts):
            for task in self.parts[p].tasks:
                self._collect(task.tick(), out)
        alerts = self.silence.tick(time.monotonic(), int(time.time() * 1000))
        if alerts:
            result = Output(alerts=alerts)
            count_output(self.metrics, result)
            out.extend(Out(t, k, v) for t, k, v in output_records(self.settings, result))
        return out

    async def checkpoint(self) -> list[Out]:
        out: list[Out] = []
        for p, part in self.parts.items():
            for stage, task, table in zip(self.stages, part.tasks, part.tables, strict=True):
                task.flush()
                for key, value in table.take_changes().items():
                    out.append(Out(stage.changelog, key, value, p))
        return out

    def _collect(self, result: Any, out: list[Out]) -> None:
        count_output(self.metrics, result.out)
        out.extend(Out(t, k, v) for t, k, v in output_records(self.settings, result.out))
        out.extend(Out(r.topic, r.key, r.value, r.partition) for r in result.records)


async def ensure_stage_topics(settings: Settings, handler: StageHandler) -> None:
    """Create the repartition topics and changelogs; refuse mismatched partitions.

    Like Faust's `PartitionsMismatch`: a stage's state is split by input partition,
    so every input topic and changelog must have exactly `topic_partitions`.
    """
    n = settings.topic_partitions
    names = handler.names
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [NewTopic(t, n, 1) for t in names.internal if t not in existing]
        new += [
            NewTopic(s.changelog, n, 1, topic_configs={"cleanup.policy": "compact"})
            for s in handler.stages
            if s.changelog not in existing
        ]
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(new)
            log.info("created %s", ", ".join(t.name for t in new))
    finally:
        await admin.close()
    consumer = handler.restore_consumer
    assert consumer is not None
    await consumer._client.force_metadata_update()
    wrong = []
    for topic in (*handler.topics, *(s.changelog for s in handler.stages)):
        got = len(consumer.partitions_for_topic(topic) or ())
        if got != n:
            wrong.append(f"{topic} has {got}")
    if wrong:
        raise ConfigurationError(
            f"partitions mismatch: CITYOPS_TOPIC_PARTITIONS={n} but "
            + "; ".join(wrong)
            + ". Every feed, alerts.ack.v1 and the worker's internal topics must have "
            "that many partitions (state is split by partition): recreate the topics, "
            "or set CITYOPS_TOPIC_PARTITIONS to match"
        )


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
        self.handler = StageHandler(settings, self.metrics)
        self.changelog = changelog_topic(settings)
        self.loop = ConsumeLoop(
            LoopConfig(
                bootstrap=settings.kafka_bootstrap,
                group_id=settings.worker_id,
                client_id=f"{settings.worker_id}-{id(self):x}",
                topics=self.handler.topics,
                batch_max=BATCH_MAX,
                commit_interval_s=settings.worker_commit_interval_s,
                session_timeout_s=settings.worker_session_timeout_s,
                heartbeat_interval_s=settings.worker_heartbeat_interval_s,
                rebalance_timeout_s=settings.broker_rebalance_timeout_s,
            ),
            self.handler,
            stop,
        )
        self.handler.group_consumer = self.loop.consumer
        self._lag_at = 0.0

    async def _between_batches(self) -> None:
        if time.monotonic() - self._lag_at >= LAG_INTERVAL_S:
            self._lag_at = time.monotonic()
            self.lag.set(self.settings.worker_id, await consumer_lag(self.loop.consumer))
            async with self.loop.lock:  # the restore consumer is the listener's too
                try:
                    await self.handler.poll_feeds()
                except KafkaError as exc:
                    log.warning("polling the feeds' log ends failed: %s", exc)

    async def run(self) -> None:
        consumer = self.handler.restore_consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=FETCH_PARTITION_BYTES,
            fetch_max_wait_ms=100,  # the empty poll that ends a restore
        )
        await consumer.start()
        try:
            try:
                await ensure_stage_topics(self.settings, self.handler)
            except BaseException:
                await self.loop.close()
                raise
            log.info(
                "direct worker: group %s, %d topics x %d partitions, batches of up to %d",
                self.settings.worker_id,
                len(self.handler.topics),
                self.settings.topic_partitions,
                BATCH_MAX,
            )
            await self.loop.run(on_idle=self._between_batches)
        finally:
            await consumer.stop()


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
