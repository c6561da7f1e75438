"""Alerts stored as soon as the sink reads them, in their own small transaction.

Why: an alert that rode in the readings' transaction waited for the batch to be
due (`sink_alert_flush_interval_s`, 0.1 s) and then for the COPY of every
reading pending with it (up to `sink_flush_interval_s` = 0.5 s of them, ~7,500
rows at 15,000 events/s), all of it added to the alert latency
(docs/benchmarks.md, "Third sitting"). Alerts are a few per second; a
transaction of one or two INSERTs each costs little.

The lane writes on its own connection (a psycopg connection serialises
statements, not transactions: sharing the batch's connection would slip the
alert's statements into the readings' open transaction). It never commits
offsets: the consume loop still commits only after the sink's checkpoint, which
first waits for the lane and writes whatever the lane could not store (a
database error) in the batch's own transaction, retried there with backoff. So
every offset committed still covers only rows already durable, and an alert
written twice (early, then re-read after a crash) is a no-op: `alerts` keeps the
newest transition, `alert_history` skips a stored (alert_id, state, updated_at).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg

from sinks.writer import Batch, WriteMode, Writer
from streams.models import Alert

log = logging.getLogger(__name__)

#: Opens the lane's connection (autocommit; the writer opens its own transactions).
Connect = Callable[[], Awaitable[psycopg.AsyncConnection[Any]]]
#: Told what the lane stored: rows per table, and the alerts themselves.
Stored = Callable[[dict[str, int], list[Alert]], None]


class AlertLane:
    """Alerts queued by `add`, written by one background task, one transaction per round."""

    def __init__(self, connect: Connect, mode: WriteMode, on_stored: Stored) -> None:
        self._connect = connect
        self._mode = mode
        self._on_stored = on_stored
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._writer: Writer | None = None
        self._queued: list[Alert] = []
        self._task: asyncio.Task[None] | None = None
        #: monotonic time the oldest alert not yet stored was queued (None: none waits)
        self.oldest_at: float | None = None
        #: rounds that failed (their alerts wait for the checkpoint)
        self.failures = 0

    def add(self, alert: Alert) -> None:
        """Queue one alert and make sure a write round is under way (or follows it)."""
        if not self._queued:
            self.oldest_at = time.monotonic()
        self._queued.append(alert)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def take_unstored(self) -> list[Alert]:
        """Wait for the round in progress; return (and forget) every alert not stored.

        The checkpoint calls this and writes what it gets in the batch's own
        transaction, so nothing read before the checkpoint is left unstored.
        """
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        out, self._queued = self._queued, []
        self.oldest_at = None
        return out

    async def _run(self) -> None:
        # One round writes everything queued so far; alerts queued meanwhile go in
        # the next round, so a burst coalesces into few transactions.
        while self._queued:
            alerts = list(self._queued)
            try:
                writer = await self._ensure_writer()
                counts = await writer.write(Batch(alerts=alerts))
            except (psycopg.Error, OSError) as exc:
                self.failures += 1
                await self.close()
                log.warning(
                    "alerts not stored on their own (%s: %s); they go with the next batch",
                    type(exc).__name__,
                    str(exc).strip().splitlines()[0] if str(exc).strip() else "",
                )
                return  # the queue keeps them; the checkpoint writes them, with retries
            # only the alerts this round wrote: more may have been queued meanwhile
            del self._queued[: len(alerts)]
            self.oldest_at = time.monotonic() if self._queued else None
            self._on_stored(counts, alerts)

    async def _ensure_writer(self) -> Writer:
        if self._conn is None or self._conn.closed or self._writer is None:
            self._conn = await self._connect()
            self._writer = Writer(self._conn, self._mode)
        return self._writer

    async def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                await self._conn.close()
        self._conn = self._writer = None
