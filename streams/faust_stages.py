"""The keyed stages of `streams.stages` on Faust: one agent per stage, one task per
input partition, its state in a Faust table co-partitioned with the inputs.

Per stage, a table `<stage>-faust-state` (raw bytes; changelog
`<app id>-<stage>-faust-state-changelog`, P partitions like the stage's inputs)
holds every partition's state; `PartitionState` is partition p's slice of it:
keys prefixed with `p/` (the same key, e.g. a feed's watermark, exists in every
partition) and every write sent to changelog partition p. Faust's own recovery
fills the table for the partitions a worker is assigned before their streams
resume, so a task built at its partition's first batch reads a restored state.
Faust's `PartitionsMismatch` check runs for every input topic against the
table's changelog before a task is built. The changelog is not the direct
runtime's (`<stage>-state-changelog`, unprefixed keys): the two runtimes must not
share a worker id.

One batch of a partition: `process` -> send the outputs and wait for the broker
-> `flush` (state into the table, changelog records to the producer) -> the
events are acknowledged when the agent's loop body returns; Faust flushes its
producer before every offset commit (`streams.faust_transport.Producer`: until every
changelog record is delivered). Internal records (light facts keyed by
circuit, partial roll-ups keyed by district, watermark markers to every
partition) are sent to the stages' repartition topics with the key and partition
the stage chose: the stages' records carry explicit partitions, which Faust's
`group_by` (key only) cannot express, so the runtime sends them "through" the
topics under `group_by`'s names.

Re-deliveries and skips: after a rebalance Faust delivers each partition from its
committed offset, which lags the state (offsets are committed every 2.8 s, the
state is written at every batch), and a seek racing the resumed fetch can deliver
records twice or jump past some (`streams.faust_transport`, point 1). A record
processed twice is not harmless: the heating windows count it again (gas and fleet
windows drop a repeat by device and time), and its facts and partials go out again
under new sequence numbers, which the merging stages' gates take for new. So the
runner keeps, per task, the next offset of each source topic partition it has applied
(`INPUTS_KEY` in the task's state, written right after the task's own flush): a
record below it is dropped, one above it is preceded by the records in between,
read back like a replay. The direct runtime's entity stage keeps the same in its
meta (`offsets`); the merging stages have no such record, hence the runner.
A `kill -9` between the task's flush records and this one restores the older
offsets with the newer state: the records of that one batch are applied again,
as before this record existed (a flush is several changelog records either way).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from typing import Any

import orjson

from cityops.base.kafka_reader import PartitionReader
from streams import topics
from streams.pipeline import RawMessage
from streams.stage_state import replay_records
from streams.stages import Stage, StageOutput, StageTask

log = logging.getLogger(__name__)


class PartitionState(MutableMapping[bytes, bytes]):
    """Partition `p`'s slice of a Faust table of raw bytes (memory store)."""

    def __init__(self, table: Any, partition: int) -> None:
        self.table = table
        self.data: dict[bytes, bytes] = table.data.data  # the memory store's dict
        self.partition = partition
        self.prefix = b"%d/" % partition

    def get(self, key: bytes, default: Any = None) -> Any:
        return self.data.get(self.prefix + key, default)

    def __getitem__(self, key: bytes) -> bytes:
        return self.data[self.prefix + key]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, bytes) and self.prefix + key in self.data

    def __setitem__(self, key: bytes, value: bytes) -> None:
        full = self.prefix + key
        self.data[full] = value
        self.table.send_changelog(self.partition, full, value)

    def __delitem__(self, key: bytes) -> None:
        full = self.prefix + key
        del self.data[full]
        self.table.send_changelog(self.partition, full, None)

    def __iter__(self) -> Iterator[bytes]:
        n = len(self.prefix)
        return iter([k[n:] for k in list(self.data) if k.startswith(self.prefix)])

    def __len__(self) -> int:
        return sum(1 for _ in self)


Send = Callable[[StageOutput], Awaitable[None]]
ReadRanges = Callable[[int, dict[str, tuple[int, int]]], Awaitable[list[RawMessage]]]

#: A task's next input offset per source topic (full name), in its partition's state.
INPUTS_KEY = b"~inputs"


class Inputs:
    """Where one task stands in each of its partition's source topics (module
    docstring, "Re-deliveries and skips")."""

    def __init__(self, state: MutableMapping[bytes, bytes], stage: str = "") -> None:
        self.state = state
        self.stage = stage  # for the logs
        raw = state.get(INPUTS_KEY)
        self.next: dict[str, int] = orjson.loads(raw) if raw else {}
        self.stored = dict(self.next)

    async def fresh(
        self, partition: int, messages: Sequence[RawMessage], read: ReadRanges
    ) -> list[RawMessage]:
        """`messages` without those already applied, with those skipped read back."""
        out: list[RawMessage] = []
        dropped = 0
        for msg in messages:
            topic = msg.source_topic
            expected = self.next.get(topic)
            if expected is not None and msg.offset < expected:
                dropped += 1
                continue
            if expected is not None and msg.offset > expected:
                missed = await read(partition, {topic: (expected, msg.offset)})
                log.warning(
                    "%s partition %d: %s@%d..%d skipped by the consumer, %d read back",
                    self.stage,
                    partition,
                    topic,
                    expected,
                    msg.offset - 1,
                    len(missed),
                )
                out += missed
            out.append(msg)
            self.next[topic] = msg.offset + 1
        if dropped:
            log.info(
                "%s partition %d: %d records already applied dropped",
                self.stage,
                partition,
                dropped,
            )
        return out

    def store(self) -> None:
        """Into the state (after the task's flush: never ahead of what it wrote)."""
        if self.next != self.stored:
            self.state[INPUTS_KEY] = orjson.dumps(self.next)
            self.stored = dict(self.next)


class StageRunner:
    """One stage's tasks on this worker, by partition, built lazily from the table."""

    def __init__(
        self, stage: Stage, table: Any, bare: dict[str, str], send: Send, read: ReadRanges
    ) -> None:
        self.stage = stage
        self.table = table
        self.bare = bare  # full topic name -> name in RawMessage.topic
        self.send = send
        self.read = read
        self.tasks: dict[int, StageTask] = {}
        self.inputs: dict[int, Inputs] = {}
        # The agent's batches and the tick timer touch the same tasks.
        self.lock = asyncio.Lock()

    def drop(self) -> None:
        """Forget every task (a rebalance): the next batch rebuilds from the table."""
        self.tasks.clear()
        self.inputs.clear()

    async def task(self, partition: int) -> StageTask:
        task = self.tasks.get(partition)
        if task is None:
            for topic in self.stage.inputs:
                self.table._verify_source_topic_partitions(topic)  # PartitionsMismatch
            state = PartitionState(self.table, partition)
            task = self.stage.task(partition, state)
            ranges = task.replay_range()
            if ranges:
                task.replay(await self.read(partition, ranges))
            self.tasks[partition] = task
            self.inputs[partition] = Inputs(state, self.stage.name)
        return task

    async def run(self, messages: Sequence[Any]) -> None:
        """One batch of Faust messages (any partitions, arrival order)."""
        per_partition: dict[int, list[RawMessage]] = {}
        for msg in messages:
            raw = RawMessage(
                self.bare.get(msg.topic, msg.topic),
                msg.topic,
                msg.partition,
                msg.offset,
                msg.key,
                msg.value,
            )
            per_partition.setdefault(msg.partition, []).append(raw)
        async with self.lock:
            for partition in sorted(per_partition):
                task = await self.task(partition)
                inputs = self.inputs[partition]
                fresh = await inputs.fresh(partition, per_partition[partition], self.read)
                if not fresh:
                    continue
                # Outputs delivered before the state is written (module docstring).
                await self.send(task.process(fresh))
                task.flush()
                inputs.store()

    async def tick(self) -> None:
        async with self.lock:
            for task in list(self.tasks.values()):
                result = task.tick()
                await self.send(result)
                task.flush()


def bare_names(settings_topic: Callable[[str], str]) -> dict[str, str]:
    """Full name -> bare name of every CityOps topic (internal topics keep theirs)."""
    return {settings_topic(t): t for t in topics.ALL_TOPICS}


async def read_ranges(
    bootstrap: str, bare: dict[str, str], p: int, ranges: dict[str, tuple[int, int]]
) -> list[RawMessage]:
    """Records [from, to) of partition `p` of each topic, for a task's replay (read
    like the direct runtime's, `streams.stage_state.replay_records`, by a reader of
    its own: agents of different stages may replay at the same time)."""
    reader = PartitionReader(bootstrap)
    await reader.start()
    try:
        return await replay_records(reader, bare, p, ranges)
    finally:
        await reader.stop()
