"""sinks/sink.py without a broker: a fetched run of a feed partition goes into the
batch exactly as its messages would one by one (`_Sink.add`), plainly valid or not."""

from __future__ import annotations

import asyncio
import random

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord
from prometheus_client import CollectorRegistry

from cityops.base.metrics import SinkMetrics
from cityops.base.settings import Settings
from sinks.sink import _Sink
from tests.fixtures.plain_variants import NOW, simulated_messages, variants


def _sink(settings: Settings) -> tuple[_Sink, CollectorRegistry]:
    registry = CollectorRegistry()
    return _Sink(settings, "postgresql://unused", SinkMetrics(registry), asyncio.Event()), registry


def _skipped(registry: CollectorRegistry) -> dict[str, float]:
    return {
        s.labels["topic"]: s.value
        for family in registry.collect()
        for s in family.samples
        if s.name == "cityops_sink_rows_skipped_total"
    }


def test_a_run_gives_the_rows_and_skips_of_its_messages_one_by_one() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    rng = random.Random(5)
    messages = [m for seed in (3, 4, 5, 6) for m in simulated_messages(seed)]
    runs: dict[str, list[bytes]] = {}
    for topic, raw in messages:
        runs.setdefault(topic, []).append(raw)
        if rng.random() < 0.3:  # declined by the msgspec path: valid or not
            runs[topic].append(next(iter(variants(topic, raw, rng))))
        if rng.random() < 0.05:
            runs[topic].append(b'{"not": "a reading"}')
    (by_run, run_registry), (one_by_one, one_registry) = _sink(settings), _sink(settings)
    oldest = NOW - one_by_one.max_age
    newest = NOW + one_by_one.max_future
    for topic, values in runs.items():
        tp = TopicPartition(settings.topic(topic), 0)
        records = [
            ConsumerRecord(tp.topic, 0, i, 0, 0, None, v, None, -1, len(v), ())
            for i, v in enumerate(values)
        ]
        by_run.add_records(tp, records, NOW)
        for record in records:
            one_by_one.add(record, oldest, newest)
    assert by_run.batch.rows.keys() == one_by_one.batch.rows.keys()
    for table, rows in one_by_one.batch.rows.items():
        assert [repr(r) for r in by_run.batch.rows[table]] == [repr(r) for r in rows], table
    assert len(by_run.batch) == len(one_by_one.batch) > 300
    assert _skipped(run_registry) == _skipped(one_registry) != {}
    assert by_run.pending == sum(len(v) for v in runs.values())
