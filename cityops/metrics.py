"""Prometheus metrics of every CityOps process, in one place.

Each process builds its own metrics object around a `CollectorRegistry` that
is passed in (tests use a fresh registry), and serves it on its own port.
Names follow Prometheus conventions: `cityops_` prefix, base units in the name,
`_total` for counters.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

# Event time -> processed spans sub-millisecond (hot path) to minutes (replays
# of old data), so the buckets are wide.
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
BATCH_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.events_in = Counter(
            "cityops_events_in_total", "Messages consumed from input topics", ["topic"],
            registry=registry,
        )
        self.deadletters = Counter(
            "cityops_deadletters_total", "Rejected messages sent to deadletter.v1",
            ["topic", "reason"], registry=registry,
        )
        self.alerts = Counter(
            "cityops_alerts_total", "Alert lifecycle events sent to alerts.v1",
            ["rule", "severity", "state"], registry=registry,
        )
        self.rollups = Counter(
            "cityops_rollups_total", "Roll-up records sent to rollups.v1", ["feed"],
            registry=registry,
        )
        self.processing_latency = Histogram(
            "cityops_processing_latency_seconds", "Event time to processed by the worker",
            ["feed"], buckets=LATENCY_BUCKETS_S, registry=registry,
        )


class SinkMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.rows = Counter(
            "cityops_sink_rows_total", "Rows written (including duplicates ignored)", ["table"],
            registry=registry,
        )
        self.rows_skipped = Counter(
            "cityops_sink_rows_skipped_total",
            "Messages the sink did not store (invalid; the worker dead-letters them)",
            ["topic"], registry=registry,
        )
        self.batch_duration = Histogram(
            "cityops_sink_batch_duration_seconds", "Time to write and commit one batch",
            buckets=BATCH_BUCKETS_S, registry=registry,
        )
        self.end_to_end_latency = Histogram(
            "cityops_end_to_end_latency_seconds", "Event time to row committed", ["table"],
            buckets=LATENCY_BUCKETS_S, registry=registry,
        )
        self.write_errors = Counter(
            "cityops_sink_write_errors_total", "Batches that failed and were retried",
            registry=registry,
        )


class NotifierMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.pushes = Counter(
            "cityops_notifier_pushes_total", "Batches accepted by Alertmanager",
            registry=registry,
        )
        self.alerts_pushed = Counter(
            "cityops_notifier_alerts_pushed_total", "Alerts sent to Alertmanager", ["state"],
            registry=registry,
        )
        self.failures = Counter(
            "cityops_notifier_failures_total", "Failed pushes to Alertmanager (retried)",
            registry=registry,
        )


class SimulatorMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.events_sent = Counter(
            "cityops_simulator_events_sent_total", "Events produced by the simulator", ["topic"],
            registry=registry,
        )


class LagMetrics:
    """Consumer lag, set by whichever process owns the consumer group."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.lag = Gauge(
            "cityops_consumer_lag_messages", "Messages behind the log end",
            ["group", "topic"], registry=registry,
        )


def serve(registry: CollectorRegistry, port: int) -> None:
    """Expose `registry` on http://127.0.0.1:port/metrics (0 = do not serve)."""
    if port:
        start_http_server(port, addr="127.0.0.1", registry=registry)
