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
    observe_all,
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


def _samples(registry: CollectorRegistry) -> dict[tuple[str, str], float]:
    return {
        (s.name, s.labels.get("le", "")): s.value
        for family in registry.collect()
        for s in family.samples
        if not s.name.endswith("_created")
    }


def test_observe_all_counts_as_observe_one_by_one() -> None:
    # bounds themselves, between them, below the first, above the last finite one
    amounts = [0.005, 0.0049, 0.0051, 0.01, 0.3, 1.0, 1, 299.9, 300.0, 300.1, 1e9, -1.0, 0.0]
    amounts += [0.02] * 50 + [7.5] * 3
    one, bulk = CollectorRegistry(), CollectorRegistry()
    w_one, w_bulk = WorkerMetrics(one), WorkerMetrics(bulk)
    for a in amounts:
        w_one.processing_latency.labels("gas").observe(a)
    observe_all(w_bulk.processing_latency.labels("gas"), amounts[:20])
    observe_all(w_bulk.processing_latency.labels("gas"), amounts[20:])
    observe_all(w_bulk.processing_latency.labels("gas"), [])
    want, got = _samples(one), _samples(bulk)
    assert want.keys() == got.keys()
    for key, value in want.items():
        assert abs(got[key] - value) <= 1e-9 * max(1.0, abs(value)), key
    assert got[("cityops_processing_latency_seconds_count", "")] == len(amounts)


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
