"""The Kafka runner with a fake producer, the CLI, and (integration) a real broker."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from cityops.base.city.profiles import load_profile
from cityops.base.metrics import SimulatorMetrics
from cityops.base.settings import load_settings
from sensors_sim import cli
from sensors_sim.incidents import IncidentError
from sensors_sim.simulate import default_start, run_simulation
from sensors_sim.simulation import Simulation
from streams import topics


class FakeProducer:
    """Records sends; every delivery succeeds at once."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes, int]] = []
        self.started = self.stopped = self.flushed = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def flush(self) -> None:
        self.flushed = True

    async def send(self, topic: str, value: bytes, key: bytes, *, timestamp_ms: int) -> None:
        self.sent.append((topic, key, value, timestamp_ms))


def _past_start() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)


def test_fast_run_sends_the_simulation_and_counts_it() -> None:
    settings = load_settings(topic_prefix="t1.", kafka_bootstrap=None)
    producer = FakeProducer()
    registry = CollectorRegistry()
    start = _past_start()
    counts = asyncio.run(
        run_simulation(
            settings,
            "small",
            seed=9,
            start=start,
            duration_s=300,
            rate=math.inf,
            producer_factory=lambda: producer,
            metrics=SimulatorMetrics(registry),
        )
    )
    expected = list(Simulation(load_profile("small"), 9, start).events(300))
    assert producer.sent == [(f"t1.{e.topic}", e.key, e.value, e.ts_ms) for e in expected]
    assert counts == dict(Counter(e.topic for e in expected))
    assert producer.started and producer.flushed and producer.stopped
    for topic, n in counts.items():
        value = registry.get_sample_value("cityops_simulator_events_sent_total", {"topic": topic})
        assert value == n


def test_default_start_keeps_a_fast_run_in_the_past() -> None:
    now = datetime(2026, 11, 22, 12, 0, 0, 500_000, tzinfo=UTC)
    assert default_start(600, 1000.0, now) == datetime(2026, 11, 22, 11, 50, tzinfo=UTC)
    assert default_start(600, 0.0, now) == datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert default_start(None, math.inf, now) == datetime(2026, 11, 22, 11, 0, tzinfo=UTC)


def test_runs_older_than_the_worker_accepts_are_refused() -> None:
    settings = load_settings(kafka_bootstrap=None)
    with pytest.raises(ValueError, match="older than the worker accepts"):
        asyncio.run(
            run_simulation(
                settings,
                "small",
                seed=1,
                start=datetime.now(UTC) - timedelta(days=8),
                duration_s=60,
                producer_factory=FakeProducer,
            )
        )


def test_no_broker_is_a_clear_error() -> None:
    settings = load_settings(kafka_bootstrap=None)
    with pytest.raises(ValueError, match="CITYOPS_KAFKA_BOOTSTRAP"):
        asyncio.run(run_simulation(settings, "small", seed=1, duration_s=60, rate=math.inf))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cityops")
    cli.register(parser.add_subparsers(dest="command"))
    return parser


def test_cli_parses_simulate_options() -> None:
    args = _parser().parse_args(
        ["simulate", "--profile", "qingdao", "--seed", "3", "--duration", "60", "--rate", "max",
         "--start", "2026-11-22T10:00:00Z", "--no-progress"]
    )  # fmt: skip
    assert args.handler is cli._simulate
    assert (args.profile, args.seed, args.duration) == ("qingdao", 3, 60.0)
    assert math.isinf(args.rate)
    assert args.start == datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    with pytest.raises(SystemExit):
        _parser().parse_args(["simulate", "--start", "2026-11-22T10:00:00"])  # no timezone


def test_incidents_from_json_and_files(tmp_path: Path) -> None:
    inline = json.dumps({"kind": "idling", "entity_id": "TR-R001-1", "at_s": 60})
    listed = tmp_path / "incidents.yaml"
    listed.write_text(
        "- {kind: gas_leak, entity_id: GD-centre-00001, at_s: 0}\n"
        "- {kind: burst_pipe, entity_id: HS-001-1, at_s: 120}\n",
        encoding="utf-8",
    )
    parsed = cli.parse_incidents([inline, str(listed)])
    assert [i.kind for i in parsed] == ["idling", "gas_leak", "burst_pipe"]
    with pytest.raises(IncidentError, match="neither JSON nor an existing file"):
        cli.parse_incidents(["no-such-file.yaml"])


@pytest.mark.integration
def test_a_short_run_lands_in_a_real_broker(broker: Any, topic_prefix: str) -> None:
    """Every event arrives once, as generated, in the partition aiokafka's send would pick."""
    from aiokafka import AIOKafkaConsumer
    from aiokafka.partitioner import DefaultPartitioner

    from cityops.base.kafka_admin import ensure_topics

    settings = load_settings(
        kafka_bootstrap=broker.bootstrap, topic_prefix=topic_prefix, topic_partitions=2
    )
    start = _past_start()

    async def scenario() -> tuple[dict[str, int], list[tuple[str, int, bytes, bytes, int]]]:
        await ensure_topics(settings, topics.FEED_TOPICS)
        counts = await run_simulation(
            settings, "small", seed=5, start=start, duration_s=120, rate=math.inf
        )
        consumer = AIOKafkaConsumer(
            *(settings.topic(t) for t in topics.FEED_TOPICS),
            bootstrap_servers=broker.bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        seen: list[tuple[str, int, bytes, bytes, int]] = []
        try:
            while len(seen) < sum(counts.values()):
                batch = await consumer.getmany(timeout_ms=10_000)
                if not batch:
                    break
                for tp, records in batch.items():
                    seen.extend(
                        (tp.topic.removeprefix(topic_prefix), tp.partition, r.key, r.value,
                         r.timestamp)
                        for r in records
                    )  # fmt: skip
        finally:
            await consumer.stop()
        return counts, seen

    counts, seen = asyncio.run(scenario())
    expected = list(Simulation(load_profile("small"), 5, start).events(120))
    assert counts == dict(Counter(e.topic for e in expected))
    assert len(expected) > 200
    partition_of = DefaultPartitioner()
    # per partition, the broker holds exactly the generated records in generated order
    by_partition: dict[tuple[str, int], list[tuple[bytes, bytes, int]]] = {}
    for e in expected:
        p = partition_of(e.key, [0, 1], [0, 1])
        by_partition.setdefault((e.topic, p), []).append((e.key, e.value, e.ts_ms))
    got: dict[tuple[str, int], list[tuple[bytes, bytes, int]]] = {}
    for topic, p, key, value, ts in seen:
        got.setdefault((topic, p), []).append((key, value, ts))
    assert got == by_partition
    assert {p for _, p in got} == {0, 1}
