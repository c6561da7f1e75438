"""Faust's table recovery with the two fixes a rebalance during recovery needs.

Faust 0.15.3 (`faust/tables/recovery.py`) runs table recovery in one service task
(`Recovery._restart_recovery`): a rebalance (`Recovery.on_rebalance`, called on
the main loop by the consumer's rebalance listener) replaces the active and
standby changelog partitions *in place* (the same sets and counters the running
recovery iterates), gives a newly assigned one the offset None, and sets
`signal_recovery_start`. The recovery notices the signal only inside `_wait`
(`wait_first(coro, signal)`), and only if the signal's waiter completes before
the awaited step does:

1. A rebalance between the completion of an awaited step and the moment the
   recovery task resumes goes unseen: the next step runs on the new partitions.
   `_seek_offsets` then seeks a newly assigned changelog partition to None and
   aiokafka raises `ValueError: Offset must be a positive integer`, which is
   neither `RebalanceAgain` nor `IllegalStateError`: the recovery task dies and
   the worker never resumes its streams (the earlier session's worker log; the
   race is reproduced by `tests/streams/test_faust_recovery.py`). `_wait` below
   checks the signal after every step, and `_seek_offsets` checks it before it
   seeks: a rebalance during recovery restarts the recovery.
2. `on_recovery_completed` resumes the stream partitions *before* it seeks them
   to their committed offsets (see `streams.faust_transport`, point 1): records
   fetched in between reach the agents and the seek then makes the next record
   look like a jump (a gap over acknowledged offsets). Here the order is: clear
   the streams' queues (anything fetched before the seek), seek to the committed
   offsets, then resume the partitions.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from faust.tables.manager import TableManager as FaustTableManager
from faust.tables.recovery import RebalanceAgain
from faust.tables.recovery import Recovery as FaustRecovery
from faust.types import TP

log = logging.getLogger(__name__)


class Recovery(FaustRecovery):
    """Faust's recovery, restarted by a rebalance at any step and seeking before it
    resumes the stream partitions (module docstring)."""

    async def _wait(self, coro: Any, timeout: Any = None) -> None:
        await super()._wait(coro, timeout=timeout)
        if self.signal_recovery_start.is_set():
            # The rebalance came after the step finished but before this task ran
            # again: what follows would run on the new assignment's half-built state.
            raise RebalanceAgain()

    async def _seek_offsets(self, consumer: Any, tps: set[TP], offsets: Any, title: str) -> None:
        if self.signal_recovery_start.is_set():
            raise RebalanceAgain()
        unknown = sorted(tp for tp in tps if offsets[tp] is None)
        if unknown:
            # Only a rebalance's `on_rebalance` leaves None (caught above); never
            # seek to it (aiokafka's ValueError ends the recovery task).
            log.warning("no start offset for %s: restarting the recovery", unknown)
            self.signal_recovery_start.set()
            raise RebalanceAgain()
        await super()._seek_offsets(consumer, tps, offsets, title)

    async def on_recovery_completed(self, generation_id: int = 0) -> None:
        """Faust's `on_recovery_completed` with the stream partitions sought to
        their committed offsets before they are resumed (module docstring, 2)."""
        app = cast(Any, self.app)
        consumer = app.consumer
        self.log.info("Restore complete!")
        await app.on_rebalance_complete.send()
        self._set_recovery_ended()
        callbacks = [
            asyncio.ensure_future(
                table.on_recovery_completed(
                    self.actives_for_table[table], self.standbys_for_table[table]
                )
            )
            for table in self.tables.values()
        ]
        if callbacks:
            await asyncio.wait(callbacks)
        assignment = consumer.assignment()
        if app.consumer_generation_id != generation_id:
            self.log.warning(
                "Recovery rebalancing again app id %s param %s",
                app.consumer_generation_id,
                generation_id,
            )
            return
        streams = {tp for tp in assignment if not self._is_changelog_tp(tp)}
        # Anything the streams' queues got before the seek is from the old position.
        app.flow_control.clear()
        if assignment:
            self.log.info("Seek stream partitions to committed offsets.")
            await self._wait(consumer.perform_seek(), timeout=app.conf.broker_request_timeout)
        consumer.resume_partitions(streams)
        self.completed.set()
        app.flow_control.resume()
        consumer.resume_flow()
        await app._fetcher.maybe_start()
        self.tables.on_actives_ready()
        if not app.assignor.assigned_standbys():
            self.tables.on_standbys_ready()
        app.on_rebalance_end()
        self.log.info("Worker ready")


class TableManager(FaustTableManager):
    """Faust's table manager on the recovery above (`streams.faust_transport.App`)."""

    @property
    def recovery(self) -> FaustRecovery:
        if self._recovery is None:
            self._recovery = Recovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery
