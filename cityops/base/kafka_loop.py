"""One consume -> process -> produce -> commit loop, with per-partition assignment.

Shaped like quix-streams' `Checkpoint.commit` (quixstreams/checkpointing/
checkpoint.py): outputs are produced as soon as a batch has made them (those of
topics other than `LoopConfig.urgent_out_topics` may wait `out_linger_s` for a
later batch's, never past the next checkpoint), and a checkpoint, every
`commit_interval_s` and before partitions are given up, runs one fixed sequence:

1. `handler.checkpoint()`: the handler writes what it holds in memory into its
   state and returns the state's changes as changelog records; they are sent;
2. wait until the broker acknowledged *every* record sent since the last
   checkpoint (acks=all); a refused send is retried with capped backoff, and
   nothing is committed meanwhile;
3. only then commit the consumed offsets (of partitions still owned).

So an offset is never committed ahead of the outputs and state it caused
(at-least-once: after a crash the records since the last checkpoint are read
again, and the handler's state is the one of that checkpoint).

Assignment (`ConsumerRebalanceListener`): on revocation the loop finishes the
batch in hand, checkpoints, then calls `handler.revoked` (drop the partitions'
state); on assignment it awaits `handler.assigned(Assignment)` before any record
of the partitions is handed over. Like quix-streams' `RecoveryManager` and
Faust's `Recovery`, that is where a handler brings back what it keeps of its
partitions: the `Assignment` holds the partitions, the group's committed offsets
of them, and a group-less `PartitionReader` (`cityops.base.kafka_reader`) to
read partitions from the beginning to the end (the worker's changelogs) or a
range of offsets (the worker's replay; the notifier's firing set, alerts.v1 up
to the committed offset). The range assignor keeps partition p of every
subscribed topic on one member, so topics with equal partition counts are
co-partitioned.

Records go out as whole record batches per (topic, partition), retried until
acknowledged: `cityops.base.kafka_send` (records of `LoopConfig.urgent_out_topics`
through a producer of their own). A handler may also name `urgent_topics`: their
records are handed over first at every poll and even while a checkpoint runs,
their offsets then held for the next checkpoint (the sink's alerts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import KafkaError

from cityops.base.kafka_handler import (
    TICK_S,
    URGENT_POLL_S,
    Abandon,
    Assignment,
    Batch,
    Handler,
    LoopConfig,
)
from cityops.base.kafka_reader import FETCH_PARTITION_BYTES, PartitionReader
from cityops.base.kafka_send import BatchSender, Deliveries, Out, new_producer

log = logging.getLogger(__name__)

POLL_TIMEOUT_MS = 200
# Turns of the event loop after a batch's sends: the producer's sender task and
# the fetcher run only while the loop awaits, and a fetched batch is handed over
# without awaiting anything. Two turns take an appended record batch to the
# socket (aiokafka 0.14 on Tansu, measured: accumulator -> sender -> request
# written); the third lets the fetcher ask for the next records meanwhile.
IO_TURNS = 3
# The fewest records a time-bounded batch asks for (per-batch costs stay small).
BATCH_MIN = 200
# aiokafka checks each fetched record batch's CRC-32C in C at ~0.45 GB/s: 0.67 us
# per 300-byte record (timeit, 2026-12-01), a few % of the worker's and the sink's
# CPU per message. Not checked: the records come over TCP (its own checksums)
# from the broker's storage, and what they carry is validated anyway (a damaged
# message is dead-lettered or skipped, never crashes a loop).
CHECK_CRCS = False


class ConsumeLoop:
    def __init__(
        self,
        config: LoopConfig,
        handler: Handler,
        stop: asyncio.Event,
        reader: PartitionReader | None = None,
    ) -> None:
        """`reader`: handed to `Handler.assigned` for reading partitions back (its
        owner starts and stops it; the loop reads with it under its lock only)."""
        self.config = config
        self.handler = handler
        self.stop = stop
        self.reader = reader
        self.lock = asyncio.Lock()
        self.offsets: dict[TopicPartition, int] = {}
        # offsets of urgent records handed over during a checkpoint: the next one's
        self.offsets_after_commit: dict[TopicPartition, int] = {}
        self.checkpoint_at = time.monotonic()
        self.checkpoints = 0
        self.turn = 0  # the next of `Handler.checkpoint_turns` to checkpoint
        self.batches = 0
        # handler.process seconds per record (moving average), for batch_time_s
        self.record_s = 0.0
        self.deliveries = Deliveries(stop)
        # outputs waiting for `config.out_linger_s` (sent at the latest by a checkpoint)
        self.held: list[Out] = []
        self.held_at = 0.0
        self.producer = (
            new_producer(config.bootstrap, f"{config.client_id}-producer")
            if config.produce
            else None
        )
        self.urgent_producer = (
            new_producer(config.bootstrap, f"{config.client_id}-urgent-producer")
            if config.produce and config.urgent_out_topics
            else None
        )
        self.sender = (
            None
            if self.producer is None
            else BatchSender(
                self.producer, self.urgent_producer, frozenset(config.urgent_out_topics)
            )
        )
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=config.bootstrap,
            group_id=config.group_id,
            client_id=config.client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            check_crcs=CHECK_CRCS,
            fetch_max_wait_ms=config.fetch_max_wait_ms,
            max_poll_records=config.batch_max,
            max_partition_fetch_bytes=FETCH_PARTITION_BYTES,
            fetch_max_bytes=64 * 1024 * 1024,
            partition_assignment_strategy=(RangePartitionAssignor,),
            session_timeout_ms=int(config.session_timeout_s * 1000),
            heartbeat_interval_ms=int(config.heartbeat_interval_s * 1000),
            max_poll_interval_ms=int(config.max_poll_interval_s * 1000),
            # Tansu holds a group join for the whole rebalance timeout (DESIGN.md).
            rebalance_timeout_ms=int(config.rebalance_timeout_s * 1000),
        )

    async def close(self) -> None:
        """Release the clients of a loop that will not `run` (start-up failed)."""
        with contextlib.suppress(KafkaError):
            await self.consumer.stop()
        for producer in (self.producer, self.urgent_producer):
            if producer is not None:
                with contextlib.suppress(KafkaError):
                    await producer.stop()

    async def _send(self, records: list[Out]) -> None:
        if not records:
            return
        if self.sender is None:
            raise RuntimeError("this loop does not produce (LoopConfig.produce=False)")
        await self.deliveries.start(await self.sender.sends(records))

    async def _emit(self, records: list[Out]) -> None:
        """A batch's outputs: the urgent topics' at once, the others held for up to
        `config.out_linger_s` to leave with later batches' (fewer record batches)."""
        linger = self.config.out_linger_s
        if not linger:
            await self._send(records)
            return
        urgent = self.config.urgent_out_topics
        if urgent and records:
            await self._send([r for r in records if r.topic in urgent])
            records = [r for r in records if r.topic not in urgent]
        if records:
            if not self.held:
                self.held_at = time.monotonic()
            self.held += records
        if self.held and time.monotonic() - self.held_at >= linger:
            await self._release()

    async def _release(self) -> None:
        """Send the held outputs now."""
        held, self.held = self.held, []
        await self._send(held)

    async def run(self, on_idle: Callable[[], Awaitable[None]] | None = None) -> None:
        consumer = self.consumer
        for producer in (self.producer, self.urgent_producer):
            if producer is not None:
                await producer.start()
        try:
            consumer.subscribe(list(self.config.topics), listener=_Listener(self))
            await consumer.start()
            tick_at = time.monotonic()
            while not self.stop.is_set():
                room = batch_room(self.config.batch_time_s, self.config.batch_max, self.record_s)
                wait_s, room = self.handler.poll_limits(POLL_TIMEOUT_MS / 1000, room)
                # urgent records first, as a batch of their own: their outputs do not
                # wait for the processing of a full batch of the others
                urgent = await self._urgent_records()
                data = await consumer.getmany(
                    timeout_ms=0 if urgent else int(wait_s * 1000), max_records=room
                )
                async with self.lock:
                    if urgent:
                        await self._process(urgent)
                    if data:
                        await self._process(data)
                    if not data or time.monotonic() - tick_at >= TICK_S:
                        tick_at = time.monotonic()
                        await self._emit(self.handler.tick())
                    elif self.held:
                        await self._emit([])
                    if not await self._checkpoint_if_due():
                        break
                if on_idle is not None:
                    await on_idle()
            async with self.lock:
                await self.commit()
        finally:
            await self.close()
            log.info("loop %s stopped after %d batches", self.config.group_id, self.batches)

    async def _checkpoint_urgent(self, held: dict[TopicPartition, int]) -> list[Out]:
        """`handler.checkpoint()`, handing over urgent records meanwhile; their offsets
        go to `held`: this checkpoint may not cover them (its handler took its batch
        before they came)."""
        made = asyncio.ensure_future(self.handler.checkpoint())
        try:
            while not made.done():
                await asyncio.wait({made}, timeout=URGENT_POLL_S)
                if not made.done() and (data := await self._urgent_records()):
                    before, self.offsets = self.offsets, {}
                    try:
                        await self._process(data)
                    finally:
                        held.update(self.offsets)
                        self.offsets = before
            return made.result()
        finally:
            if not made.done():  # cancelled while waiting: so is the checkpoint
                made.cancel()

    async def _urgent_records(self) -> Batch:
        """Records of the urgent topics already fetched (no wait)."""
        if not self.config.urgent_topics:
            return {}
        urgent = [tp for tp in self.consumer.assignment() if tp.topic in self.config.urgent_topics]
        return await self.consumer.getmany(*urgent, timeout_ms=0) if urgent else {}

    async def _process(self, data: Batch) -> None:
        started = time.perf_counter()
        out = self.handler.process(data)
        n = sum(len(recs) for recs in data.values())
        if n:
            per_record = (time.perf_counter() - started) / n
            self.record_s = (
                per_record if not self.record_s else 0.8 * self.record_s + 0.2 * per_record
            )
        await self._emit(out)
        for tp, recs in data.items():
            if recs:
                self.offsets[tp] = recs[-1].offset + 1
        self.batches += 1
        for _ in range(IO_TURNS):
            await asyncio.sleep(0)

    async def _checkpoint_if_due(self) -> bool:
        """A checkpoint (or the next partition's turn) if one is due; False as `commit`."""
        if self.handler.checkpoint_due():
            return await self.commit(urgent=True)
        turns = self.handler.checkpoint_turns()
        interval = self.config.commit_interval_s / max(1, len(turns))
        if time.monotonic() - self.checkpoint_at < interval:
            return True
        if not turns:
            return await self.commit(urgent=True)
        self.turn = (self.turn + 1) % len(turns)
        return await self.commit(partition=turns[self.turn])

    async def commit(
        self,
        revoked: frozenset[TopicPartition] = frozenset(),
        *,
        urgent: bool = False,
        partition: int | None = None,
    ) -> bool:
        """The checkpoint sequence (module docstring); False when stopped undelivered.

        `revoked`: partitions being given up, whose offsets are committed too (the
        consumer may no longer list them as assigned while they are revoked).
        `urgent`: hand over records of the urgent topics while the handler's
        checkpoint runs (the loop's own periodic checkpoints only, not a revocation's
        or the last one); their offsets wait for the next checkpoint.
        `partition`: only that partition's turn (`Handler.checkpoint_turns`): its
        state, then the offsets of partition `partition` of every topic."""
        self.checkpoint_at = time.monotonic()
        held: dict[TopicPartition, int] = {}
        try:
            if self.held:  # outputs of the records whose offsets this commits
                await self._release()
            if partition is not None:
                out = await self.handler.checkpoint_partition(partition)
            elif urgent and self.config.urgent_topics:
                out = await self._checkpoint_urgent(held)
            else:
                out = await self.handler.checkpoint()
            await self._send(out)
        except Abandon as exc:
            log.error("checkpoint given up (%s): offsets not committed (re-read on start)", exc)
            return False
        finally:
            self.offsets_after_commit = held
        if not await self.deliveries.settle():
            log.error("stopping with undelivered outputs: offsets not committed (re-read on start)")
            return False
        owned = self.consumer.assignment() | revoked
        if partition is None:
            offsets = {tp: o for tp, o in self.offsets.items() if tp in owned}
            self.offsets, self.offsets_after_commit = self.offsets_after_commit, {}
        else:  # the other partitions' offsets wait for their turns
            offsets = {
                tp: o for tp, o in self.offsets.items() if tp.partition == partition and tp in owned
            }
            for tp in [tp for tp in self.offsets if tp.partition == partition]:
                del self.offsets[tp]
            self.offsets.update(self.offsets_after_commit)
            self.offsets_after_commit = {}
        if offsets:
            try:
                await self.consumer.commit(offsets)
            except KafkaError as exc:
                # Outputs and state are stored; the records are re-read by the
                # partitions' next owner, from a state that already saw them.
                log.warning("offset commit failed (%s); those records will be re-read", exc)
        self.checkpoints += 1
        return True


def batch_room(target_s: float | None, batch_max: int, record_s: float) -> int:
    """Records the next poll asks for: `batch_max`, or what `target_s` of processing
    takes at `record_s` seconds per record (not fewer than `BATCH_MIN`)."""
    if target_s is None or record_s <= 0:
        return batch_max
    return max(min(BATCH_MIN, batch_max), min(batch_max, int(target_s / record_s)))


class _Listener(ConsumerRebalanceListener):
    def __init__(self, loop: ConsumeLoop) -> None:
        self.loop = loop

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        async with self.loop.lock:
            if revoked:
                await self.loop.commit(frozenset(revoked))
                self.loop.handler.revoked(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        loop = self.loop
        async with loop.lock:
            await loop.handler.assigned(Assignment(tuple(assigned), loop.consumer, loop.reader))
