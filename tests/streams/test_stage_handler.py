"""The worker's handler (streams/stage_handler.py) without a broker: checkpoints by partition.

The loop checkpoints one partition per turn (`checkpoint_turns`,
`checkpoint_partition`); a turn returns that partition's changelog records only,
and leaves the others' changes for their own turn (or a whole checkpoint).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import orjson
from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord
from prometheus_client import CollectorRegistry

from cityops.base.metrics import WorkerMetrics
from cityops.base.settings import load_settings
from streams import topics
from streams.forked import ForkedRunner
from streams.stage_handler import StageHandler, _Partition
from streams.stage_state import ChangeTrackingTable
from streams.stages.entity import EntityTask
from tests.streams.test_app import gas_event


def _handler(**changes: object) -> StageHandler:
    settings = load_settings(
        topic_partitions=2, worker_id="w", topic_prefix="t.", _env_file=None, **changes
    )
    handler = StageHandler(settings, WorkerMetrics(CollectorRegistry()))
    for p in (0, 1):
        tables = [ChangeTrackingTable() for _ in handler.stages]
        handler.parts[p] = _Partition(handler.stages, p, tables, handler.runner)
    return handler


def _gas_record(settings_topic: str, p: int, offset: int, detector: str) -> ConsumerRecord:
    at = datetime.now(UTC) - timedelta(minutes=5)
    value = orjson.dumps(gas_event(detector, at, 30.0))
    return ConsumerRecord(settings_topic, p, offset, 0, 0, detector.encode(), value, None, 0, 0, ())


def test_a_partitions_turn_flushes_that_partition_only() -> None:
    handler = _handler()
    topic = handler.settings.topic(topics.GAS_DETECTOR)
    handler.process(
        {
            TopicPartition(topic, p): [_gas_record(topic, p, 0, f"GD-{p}")]
            for p in handler.checkpoint_turns()
        }
    )
    assert handler.checkpoint_turns() == [0, 1]

    first = asyncio.run(handler.checkpoint_partition(0))  # each detector's rule state
    assert first and {out.partition for out in first} == {0}
    rest = asyncio.run(handler.checkpoint())
    again = [out for out in rest if out.partition == 0]
    others = [out for out in rest if out.partition == 1]
    # partition 0 again: only what every flush writes (the task's meta), not its events
    assert {out.key for out in again} < {out.key for out in first}
    assert b"gas:GD-0" in {out.key for out in first} - {out.key for out in again}
    assert b"gas:GD-1" in {out.key for out in others}
    assert asyncio.run(handler.checkpoint_partition(7)) == []


def test_windows_snapshots_are_forked_unless_configured_in_line() -> None:
    forked = _handler().parts[0].tasks[0]
    in_line = _handler(worker_snapshot_fork=False).parts[0].tasks[0]
    assert isinstance(forked, EntityTask) and isinstance(in_line, EntityTask)
    assert (forked.snapshots.runner is not None) == ForkedRunner.available
    assert in_line.snapshots.runner is None
