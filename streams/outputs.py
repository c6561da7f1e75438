"""What both worker runtimes share: how the stages' output is encoded for Kafka,
and how it is counted. One definition, so the `direct` and
`faust` runtimes cannot drift apart (docs/ARCHITECTURE.md, "Where the code differs").
"""

from __future__ import annotations

from collections.abc import Iterator

from cityops.base.metrics import WorkerMetrics, observe_all
from cityops.base.settings import Settings
from streams import topics
from streams.pipeline import Output


def count_output(metrics: WorkerMetrics, out: Output) -> None:
    """Update the worker metrics for one batch's output."""
    for dl in out.deadletters:
        metrics.deadletters.labels(dl.topic, dl.reason).inc()
    for alert in out.alerts:
        metrics.alerts.labels(alert.rule, alert.severity, alert.state).inc()
    for rollup in out.rollups:
        metrics.rollups.labels(rollup.feed).inc()
        if rollup.lit_rate is not None:
            metrics.district_lit_rate.labels(rollup.district).set(rollup.lit_rate)
        if rollup.warm_share is not None:
            metrics.district_heating_warm_share.labels(rollup.district).set(rollup.warm_share)
    # One labels() lookup and one bulk observation per feed, not per event: the
    # lookups were ~2 % of the worker's samples under megacity load (py-spy), the
    # observations one by one ~3 % (`observe_all`).
    by_feed: dict[str, list[float]] = {}
    for feed, seconds in out.latencies:
        amounts = by_feed.get(feed)
        if amounts is None:
            amounts = by_feed[feed] = []
        amounts.append(seconds)
    for feed, amounts in by_feed.items():
        observe_all(metrics.processing_latency.labels(feed), amounts)


def output_records(settings: Settings, out: Output) -> Iterator[tuple[str, bytes, bytes]]:
    """(topic, key, value) of each output record: dead letters, alerts, roll-ups."""
    deadletter = settings.topic(topics.DEADLETTER)
    alerts = settings.topic(topics.ALERTS)
    rollups = settings.topic(topics.ROLLUPS)
    for dl in out.deadletters:
        yield deadletter, dl.topic.encode(), dl.model_dump_json().encode()
    for alert in out.alerts:
        yield alerts, alert.key.encode(), alert.model_dump_json().encode()
    for rollup in out.rollups:
        yield (
            rollups,
            f"{rollup.feed}:{rollup.district}".encode(),
            rollup.model_dump_json().encode(),
        )
