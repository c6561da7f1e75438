"""The direct worker's side of the shared consume loop: records -> stage tasks -> records.

`StageHandler` is the `cityops.base.kafka_handler.Handler` of `streams.direct`:
per input partition p it holds one task per stage (entity, circuit, district),
each over its own `ChangeTrackingTable`; `process`/`tick` hand records to the
tasks and return their outputs, `checkpoint` flushes every task and returns the
tables' changes as changelog records (partition p of the stage's changelog).

Assignment: on revocation (eager rebalance: everything) the tasks are kept
aside after the loop's checkpoint; on assignment the kept partitions that came
back are reused (nobody else can have processed them in between), the others
dropped, and exactly the gained partitions are restored from their changelogs
(`streams.stage_state`) before any of their records is processed.

`ensure_stage_topics` creates the repartition topics and changelogs at start.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence
from itertools import repeat
from typing import Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from cityops.base.kafka_handler import Assignment, Batch, Handler
from cityops.base.kafka_reader import PartitionReader
from cityops.base.kafka_send import Out
from cityops.base.metrics import WorkerMetrics
from cityops.base.settings import ConfigurationError, Settings
from streams import topics
from streams.forked import ForkedRunner
from streams.outputs import count_output, output_records
from streams.pipeline import Output, RawMessage
from streams.stage_state import ChangeTrackingTable, replay_records, restore_tables
from streams.stages import Stage, StageTask
from streams.stages.build import build_stages, stage_topics
from streams.stages.entity import EntityTask
from streams.stages.feed_silence import FeedSilence

log = logging.getLogger(__name__)


class _Partition:
    """One input partition: a task per stage, each over its own table."""

    def __init__(
        self,
        stages: Sequence[Stage],
        p: int,
        tables: list[ChangeTrackingTable],
        runner: ForkedRunner | None,
    ):
        self.tables = tables
        self.tasks: list[StageTask] = [s.task(p, t) for s, t in zip(stages, tables, strict=True)]
        for task in self.tasks:
            if isinstance(task, EntityTask):
                # the windows snapshot is encoded in a forked child, off the loop
                task.snapshots.runner = runner

    def close(self) -> None:
        """Dropped: stop what its tasks still run (a snapshot being encoded)."""
        for task in self.tasks:
            if isinstance(task, EntityTask):
                task.close()


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
        fork = settings.worker_snapshot_fork and ForkedRunner.available
        self.runner = ForkedRunner() if fork else None
        self.silence = FeedSilence(settings)
        self.bare = {topic: bare for topic, (bare, _) in self.inputs.items()}
        # the feeds' log ends and the topics' partitions (the worker's reader, also
        # the loop's for restore and replay)
        self.reader: PartitionReader | None = None
        # per input partition, the next offset this worker will process (= the
        # committed one after a checkpoint)
        self.position: dict[TopicPartition, int] = {}

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(self.inputs)

    # --- assignment ---
    async def assigned(self, assignment: Assignment) -> None:
        owned = {tp.partition for tp in assignment.partitions}
        kept, self.kept = self.kept, {}
        committed = await assignment.committed()
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
        for p, part in kept.items():
            if self.parts.get(p) is not part:
                part.close()
        gained = sorted(owned - set(self.parts))
        stale = sorted(set(kept) & set(gained))
        if stale:
            log.warning("partitions %s moved while kept aside: restored from the changelog", stale)
        self.position.update({tp: o for tp, o in committed.items() if tp.partition in gained})
        if gained:
            started = time.perf_counter()
            tables, read = await restore_tables(assignment, self.stages, gained)
            for p in gained:
                self.parts[p] = _Partition(self.stages, p, tables[p], self.runner)
                for task in self.parts[p].tasks:
                    ranges = task.replay_range()
                    if ranges:
                        task.replay(await replay_records(assignment, self.bare, p, ranges))
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

    def revoked(self, partitions: Sequence[TopicPartition]) -> None:
        # The loop has checkpointed: these tasks match the committed offsets.
        gone = {tp.partition for tp in partitions}
        for p in gone:
            part = self.parts.pop(p, None)
            if part is not None:
                self.kept[p] = part

    async def poll_feeds(self) -> None:
        """Log ends of every feed partition, for `pipeline.feed_silent` (owner only)."""
        if self.silence.table is None or self.reader is None:
            return
        n = self.settings.topic_partitions
        tps = [
            TopicPartition(self.settings.topic(t), p) for t in topics.FEED_TOPICS for p in range(n)
        ]
        ends = await self.reader.consumer.end_offsets(tps)
        totals: dict[str, int] = {}
        for tp, end in ends.items():
            feed = topics.FEED_NAME[self.inputs[tp.topic][0]]
            totals[feed] = totals.get(feed, 0) + end
        self.silence.observe(totals, time.monotonic())

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
            topic, partition = tp.topic, tp.partition
            msgs = [RawMessage(bare, topic, partition, r.offset, r.key, r.value) for r in records]
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
        for p in self.parts:
            out += self._flush(p)
        return out

    def checkpoint_turns(self) -> list[int]:
        # One partition at a time (kafka_handler.Handler.checkpoint_turns): the flush of
        # all four was one block of the loop, median 49 ms, up to 544 ms (megacity
        # drain, docs/benchmarks.md), that every partition's records waited behind.
        return sorted(self.parts)

    async def checkpoint_partition(self, partition: int) -> list[Out]:
        return self._flush(partition) if partition in self.parts else []

    def _flush(self, p: int) -> list[Out]:
        """Partition p's tasks flushed; their tables' changes as changelog records."""
        out: list[Out] = []
        part = self.parts[p]
        for stage, task, table in zip(self.stages, part.tasks, part.tables, strict=True):
            task.flush()
            changes = table.take_changes()
            # ~1 record per event: built by map (0.23 against 0.48 us a record
            # appended one by one; timeit, 40k changes, 2026-12-01)
            out += map(Out, repeat(stage.changelog), changes.keys(), changes.values(), repeat(p))
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
    assert handler.reader is not None
    consumer = handler.reader.consumer
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
