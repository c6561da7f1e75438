"""Reading partitions back outside the consumer group: state restore and replay.

What a process reads on assignment, before the records of the gained partitions
are handed over (quix-streams' `RecoveryManager`, Faust's `Recovery`: the
state of a gained partition comes back from its log first). Two reads:

- `read_to_end`: every record of some partitions, from the beginning to the
  log end (a compacted changelog: the worker's stage state);
- `read_ranges`: the records [from, to) of some partitions (a stage task's
  replay of its sources; the notifier's firing set, alerts.v1 up to the
  committed offset).

One `PartitionReader` is one aiokafka consumer without a group (manual
assignment, nothing committed), reused for every read; reads must not overlap
(the consume loop runs them under its lock).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

log = logging.getLogger(__name__)

FETCH_PARTITION_BYTES = 8 * 1024 * 1024
READ_MAX_RECORDS = 50_000
# Empty 1 s polls after which a range counts as no longer in the log (retention).
RANGE_EMPTY_POLLS = 10

Records = dict[TopicPartition, list[ConsumerRecord[Any, Any]]]


class ReadsBack(Protocol):
    """A `PartitionReader`, or the `kafka_handler.Assignment` that lends one."""

    def read_to_end(self, tps: Sequence[TopicPartition]) -> AsyncIterator[Records]: ...

    def read_ranges(
        self, ranges: Mapping[TopicPartition, tuple[int, int]]
    ) -> AsyncIterator[Records]: ...


class PartitionReader:
    """A group-less consumer for restore and replay reads (module docstring)."""

    def __init__(self, bootstrap: str) -> None:
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            # a range starting below the log start (retention) reads from the start
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=FETCH_PARTITION_BYTES,
            fetch_max_wait_ms=100,  # the empty poll that ends a read to the end
        )

    async def start(self) -> None:
        await self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()

    async def read_to_end(self, tps: Sequence[TopicPartition]) -> AsyncIterator[Records]:
        """Every record of `tps`, from the beginning to the log end, batch by batch."""
        consumer = self.consumer
        consumer.assign(list(tps))
        try:
            await consumer.seek_to_beginning(*tps)
            end = await consumer.end_offsets(list(tps))
            # Tansu's ListOffsets answers the base offset of the last record batch + 1,
            # not the log end (measured): read on until a poll past it comes back empty.
            while True:
                data = await consumer.getmany(timeout_ms=200, max_records=READ_MAX_RECORDS)
                if data:
                    yield data
                    continue
                positions = {tp: await consumer.position(tp) for tp in tps}
                if all(positions[tp] >= end[tp] for tp in tps):
                    break
        finally:
            consumer.assign([])

    async def read_ranges(
        self, ranges: Mapping[TopicPartition, tuple[int, int]]
    ) -> AsyncIterator[Records]:
        """The records [from, to) of each partition, batch by batch (empty ranges skipped).

        A range the log no longer holds (retention) ends after `RANGE_EMPTY_POLLS`
        empty polls, with a warning: the read goes on without it."""
        consumer = self.consumer
        todo = {tp for tp, (start, end) in ranges.items() if start < end}
        consumer.assign(list(todo))
        try:
            for tp in todo:
                consumer.seek(tp, ranges[tp][0])
            empty = 0
            while todo:
                data = await consumer.getmany(*todo, timeout_ms=1000, max_records=READ_MAX_RECORDS)
                if not data:
                    empty += 1
                    if empty < RANGE_EMPTY_POLLS:
                        continue
                    log.warning("read stopped short of %s", sorted(map(str, todo)))
                    break
                empty = 0
                out: Records = {}
                for tp, records in data.items():
                    end = ranges[tp][1]
                    kept = [r for r in records if r.offset < end]
                    if kept:
                        out[tp] = kept
                    if records[-1].offset + 1 >= end:
                        todo.discard(tp)
                if out:
                    yield out
        finally:
            consumer.assign([])
