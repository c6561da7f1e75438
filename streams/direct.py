"""`CITYOPS_WORKER_RUNTIME=direct`: the worker without Faust.

The keyed stages of `streams.stages` (entity, circuit, district: pure tasks, one
per input partition) driven by the shared consume loop `cityops.base.kafka_loop` (one
aiokafka consumer in the worker's group, range-assigned so partition p of every
input topic lands on one worker, and one producer). docs/benchmarks.md measured
the Faust worker at ~1.6-2k events/s on 2 cores, most of it Faust's per-message
machinery; here the per-message cost is the processors' alone and Kafka I/O is
paid per batch.

This module is the process (clients, topics, metrics, signals); the loop's
handler, which wires the stage tasks and their assignment, is
`streams.stage_handler.StageHandler`, and the state read back on assignment is
`streams.stage_state`.

Per partition p the worker holds three tasks, each over its own
`ChangeTrackingTable`, whose changes go to partition p of the stage's compacted
changelog (`<worker_id>-<stage>-state-changelog`). The loop's checkpoint (every
`CITYOPS_WORKER_COMMIT_INTERVAL_S` and before partitions are given up) asks every
task to flush (rule state, roll-up windows, merge buffers), sends the changes,
waits for every output and change to be acknowledged, and only then commits the
offsets. So a `kill -9` loses nothing: the partition's next owner restores its
changelog partitions, which match the committed offsets, and re-reads from them;
the stages send the same records again and the receivers drop repeats.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry

from cityops.base.gc_tuning import GC_THRESHOLDS as GC_THRESHOLDS
from cityops.base.gc_tuning import tune_gc
from cityops.base.kafka_handler import LoopConfig
from cityops.base.kafka_loop import ConsumeLoop
from cityops.base.kafka_reader import PartitionReader
from cityops.base.metrics import LagMetrics, WorkerMetrics, consumer_lag, serve
from cityops.base.settings import ConfigurationError, Settings
from cityops.base.signals import stop_on_signals
from streams import topics
from streams.stage_handler import StageHandler, ensure_stage_topics
from streams.stages.build import stage_topics

log = logging.getLogger(__name__)

# Records per batch at most: 5,000 bound a batch at ~0.1-0.3 s of processing,
# while per-batch round trips cost a few per cent.
BATCH_MAX = 5000
# Processing time a batch aims at (the loop sizes batches from the measured time
# per record): an alert leaves after its batch, and the p99 alert latency target
# at 15,000 events/s is 250 ms end to end (issue 15, docs/benchmarks.md).
BATCH_TIME_S = 0.05
LAG_INTERVAL_S = 2.0
# Repartition records, markers and peer times leave together at most this late
# (LoopConfig.out_linger_s); alerts leave at once, on their own connection. A
# census of the broker after 60 s at 15,000 events/s: the by-circuit topic held
# 1,112 record batches, 623 with it (docs/benchmarks.md, "Sixth sitting").
OUT_LINGER_S = 0.2
# How long the broker may hold the worker's fetch (LoopConfig.fetch_max_wait_ms).
# Caught up at 15,000 events/s the worker waits for records 40-50 % of the time,
# and Tansu answers a held fetch at its deadline rather than when a record
# arrives: a probe's reading waited for it. Megacity at 15,000 events/s, 240 s
# runs: the worker's hop p50 0.21 s at 500 ms, 0.08-0.09 s at 100 and 50 ms,
# for ~3 % more worker and ~7 % more broker CPU per event.
FETCH_MAX_WAIT_MS = 100


def changelog_topic(settings: Settings) -> str:
    """The entity stage's changelog (per-entity rule state, windows)."""
    return stage_topics(settings).changelog("entity")


class DirectWorker:
    def __init__(
        self,
        settings: Settings,
        stop: asyncio.Event,
        registry: CollectorRegistry | None = None,
    ) -> None:
        if not settings.kafka_bootstrap:
            raise ConfigurationError(
                "the worker needs CITYOPS_KAFKA_BOOTSTRAP (or run `cityops up`)"
            )
        self.settings = settings
        self.stop = stop
        registry = registry if registry is not None else CollectorRegistry()
        self.metrics = WorkerMetrics(registry)
        self.lag = LagMetrics(registry)
        self.handler = StageHandler(settings, self.metrics)
        self.reader = self.handler.reader = PartitionReader(settings.kafka_bootstrap)
        self.changelog = changelog_topic(settings)
        self.loop = ConsumeLoop(
            LoopConfig(
                bootstrap=settings.kafka_bootstrap,
                group_id=settings.worker_id,
                client_id=f"{settings.worker_id}-{id(self):x}",
                topics=self.handler.topics,
                batch_max=BATCH_MAX,
                batch_time_s=BATCH_TIME_S,
                commit_interval_s=settings.worker_commit_interval_s,
                session_timeout_s=settings.worker_session_timeout_s,
                heartbeat_interval_s=settings.worker_heartbeat_interval_s,
                rebalance_timeout_s=settings.broker_rebalance_timeout_s,
                # alerts leave on a connection of their own (cityops/base/kafka_send.py)
                urgent_out_topics=(settings.topic(topics.ALERTS),),
                out_linger_s=OUT_LINGER_S,
                fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
            ),
            self.handler,
            stop,
            self.reader,
        )
        self._lag_at = 0.0

    async def _between_batches(self) -> None:
        if time.monotonic() - self._lag_at >= LAG_INTERVAL_S:
            self._lag_at = time.monotonic()
            self.lag.set(self.settings.worker_id, await consumer_lag(self.loop.consumer))
            async with self.loop.lock:  # the reader is the listener's too
                try:
                    await self.handler.poll_feeds()
                except KafkaError as exc:
                    log.warning("polling the feeds' log ends failed: %s", exc)

    async def run(self) -> None:
        reader = self.reader
        await reader.start()
        try:
            try:
                await ensure_stage_topics(self.settings, self.handler)
            except BaseException:
                await self.loop.close()
                raise
            log.info(
                "direct worker: group %s, %d topics x %d partitions, batches of up to %d",
                self.settings.worker_id,
                len(self.handler.topics),
                self.settings.topic_partitions,
                BATCH_MAX,
            )
            await self.loop.run(on_idle=self._between_batches)
        finally:
            await reader.stop()


async def run_direct(
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    registry: CollectorRegistry | None = None,
) -> None:
    """Run the direct worker until `stop` is set (or SIGTERM/SIGINT when `stop` is None)."""
    with stop_on_signals(stop) as stopping:
        await DirectWorker(settings, stopping, registry).run()


def run_worker(settings: Settings) -> int:
    """`cityops worker` with CITYOPS_WORKER_RUNTIME=direct."""
    logging.getLogger().setLevel(settings.log_level)
    tune_gc()
    registry = CollectorRegistry()
    serve(registry, settings.metrics_port_worker, settings.metrics_host)
    asyncio.run(run_direct(settings, registry=registry))
    return 0
