"""`cityops sink`: Kafka -> PostgreSQL, at least once, idempotent.

The sink consumes the four feed topics (decoded with `streams.validation.decode`,
the worker's own pure function; invalid messages are skipped and counted, the
worker dead-letters them), `alerts.v1` and `rollups.v1`. It batches readings
and roll-ups by size or time and writes each batch in one transaction; alerts
are written as soon as they are read, in their own small transaction
(`sinks.alert_lane`: they no longer wait for the readings' COPY). The Kafka
offsets are committed only after PostgreSQL has committed everything read
before them (the checkpoint waits for the alerts' lane, and writes in the
batch's transaction any alert the lane could not store). A database error is
retried with backoff and the offsets stay where they were, so a crash at any
point re-reads messages rather than losing them; the primary keys make the
re-read a no-op. The consume loop, its revoke handling and the commit order are
the shared ones of `cityops.base.kafka_loop` (the worker's too): this module only
decodes and writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from aiokafka import ConsumerRecord, TopicPartition
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from cityops.base.kafka_admin import ensure_topics
from cityops.base.kafka_handler import Abandon, Handler, LoopConfig
from cityops.base.kafka_loop import ConsumeLoop
from cityops.base.kafka_send import Backoff, Out
from cityops.base.metrics import SinkMetrics, observe_all, serve
from cityops.base.settings import ConfigurationError, Settings
from cityops.base.signals import stop_on_signals
from sinks.alert_lane import AlertLane
from sinks.fast_rows import fast_row
from sinks.migrate import migrate
from sinks.writer import ALERTS, TABLE_BY_TOPIC, Batch, Writer
from streams import topics
from streams.models import Alert, Rollup
from streams.validation import Rejection, decode_within

log = logging.getLogger(__name__)

#: Topics the sink reads (unprefixed names).
SINK_TOPICS: tuple[str, ...] = (*topics.FEED_TOPICS, topics.ALERTS, topics.ROLLUPS)

# Longest a poll waits: a stop is noticed within this (getmany does not watch `stop`).
STOP_POLL_S = 0.5
# alerts.v1 is quiet beside the feeds: with aiokafka's 500 ms an alert waited ~0.1 s
# (p50) for the held fetch at 15,000 events/s; 50 ms took the sink's hop from
# 0.12-0.14 to 0.03 s p50, p99 0.28 to 0.06 s, for +1.4 µs of sink and +6 µs of broker
# CPU per event (LoopConfig.fetch_max_wait_ms, docs/benchmarks.md)
SINK_FETCH_MAX_WAIT_MS = 50


class _Sink(Handler):
    """The sink's side of the shared consume loop (`cityops.base.kafka_loop`): records
    into a batch; the loop's checkpoint writes it, then commits the offsets."""

    def __init__(
        self, settings: Settings, url: str, metrics: SinkMetrics, stop: asyncio.Event
    ) -> None:
        self.settings = settings
        self.url = url
        self.metrics = metrics
        self.stop = stop
        self.by_full_name = {settings.topic(name): name for name in SINK_TOPICS}
        self.max_age = timedelta(seconds=settings.max_event_age_s)
        self.max_future = timedelta(seconds=settings.max_event_future_s)
        self.conn: psycopg.AsyncConnection[Any] | None = None
        self.writer: Writer | None = None
        self.batch = Batch()
        self.pending = 0  # messages consumed since the last commit
        self.first_at = 0.0  # monotonic time of the oldest pending message
        self.lane = AlertLane(self._connect, settings.sink_write_mode, self._count_stored)

    # --- decoding -------------------------------------------------------------
    def add_records(
        self, tp: TopicPartition, records: list[ConsumerRecord[Any, Any]], now: datetime
    ) -> None:
        """Decode a fetched run of one partition into the batch."""
        if not records:
            return
        # the accepted event-time range once per run, as the worker's processor does
        oldest, newest = now - self.max_age, now + self.max_future
        name = self.by_full_name[tp.topic]
        table = TABLE_BY_TOPIC.get(name)
        if table is None:  # alerts, roll-ups
            for record in records:
                self.add(record, oldest, newest)
        else:
            # a feed's run: its table looked up once, its plainly valid messages
            # straight into rows (the rest through `_add_event`, as one by one)
            rows = None
            for record in records:
                row = fast_row(name, record.value, oldest, newest)
                if row is None:
                    self._add_event(name, record, oldest, newest)
                    continue
                if rows is None:
                    rows = self.batch.rows.setdefault(table.name, [])
                rows.append(row)
        if not self.pending:
            self.first_at = time.monotonic()
        self.pending += len(records)

    def add(self, record: ConsumerRecord[Any, Any], oldest: datetime, newest: datetime) -> None:
        name = self.by_full_name[record.topic]
        raw: bytes | None = record.value
        if name == topics.ALERTS or name == topics.ROLLUPS:
            model = Alert if name == topics.ALERTS else Rollup
            try:
                item = model.model_validate_json(raw or b"")
            except ValidationError:
                self.metrics.rows_skipped.labels(topic=name).inc()
            else:
                if isinstance(item, Alert):
                    self.lane.add(item)
                else:
                    self.batch.rollups.append(item)
        else:
            row = fast_row(name, raw, oldest, newest)
            if row is not None:
                self.batch.add_row(TABLE_BY_TOPIC[name].name, row)
            else:
                self._add_event(name, record, oldest, newest)

    def _add_event(
        self, name: str, record: ConsumerRecord[Any, Any], oldest: datetime, newest: datetime
    ) -> None:
        """A feed message that is not plainly valid: the worker's full validation."""
        raw: bytes | None = record.value
        try:
            event = decode_within(name, raw, oldest, newest, self.max_age)
        except Exception:  # never wedge on one message: the worker dead-letters it
            log.exception("skipping %s@%d: it could not be decoded", record.topic, record.offset)
            event = Rejection("processing_error", "decode failed")
        if isinstance(event, Rejection):
            self.metrics.rows_skipped.labels(topic=name).inc()
        else:
            self.batch.add_event(event)

    # --- writing --------------------------------------------------------------
    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(self.url, autocommit=True)

    def _count_stored(self, counts: dict[str, int], alerts: list[Alert]) -> None:
        """Metrics of rows stored (the batch's or the alerts' lane's)."""
        for table, count in counts.items():
            self.metrics.rows.labels(table=table).inc(count)
        if alerts:
            now = datetime.now(UTC)
            latency = self.metrics.end_to_end_latency.labels(table=ALERTS.name)
            for alert in alerts:
                latency.observe((now - alert.updated_at).total_seconds())

    async def _writer(self) -> Writer:
        if self.conn is None or self.conn.closed or self.writer is None:
            self.conn = await self._connect()
            self.writer = Writer(self.conn, self.settings.sink_write_mode)
        return self.writer

    async def _drop_connection(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(psycopg.Error):
                await self.conn.close()
        self.conn = self.writer = None

    async def checkpoint(self) -> list[Out]:
        """Write the pending batch (retrying); the loop commits its offsets after."""
        # alerts read so far that their own lane did not store (after its round)
        alerts = await self.lane.take_unstored()
        if not self.pending and not alerts:
            return []
        # Records the loop hands over while this writes (alerts, urgent: see
        # `run`) start the next batch, and their offsets wait for its checkpoint.
        batch, pending = self.batch, self.pending
        self.batch, self.pending = Batch(), 0
        batch.alerts.extend(alerts)
        try:
            counts, started = await self._write(batch, pending)
        except BaseException:
            # not stored (stopping while the database fails): it stays pending, with
            # what was handed over meanwhile, so no later checkpoint commits past it
            batch.extend(self.batch)
            self.batch, self.pending = batch, pending + self.pending
            raise
        self.metrics.batch_duration.observe(time.perf_counter() - started)
        now = datetime.now(UTC)
        for table, count in counts.items():
            self.metrics.rows.labels(table=table).inc(count)
        # one bulk observation per table: `observe` per row was ~14 % of the sink's
        # main-thread samples flat out (py-spy, megacity, 2026-12-01)
        for table, times in batch.times().items():
            observe_all(
                self.metrics.end_to_end_latency.labels(table=table),
                [(now - ts).total_seconds() for ts in times],
            )
        # Only now, with the rows durable, may Kafka forget the messages (the
        # loop commits next; a failed commit re-reads rows the keys make no-ops).
        return []

    async def _write(self, batch: Batch, pending: int) -> tuple[dict[str, int], float]:
        """Write `batch`, retrying; rows per table and when the successful try began."""
        # the loop's retry delays: short first (a deadlock or a failover is over in
        # well under a second), capped so a long outage is polled every 10 s
        backoff = Backoff(self.stop)
        while True:
            started = time.perf_counter()
            try:
                writer = await self._writer()
                fallbacks = writer.copy_fallbacks
                counts = await writer.write(batch) if len(batch) else {}
                self.metrics.copy_fallbacks.inc(writer.copy_fallbacks - fallbacks)
                return counts, started
            except (psycopg.Error, OSError) as exc:
                self.metrics.write_errors.inc()
                if self.conn is None or self.conn.broken or self.conn.closed:
                    await self._drop_connection()
                if self.stop.is_set():
                    raise Abandon(f"{pending} messages not stored (database: {exc})") from exc
                log.warning(
                    "batch of %d rows failed (%s: %s); retrying in %.1f s, offsets not committed",
                    len(batch),
                    type(exc).__name__,
                    str(exc).strip().splitlines()[0] if str(exc).strip() else "",
                    backoff.delay,
                )
                await backoff.wait()  # wakes early on stop, for one last attempt

    # --- the loop's calls ------------------------------------------------------
    def due_at(self) -> float:
        """When the pending batch must be written (monotonic time)."""
        due = self.first_at + self.settings.sink_flush_interval_s
        if self.lane.oldest_at is not None:
            # an alert its lane has not stored (still writing, or failed) waits no
            # longer than this for the batch's transaction to store it
            due = min(due, self.lane.oldest_at + self.settings.sink_alert_flush_interval_s)
        return due

    def process(self, batch: dict[TopicPartition, list[ConsumerRecord[Any, Any]]]) -> list[Out]:
        now = datetime.now(UTC)
        for tp, records in batch.items():
            self.add_records(tp, records, now)
        return []

    def checkpoint_due(self) -> bool:
        full = self.pending >= self.settings.sink_batch_size
        return bool(self.pending) and (full or time.monotonic() >= self.due_at())

    def poll_limits(self, timeout_s: float, max_records: int) -> tuple[float, int]:
        wait = min(timeout_s, STOP_POLL_S)
        if self.pending:
            wait = min(wait, max(0.0, self.due_at() - time.monotonic()))
        return wait, max(1, self.settings.sink_batch_size - self.pending)

    async def run(self) -> None:
        settings = self.settings
        assert settings.kafka_bootstrap
        loop = ConsumeLoop(
            LoopConfig(
                bootstrap=settings.kafka_bootstrap,
                group_id=settings.sink_group,
                client_id=f"{settings.sink_group}-{id(self):x}",
                topics=tuple(self.by_full_name),
                batch_max=settings.sink_batch_size,
                # writes are driven by `checkpoint_due` (size, age, alerts)
                commit_interval_s=settings.sink_flush_interval_s,
                rebalance_timeout_s=settings.broker_rebalance_timeout_s,
                produce=False,
                # alerts are read even while a batch's COPY runs, and before the
                # readings fetched with them, then stored at once by their lane
                urgent_topics=(settings.topic(topics.ALERTS),),
                fetch_max_wait_ms=SINK_FETCH_MAX_WAIT_MS,
            ),
            self,
            self.stop,
        )
        log.info(
            "sink consuming %d topics as group %s (batch %d rows or %.1f s, alerts %.1f s, "
            "%s mode)",
            len(self.by_full_name),
            settings.sink_group,
            settings.sink_batch_size,
            settings.sink_flush_interval_s,
            settings.sink_alert_flush_interval_s,
            settings.sink_write_mode,
        )
        try:
            await loop.run()
        finally:
            await self.lane.close()
            await self._drop_connection()


async def run_sink(
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    registry: CollectorRegistry | None = None,
) -> None:
    """Run the sink until `stop` is set (or SIGTERM/SIGINT when `stop` is None).

    Applies pending migrations first (a no-op on an up-to-date database), so a
    fresh database works out of the box.
    """
    if not settings.database_url:
        raise ConfigurationError("the sink needs CITYOPS_DATABASE_URL (or run `cityops up`)")
    if not settings.kafka_bootstrap:
        raise ConfigurationError("the sink needs CITYOPS_KAFKA_BOOTSTRAP (or run `cityops up`)")
    if registry is None:
        registry = CollectorRegistry()
    metrics = SinkMetrics(registry)
    serve(registry, settings.metrics_port_sink, settings.metrics_host)
    await asyncio.to_thread(migrate, settings.database_url)
    # Topics with the configured partitions, not the broker's auto-create default.
    await ensure_topics(settings, topics.ALL_TOPICS)

    with stop_on_signals(stop) as stopping:
        await _Sink(settings, settings.database_url, metrics, stopping).run()
    log.info("sink stopped")
