"""Faust's table recovery, restarted by a rebalance that comes while it runs.

Faust 0.15.3 (`faust/tables/recovery.py`) runs table recovery in one service task
(`Recovery._restart_recovery`): a rebalance (`Recovery.on_rebalance`, called on
the main loop by the consumer's rebalance listener) replaces the active and
standby changelog partitions *in place* (the same sets and counters the running
recovery iterates), gives a newly assigned one the offset None, and sets
`signal_recovery_start`. The recovery notices the signal only inside `_wait`
(`wait_first(coro, signal)`), and only if the signal's waiter completes before
the awaited step does.

A rebalance between the completion of an awaited step and the moment the recovery
task resumes goes unseen there (reproduced by `tests/streams/test_faust_recovery.py`):
the next step runs on the new assignment's half-built state. In `_seek_offsets`
that is a seek of a newly assigned changelog partition to None: aiokafka's
`ValueError: Offset must be a positive integer` (seen in a worker log of an
earlier session), which `_restart_recovery` does not take for a rebalance (only
`RebalanceAgain` and `IllegalStateError` restart it; anything else ends the
recovery task). `_wait` below checks the signal after every step and
`_seek_offsets` checks it (and refuses a None offset) before it seeks: a
rebalance during recovery restarts the recovery.

Not changed: `on_recovery_completed` resumes the stream partitions before it seeks
them to their committed offsets (`streams.faust_transport`, point 1). Seeking
first was tried (clear the streams' queues, seek, then resume): it removed the
record skipped at a committed offset (one record on each of 7 and 20 partition
topics in 2 of 12 kill-and-drain runs without it, none in 11 with it), but that
test then missed `streetlight.circuit_outage` of CC-centre-0002 in 4 of 15 runs
against 0 of 20 without it (2026-12-02, same code otherwise; cause not found).
The skips it prevented are read back by the stage runner (`faust_stages.Inputs`).
"""

from __future__ import annotations

import logging
from typing import Any

from faust.tables.manager import TableManager as FaustTableManager
from faust.tables.recovery import RebalanceAgain
from faust.tables.recovery import Recovery as FaustRecovery
from faust.types import TP

log = logging.getLogger(__name__)


class Recovery(FaustRecovery):
    """Faust's recovery, restarted by a rebalance at any step (module docstring)."""

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


class TableManager(FaustTableManager):
    """Faust's table manager on the recovery above (`streams.faust_transport.App`)."""

    @property
    def recovery(self) -> FaustRecovery:
        if self._recovery is None:
            self._recovery = Recovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery
