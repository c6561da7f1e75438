"""Faust's aiokafka transport with the fixes the Faust runtime needs on restart.

Measured (issue 13, item 6): after a `kill -9` and restart of the Faust worker
the committed offsets of a feed advanced by one record per commit interval
(`broker_commit_interval`, 2.8 s: "~9 records every 24 s") for minutes while
the worker had long processed the backlog. Two Faust 0.15.3 behaviours combine
(`faust/tables/recovery.py`, `faust/transport/consumer.py`):

1. `Recovery.on_recovery_completed` resumes the stream partitions
   (`consumer.resume_partitions`) *before* it awaits `consumer.perform_seek()`.
   Records fetched in between reach the agents; `perform_seek` then sets the
   read offset back to the committed offset C, so the next record R looks like
   a jump and `_drain_messages` calls `_add_gap(tp, C + 1, R)`, a gap over
   offsets that were delivered and acknowledged (seen: `gap 3767..3782` with
   3766..3781 already acked). Seeking first was tried and not kept
   (`streams.faust_recovery`, module docstring).
2. `Consumer._new_offset` merges gap ranges into the acked list with
   `acked.extend(...)`, without removing offsets already there, and then takes
   the first run of `consecutive_numbers(acked)`: with every offset present
   twice (`[3767, 3768, 3768, 3769, 3769, ...]`) that run is one offset long,
   and each commit removes one duplicate. A gap of n records thus holds the
   committed offset back for n commit intervals (here 16 records, 45 s; a
   longer backlog before the seek gives the ">10 minutes" of the report). Each
   restart re-reads everything after the held-back offset.

`Consumer._new_offset` below merges gaps as a set (no offset twice), which
makes the commit position the end of the acknowledged run again.

A related stall, seen once the stages ran on P=4 (2 of 9 kill/restart runs): a
commit computed before `perform_seek` (while `_committed_offset` was still
unset) takes the acked run off the list; `perform_seek` then sets the committed
offset back to the broker's older answer (seen: committed 556, acked from 574),
and Faust's head rule (`min(acked) - committed > 1`: wait) waits forever for
offsets that were acked and consumed by that commit. The subclass remembers the
highest offset it handed out for commit per partition and treats everything
below it as acknowledged.

A third Tansu behaviour matters for table recovery: ListOffsets answers the
base offset of the last record batch + 1, not the log end (measured: 26 for a
log of 32 records in two batches; the Fetch response's high watermark is 32).
Faust's recovery stops at that "highwater" minus one, so the tail of the last
changelog batch stays in the recovery buffer, unapplied, and the restarted
worker runs without those state keys. `Consumer.highwaters` corrects the end
with one fetch of the last batch per partition.

A fourth, in Faust itself: its offset commit (`Consumer._commit_offsets`) awaits
`producer.flush()` first so that table changelog records are durable before the
source offsets that caused them, but `ProducerBuffer.flush_atmost` returns as
soon as no buffered record was handed to aiokafka within 0.1 s, and a record
being handed over (awaiting room in aiokafka's accumulator) is in neither the
buffer nor aiokafka's flush. Measured on Tansu (issue 13, tests/streams/
test_app.py): of 40 changelog records of 512 KiB, 1 was still unsent when
`flush()` returned on an idle loop, 39 on a loop kept busy as the agents keep
it. A commit then records offsets whose state a `kill -9` loses: the restarted
worker restores an older `~entity` meta, replays the windows only up to that
meta's offsets and consumes from the newer commit, so the records between reach
no window (the kill test's short first minutes; seen in a kill run's log:
"partition 2: ...streetlight.status.v1@2625..2639 never processed").
`Producer` below remembers every record given to `send_soon` (the tables'
changelog path) until it is delivered, and its `flush` waits for all of those
given before it began.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer
from aiokafka import TopicPartition as AioTP
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from faust.types.tuples import FutureMessage
from faust.utils.functional import consecutive_numbers

from streams.faust_recovery import TableManager

log = logging.getLogger(__name__)

# How long the highwater probe waits for the fetch of a partition's last batch.
PROBE_TIMEOUT_MS = 2000


def merge_gaps(acked: list[int], gap: Any) -> set[int]:
    """Acked offsets with the gap ranges below the highest acked one, each once.

    Chops exactly the merged intervals off `gap` (an `intervaltree.IntervalTree`
    of offsets Faust will never see delivered). Returns the offsets added.
    """
    added: set[int] = set()
    if not acked or not gap:
        return added
    candidates = gap.overlap(0, max(acked))
    if not candidates:
        return added
    present = set(acked)
    for interval in candidates:
        added.update(range(interval.begin, interval.end))
    added -= present
    acked[:] = sorted(present | added)
    gap.chop(0, max(interval.end for interval in candidates))
    return added


def next_commit_offset(
    acked: list[int], committed: int | None, handed_out: int | None = None
) -> tuple[int | None, list[int]]:
    """The offset to commit (one past the first run of `acked`) and that run.

    Faust's rule for the head, kept: nothing to commit while the smallest acked
    offset is more than one past the committed one (`_new_offset`), where the
    committed one is the higher of the broker's and the last handed out here.
    """
    if not acked:
        return None, []
    floor = max((o for o in (committed, handed_out) if o is not None), default=None)
    if floor and acked[0] - floor > 1:
        return None, []
    run = list(next(consecutive_numbers(acked)))
    return run[-1] + 1, run


class Consumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer with set-based gap merging and true highwaters."""

    #: Per partition, the highest offset `_new_offset` handed out for commit.
    _handed_out: dict[TP, int]

    def _new_offset(self, tp: TP) -> int | None:
        acked = self._acked[tp]
        if not acked:
            return None
        handed_out = self.__dict__.setdefault("_handed_out", {})
        added = merge_gaps(acked, self._gap[tp])
        # Offsets merged from a gap count as acknowledged: a late ack of one of
        # them (`ack` checks `_acked_index`) must not add it a second time.
        self._acked_index[tp].update(added)
        if len(set(acked)) != len(acked):  # never expected; cheap to guard
            acked[:] = sorted(set(acked))
        else:
            acked.sort()
        floor = handed_out.get(tp)
        if floor is not None:  # acked again after a re-read: already handed out
            below = [o for o in acked if o < floor]
            if below:
                del acked[: len(below)]
                self._acked_index[tp].difference_update(below)
        offset, run = next_commit_offset(acked, self._committed_offset[tp], floor)
        if offset is None:
            return None
        del acked[: len(run)]
        self._acked_index[tp].difference_update(run)
        handed_out[tp] = max(offset, floor or 0)
        return offset

    async def on_partitions_revoked(self, revoked: Any) -> None:
        # A partition given up may be processed by another worker before it
        # comes back: what this worker handed out no longer says anything.
        handed_out = self.__dict__.setdefault("_handed_out", {})
        for tp in revoked:
            handed_out.pop(tp, None)
        await super().on_partitions_revoked(revoked)

    async def highwaters(self, *partitions: TP) -> Mapping[TP, int]:
        reported = dict(await super().highwaters(*partitions))
        return await true_log_ends(self._bootstrap(), reported)

    def _bootstrap(self) -> list[str]:
        return faust_aiokafka.server_list(self.app.conf.broker_consumer, 9092)


async def true_log_ends(bootstrap: list[str], reported: dict[TP, int]) -> dict[TP, int]:
    """The log end of each partition, from the high watermark of a fetch.

    `reported` is ListOffsets' answer; Tansu's is the base offset of the last
    record batch + 1, so the last batch starts at `reported - 1`: fetching it
    returns the broker's high watermark (the true end). Kafka's own answer is
    already the end, and the fetch confirms it.
    """
    todo = {tp: end for tp, end in reported.items() if end}
    if not todo:
        return reported
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        fetch_max_wait_ms=100,
        max_partition_fetch_bytes=64 * 1024,  # one batch is enough
    )
    await consumer.start()
    try:
        tps = {tp: AioTP(tp.topic, tp.partition) for tp in todo}
        consumer.assign(list(tps.values()))
        for tp, end in todo.items():
            consumer.seek(tps[tp], end - 1)
        pending = set(todo)
        for _ in range(3):
            await consumer.getmany(*[tps[tp] for tp in pending], timeout_ms=PROBE_TIMEOUT_MS)
            for tp in list(pending):
                highwater = consumer.highwater(tps[tp])
                if highwater is not None:
                    pending.discard(tp)
                    if highwater != reported[tp]:
                        log.info(
                            "log end of %s:%d is %d (ListOffsets said %d)",
                            tp.topic,
                            tp.partition,
                            highwater,
                            reported[tp],
                        )
                    reported[tp] = max(reported[tp], highwater)
            if not pending:
                break
        if pending:
            log.warning("no fetch answer for %s; keeping ListOffsets' ends", sorted(pending))
    finally:
        await consumer.stop()
    return reported


class Producer(faust_aiokafka.Producer):
    """Faust's aiokafka producer whose `flush` waits until every record handed to
    `send_soon` before it is delivered (module docstring, the fourth fix)."""

    def _unsent(self) -> set[FutureMessage]:
        unsent: set[FutureMessage] = self.__dict__.setdefault("_unsent_records", set())
        return unsent

    def send_soon(self, fut: FutureMessage) -> None:
        unsent = self._unsent()
        unsent.add(fut)
        fut.add_done_callback(unsent.discard)
        super().send_soon(fut)

    async def flush(self) -> None:
        given = list(self._unsent())
        await super().flush()
        if given:
            # A failed delivery raises here, so the commit that awaits this flush
            # fails instead of recording offsets whose state is not in the log.
            await asyncio.gather(*given)


class Transport(faust_aiokafka.Transport):
    Consumer = Consumer
    Producer = Producer


class App(faust.App):
    """A Faust app on the transport above, its tables recovered by
    `streams.faust_recovery` (a rebalance during recovery restarts it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("TableManager", TableManager)
        super().__init__(*args, **kwargs)

    def _new_transport(self) -> Any:
        return Transport(self.conf.broker_consumer, self)
