"""What a `cityops.base.kafka_loop.ConsumeLoop` drives, and how it is configured.

The handler interface (`Handler`: process a batch, checkpoint, hear of partitions
assigned and revoked), what a handler gets when partitions are assigned
(`Assignment`: the partitions, their committed offsets, a reader to read them
back), and the loop's settings (`LoopConfig`). The loop's own sequence is in
`cityops.base.kafka_loop`; a handler (the worker's stages, the sink, the notifier)
imports only this module and `cityops.base.kafka_send`'s `Out`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from cityops.base.kafka_reader import PartitionReader, Records
from cityops.base.kafka_send import Out

#: Processing-time hook interval: `Handler.tick` after an empty poll, and at least this often.
TICK_S = 1.0
#: How often a checkpoint in progress looks for records of `LoopConfig.urgent_topics`.
URGENT_POLL_S = 0.005

Batch = dict[TopicPartition, list[ConsumerRecord[Any, Any]]]


class Abandon(Exception):
    """Raised by `Handler.checkpoint` to give the checkpoint up (stopping while its own
    store still fails): nothing is committed, the records are read again on restart."""


@dataclass(frozen=True)
class Assignment:
    """What `Handler.assigned` gets: the partitions now owned and a way to read them back."""

    #: every partition owned after the rebalance (eager: the whole assignment)
    partitions: tuple[TopicPartition, ...]
    group: AIOKafkaConsumer
    reader: PartitionReader | None = None

    async def committed(self) -> dict[TopicPartition, int]:
        """The group's committed offset of every owned partition (0: none yet)."""
        return {tp: await self.group.committed(tp) or 0 for tp in self.partitions}

    def read_to_end(self, tps: Sequence[TopicPartition]) -> AsyncIterator[Records]:
        """Records of `tps` from the beginning to the log end (`PartitionReader`)."""
        return self._reader().read_to_end(tps)

    def read_ranges(
        self, ranges: Mapping[TopicPartition, tuple[int, int]]
    ) -> AsyncIterator[Records]:
        """Records [from, to) of each partition (`PartitionReader.read_ranges`)."""
        return self._reader().read_ranges(ranges)

    def _reader(self) -> PartitionReader:
        if self.reader is None:
            raise RuntimeError("this loop reads nothing back (ConsumeLoop(reader=None))")
        return self.reader


class Handler:
    """What the loop drives; the defaults suit a handler that needs no hook."""

    async def assigned(self, assignment: Assignment) -> None:
        """Partitions owned now: bring their state back before their records arrive."""

    def revoked(self, partitions: Sequence[TopicPartition]) -> None:
        """Partitions given up, after the checkpoint: drop (or keep aside) their state."""

    def process(self, batch: Batch) -> list[Out]:
        """One fetched batch; returns the records to produce. With
        `LoopConfig.urgent_topics`, also called (with their records only) while
        `checkpoint` awaits: records it takes then belong to the next checkpoint."""
        raise NotImplementedError

    def tick(self) -> list[Out]:
        """Processing-time hook: after an empty poll, and at least every `TICK_S`."""
        return []

    async def checkpoint(self) -> list[Out]:
        """Make everything processed durable (or return it as records to produce);
        the loop commits the offsets only after this and every send succeeded."""
        return []

    def checkpoint_due(self) -> bool:
        """A checkpoint is needed now, before the loop's interval (e.g. a full batch)."""
        return False

    def checkpoint_turns(self) -> Sequence[int]:
        """Input partitions checkpointed in turns (empty: all at once, the default).

        For a handler whose state is split by partition (the worker): every
        `commit_interval_s / len(turns)` the loop checkpoints the next of them alone
        (`checkpoint_partition`, then its offsets), so each partition is still
        checkpointed every `commit_interval_s` but no checkpoint holds the loop for
        all of them at once. Revocation and stopping checkpoint everything."""
        return ()

    async def checkpoint_partition(self, partition: int) -> list[Out]:
        """`checkpoint` for partition `partition` of every input topic only."""
        raise NotImplementedError

    def poll_limits(self, timeout_s: float, max_records: int) -> tuple[float, int]:
        """The next poll's wait and size (e.g. shorter while a batch is waiting)."""
        return timeout_s, max_records


@dataclass(frozen=True)
class LoopConfig:
    bootstrap: str
    group_id: str
    client_id: str
    topics: tuple[str, ...]
    batch_max: int = 5000
    commit_interval_s: float = 1.0
    session_timeout_s: float = 10.0
    heartbeat_interval_s: float = 3.0
    rebalance_timeout_s: float = 3.0
    #: Longest a checkpoint may block the polls before the member leaves the group
    #: (aiokafka's default 300 s; the notifier waits out an Alertmanager outage).
    max_poll_interval_s: float = 300.0
    #: False for a loop that only consumes (the sink): no producer is started.
    produce: bool = True
    #: Processing time a batch aims at (None = `batch_max` records): a record's
    #: outputs leave after its whole batch, so this bounds what an alert waits.
    batch_time_s: float | None = None
    #: Topics whose records are handed over even while a checkpoint is being made
    #: (polled every `URGENT_POLL_S`), and first at every poll. Their offsets are
    #: committed at the next checkpoint, never at the one they arrived during.
    urgent_topics: tuple[str, ...] = ()
    #: Topics the loop produces to through a producer of their own (`BatchSender`'s
    #: `urgent`): their records never queue behind the others' produce requests.
    urgent_out_topics: tuple[str, ...] = ()
    #: How long the broker may hold a fetch of partitions with nothing new (aiokafka's
    #: `fetch_max_wait_ms`; its default 500). Tansu does not answer a held fetch as
    #: soon as a record arrives: one record produced at a random moment into an idle
    #: topic reached a consumer p50 99 / max 244 ms after the producer's ack at 500,
    #: 6.4 / 26 ms at 50 (aiokafka 0.14, 30 tries, 2026-12-01). Shorter is not free:
    #: busy partitions are then fetched in smaller pieces (the worker at 50: +7 µs of
    #: CPU per event, and the broker +7; docs/benchmarks.md), so a loop sets it when
    #: it waits for records often: the sink (its quiet alerts) and the worker
    #: (caught up at 15,000 events/s, `streams.direct.FETCH_MAX_WAIT_MS`).
    fetch_max_wait_ms: int = 500
    #: How long records of the other topics (not `urgent_out_topics`) may wait to
    #: leave together (0 = after every batch). Each send is a record batch per
    #: (topic, partition) that the embedded broker keeps as its own object and walks
    #: on every fetch of the partition (docs/benchmarks.md), so fewer, larger sends
    #: cost it less. Held records always leave before the next checkpoint settles.
    out_linger_s: float = 0.0
