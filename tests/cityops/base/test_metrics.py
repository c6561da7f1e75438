"""cityops/base/metrics.py: names follow Prometheus conventions; lag helpers; serving."""

from __future__ import annotations

import urllib.request

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from cityops.base.metrics import (
    LagMetrics,
    NotifierMetrics,
    SimulatorMetrics,
    SinkMetrics,
    WorkerMetrics,
    lag_by_topic,
    serve,
    stop_serving,
)
from cityops.stack.process import free_port


def test_names_are_conventional() -> None:
    registry = CollectorRegistry()
    for cls in (WorkerMetrics, SinkMetrics, NotifierMetrics, SimulatorMetrics, LagMetrics):
        cls(registry)
    names = {m.name: m.type for m in registry.collect()}
    assert names, "no metrics registered"
    for name, kind in names.items():
        assert name.startswith("cityops_"), name
        if kind == "histogram":
            assert name.endswith("_seconds"), name
        if kind == "gauge":
            assert not name.endswith("_total"), name


def test_existing_attributes_kept() -> None:
    registry = CollectorRegistry()
    notifier = NotifierMetrics(registry)
    notifier.pushes.inc()
    notifier.alerts_pushed.labels(state="firing").inc(3)
    notifier.failures.inc()
    assert registry.get_sample_value("cityops_notifier_pushes_total") == 1
    assert (
        registry.get_sample_value("cityops_notifier_alerts_pushed_total", {"state": "firing"}) == 3
    )


def test_lag_by_topic() -> None:
    ends: dict[tuple[str, int], int | None] = {("a", 0): 10, ("a", 1): 5, ("b", 0): None}
    positions = {("a", 0): 4, ("a", 1): 7, ("b", 0): 3}
    assert lag_by_topic(ends, positions) == {"a": 6}
    registry = CollectorRegistry()
    lag = LagMetrics(registry)
    lag.set("g", {"a": 6})
    assert (
        registry.get_sample_value("cityops_consumer_lag_messages", {"group": "g", "topic": "a"})
        == 6
    )


def test_serve_and_stop() -> None:
    assert serve(CollectorRegistry(), 0) is None
    registry = CollectorRegistry()
    SimulatorMetrics(registry).events_sent.labels(topic="gas.detector.v1").inc(2)
    port = free_port()
    served = serve(registry, port)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as response:
            text = response.read().decode()
    finally:
        stop_serving(served)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    sample = families["cityops_simulator_events_sent"].samples[0]
    assert sample.value == 2 and sample.labels == {"topic": "gas.detector.v1"}
