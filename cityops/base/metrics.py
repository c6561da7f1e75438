"""Prometheus metrics of every CityOps process, in one place.

Each process builds its own metrics object around a `CollectorRegistry` that
is passed in (tests use a fresh registry), and serves it on its own port.
Names follow Prometheus conventions: `cityops_` prefix, base units in the name,
`_total` for counters.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

# Event time -> processed spans sub-millisecond (hot path) to minutes (replays
# of old data), so the buckets are wide.
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
BATCH_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


def observe_all(histogram: Histogram, amounts: Sequence[float]) -> None:
    """`histogram.observe(a)` for every amount (a labelled child, no exemplars).

    The worker observes one latency per event: prometheus_client's `observe` (a
    bucket search in Python and two locked increments each) was ~3 % of the
    running worker's samples (py-spy, megacity drain). Here the amounts are sorted
    once and each bucket gets one increment of its count. It reads the histogram's
    bucket list (`_upper_bounds`, `_buckets`, `_sum`: prometheus_client 0.26);
    `tests/cityops/base/test_metrics.py` checks it against `observe` one by one.
    """
    if not amounts:
        return
    histogram._raise_if_not_observable()
    bounds = histogram._upper_bounds
    ordered = sorted(amounts)
    last = len(bounds) - 1
    start = 0
    for i, bound in enumerate(bounds):
        # the amounts <= bound not counted by a lower bound (the last bound is +Inf)
        end = len(ordered) if i == last else bisect_right(ordered, bound, start)
        if end > start:
            histogram._buckets[i].inc(end - start)
            start = end
    histogram._sum.inc(sum(amounts))


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.events_in = Counter(
            "cityops_events_in_total",
            "Messages consumed from input topics",
            ["topic"],
            registry=registry,
        )
        self.deadletters = Counter(
            "cityops_deadletters_total",
            "Rejected messages sent to deadletter.v1",
            ["topic", "reason"],
            registry=registry,
        )
        self.alerts = Counter(
            "cityops_alerts_total",
            "Alert lifecycle events sent to alerts.v1",
            ["rule", "severity", "state"],
            registry=registry,
        )
        self.rollups = Counter(
            "cityops_rollups_total",
            "Roll-up records sent to rollups.v1",
            ["feed"],
            registry=registry,
        )
        self.processing_latency = Histogram(
            "cityops_processing_latency_seconds",
            "Event time to processed by the worker",
            ["feed"],
            buckets=LATENCY_BUCKETS_S,
            registry=registry,
        )
        # Latest closed 1-minute window per district (set when a roll-up is emitted);
        # `cityops status` shows them when it has no database.
        self.district_lit_rate = Gauge(
            "cityops_district_lit_rate_ratio",
            "Streetlight lit rate of the last closed minute (lit / expected lit)",
            ["district"],
            registry=registry,
        )
        self.district_heating_warm_share = Gauge(
            "cityops_district_heating_warm_share_ratio",
            "Share of heating stations with indoor >= 18 C in the last closed minute",
            ["district"],
            registry=registry,
        )


class SinkMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.rows = Counter(
            "cityops_sink_rows_total",
            "Rows written (including duplicates ignored)",
            ["table"],
            registry=registry,
        )
        self.rows_skipped = Counter(
            "cityops_sink_rows_skipped_total",
            "Messages the sink did not store (invalid; the worker dead-letters them)",
            ["topic"],
            registry=registry,
        )
        self.batch_duration = Histogram(
            "cityops_sink_batch_duration_seconds",
            "Time to write and commit one batch",
            buckets=BATCH_BUCKETS_S,
            registry=registry,
        )
        self.end_to_end_latency = Histogram(
            "cityops_end_to_end_latency_seconds",
            "Event time to row committed",
            ["table"],
            buckets=LATENCY_BUCKETS_S,
            registry=registry,
        )
        self.copy_fallbacks = Counter(
            "cityops_sink_copy_fallbacks_total",
            "Table batches whose direct COPY met stored rows (replays) and went via staging",
            registry=registry,
        )
        self.write_errors = Counter(
            "cityops_sink_write_errors_total",
            "Batches that failed and were retried",
            registry=registry,
        )


class NotifierMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.pushes = Counter(
            "cityops_notifier_pushes_total",
            "Batches accepted by Alertmanager",
            registry=registry,
        )
        self.alerts_pushed = Counter(
            "cityops_notifier_alerts_pushed_total",
            "Alert lifecycle events from alerts.v1 accepted by Alertmanager",
            ["state"],
            registry=registry,
        )
        self.failures = Counter(
            "cityops_notifier_failures_total",
            "Failed pushes to Alertmanager (retried)",
            registry=registry,
        )
        self.alerts_resent = Counter(
            "cityops_notifier_alerts_resent_total",
            "Firing alerts re-sent so that Alertmanager keeps them",
            registry=registry,
        )
        self.alerts_rejected = Counter(
            "cityops_notifier_alerts_rejected_total",
            "Alerts Alertmanager refused with 4xx (dropped, logged)",
            registry=registry,
        )
        self.events_invalid = Counter(
            "cityops_notifier_events_invalid_total",
            "alerts.v1 messages that are not valid alerts (skipped)",
            registry=registry,
        )
        self.events_stale = Counter(
            "cityops_notifier_events_stale_total",
            "alerts.v1 events older than the state already sent (skipped)",
            registry=registry,
        )
        self.firing = Gauge(
            "cityops_notifier_firing_alerts",
            "Alerts the notifier keeps firing in Alertmanager",
            ["severity"],
            registry=registry,
        )
        self.push_duration = Histogram(
            "cityops_notifier_push_duration_seconds",
            "Time of one accepted push",
            buckets=BATCH_BUCKETS_S,
            registry=registry,
        )
        self.last_push = Gauge(
            "cityops_notifier_last_push_timestamp_seconds",
            "Unix time of the last push Alertmanager accepted",
            registry=registry,
        )


class SimulatorMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.events_sent = Counter(
            "cityops_simulator_events_sent_total",
            "Events produced by the simulator",
            ["topic"],
            registry=registry,
        )


class LagMetrics:
    """Consumer lag, set by whichever process owns the consumer group."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.lag = Gauge(
            "cityops_consumer_lag_messages",
            "Messages behind the log end",
            ["group", "topic"],
            registry=registry,
        )

    def set(self, group: str, lag_by_topic: Mapping[str, int]) -> None:
        """Record the lag of `group`, one value per topic (see `consumer_lag`)."""
        for topic, lag in lag_by_topic.items():
            self.lag.labels(group=group, topic=topic).set(lag)


def lag_by_topic(
    end_offsets: Mapping[tuple[str, int], int | None],
    positions: Mapping[tuple[str, int], int],
) -> dict[str, int]:
    """Sum per topic of (log end - position) over the partitions in `positions`.

    Keys are (topic, partition); a partition with an unknown end is skipped.
    """
    lag: dict[str, int] = {}
    for (topic, partition), position in positions.items():
        end = end_offsets.get((topic, partition))
        if end is None:
            continue
        lag[topic] = lag.get(topic, 0) + max(0, end - position)
    return lag


async def consumer_lag(consumer: Any) -> dict[str, int]:
    """Lag per topic of an aiokafka consumer's assigned partitions (from its last fetch).

    Uses `highwater(tp)` (known after the first fetch of the partition) and
    `position(tp)`; no extra requests to the broker.
    """
    ends: dict[tuple[str, int], int | None] = {}
    positions: dict[tuple[str, int], int] = {}
    for tp in consumer.assignment():
        key = (tp.topic, tp.partition)
        ends[key] = consumer.highwater(tp)
        positions[key] = await consumer.position(tp)
    return lag_by_topic(ends, positions)


def serve(
    registry: CollectorRegistry, port: int, addr: str = "127.0.0.1"
) -> tuple[WSGIServer, threading.Thread] | None:
    """Expose `registry` on http://addr:port/metrics (0 = do not serve).

    Loopback by default; containers pass addr="0.0.0.0" so Prometheus can reach
    them. Returns the server and its thread (call `stop_serving` in tests).
    """
    if not port:
        return None
    server, thread = start_http_server(port, addr=addr, registry=registry)
    return server, thread


def stop_serving(served: tuple[WSGIServer, threading.Thread] | None) -> None:
    """Stop a server `serve` started (no-op for None)."""
    if served is None:
        return
    server, thread = served
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
