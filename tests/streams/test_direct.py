"""The direct worker runtime (streams/direct.py) against the real broker.

Dead letters and alerts as with Faust; rule state restored from the changelog
after a restart; offsets committed only once the batch's outputs and state
changes are acknowledged by the broker (a refused send holds the commit back).
"""

from __future__ import annotations

import asyncio
import gc
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaTimeoutError
from aiokafka.partitioner import DefaultPartitioner

from cityops.base.kafka_send import BatchSender, Out, Send, _failed_future
from cityops.base.settings import Settings
from streams import topics
from streams.direct import GC_THRESHOLDS, DirectWorker, changelog_topic, tune_gc
from streams.models import Alert, DeadLetter
from tests.fixtures.pipeline import (
    _read_topic,
    group_caught_up,
    produce,
    read_topic,
    running_pipeline,
    wait_until,
)
from tests.streams.test_app import gas_event

pytestmark = pytest.mark.integration


@pytest.fixture
def direct_settings(stack_settings: Settings) -> Settings:
    return stack_settings.model_copy(update={"worker_runtime": "direct"})


def _gas(detector: str, at: datetime, lel: float) -> tuple[str, bytes, bytes]:
    return topics.GAS_DETECTOR, detector.encode(), orjson.dumps(gas_event(detector, at, lel))


def _alerts(settings: Settings) -> list[Alert]:
    records = read_topic(settings.kafka_bootstrap or "", settings.topic(topics.ALERTS))
    return [Alert.model_validate_json(r.value) for r in records]


def test_direct_worker_dead_letters_and_alerts(
    direct_settings: Settings, created_topics: list[str]
) -> None:
    settings = direct_settings
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    bad = [
        (topics.GAS_DETECTOR, b"GD-X", b"{not json"),
        (topics.GAS_DETECTOR, b"GD-Y", orjson.dumps(gas_event("GD-Y", now, 500.0))),
        (topics.ALERTS_ACK, b"x", b"[]"),
    ]
    good = [_gas("GD-1", now + timedelta(seconds=60 * i), lel) for i, lel in enumerate([1, 30, 55])]
    with running_pipeline(settings, parts=("worker",)) as procs:
        asyncio.run(produce(settings, bad + good))
        letters = wait_until(
            lambda: read_topic(settings.kafka_bootstrap or "", settings.topic(topics.DEADLETTER)),
            lambda recs: len(recs) >= len(bad),
            timeout=60,
            what="dead letters",
            procs=procs,
        )
        fired = wait_until(
            lambda: _alerts(settings), lambda a: len(a) >= 2, timeout=60, what="alerts", procs=procs
        )
        assert procs["worker"].poll() is None, "the worker must survive bad input"

    got = sorted(
        (d.topic, d.reason) for d in (DeadLetter.model_validate_json(r.value) for r in letters)
    )
    gas, ack = settings.topic(topics.GAS_DETECTOR), settings.topic(topics.ALERTS_ACK)
    assert got == sorted([(gas, "invalid_json"), (gas, "out_of_range"), (ack, "not_an_object")])
    lel = [(a.rule, a.entity_id, a.state, a.severity) for a in fired]
    assert lel == [
        ("gas.lel_high", "GD-1", "firing", "major"),
        ("gas.lel_high", "GD-1", "firing", "critical"),
    ]


def test_rule_state_survives_a_restart(
    direct_settings: Settings, created_topics: list[str]
) -> None:
    """An alert opened before the restart resolves after it, and fires only once.

    Resolving takes 3 consecutive readings below 10 %LEL: one is read before the
    restart and two after, so the resolution needs the open alert *and* the
    count of low readings from the changelog.
    """
    settings = direct_settings
    bootstrap = settings.kafka_bootstrap or ""
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    before = [_gas("GD-1", t0 + timedelta(seconds=60 * i), lel) for i, lel in enumerate([1, 30, 5])]
    after = [_gas("GD-1", t0 + timedelta(seconds=60 * i), 5) for i in (3, 4)]
    feeds = [settings.topic(topics.GAS_DETECTOR)]

    with running_pipeline(settings, parts=("worker",)) as procs:
        asyncio.run(produce(settings, before))
        wait_until(
            lambda: group_caught_up(bootstrap, settings.worker_id, feeds),
            bool,
            timeout=60,
            what="the first worker to commit",
            procs=procs,
        )
    # the changelog holds the detector's open alert and its one low reading
    changelog = read_topic(bootstrap, changelog_topic(settings))
    last = {r.key: r.value for r in changelog}
    state = orjson.loads(last[b"gas:GD-1"])
    assert state["below"] == 1 and "gas.lel_high" in state["alerts"]

    with running_pipeline(settings, parts=("worker",)) as procs:
        asyncio.run(produce(settings, after))
        fired = wait_until(
            lambda: _alerts(settings),
            lambda a: any(x.state == "resolved" for x in a),
            timeout=60,
            what="the alert to resolve after the restart",
            procs=procs,
        )
        wait_until(
            lambda: group_caught_up(bootstrap, settings.worker_id, feeds),
            bool,
            timeout=60,
            what="the second worker to commit",
            procs=procs,
        )
    fired = _alerts(settings)
    assert [(a.rule, a.entity_id, a.state) for a in fired] == [
        ("gas.lel_high", "GD-1", "firing"),
        ("gas.lel_high", "GD-1", "resolved"),
    ]


class _SpySender(BatchSender):
    """Refuses the first attempt of every alert send; counts what was handed over."""

    def __init__(self, producer: Any, alerts: str, changelog: str) -> None:
        super().__init__(producer)
        self.alerts, self.changelog = alerts, changelog
        self.refused = self.alerts_sent = self.changes_sent = 0

    def _send(self, topic: str, partition: int, records: list[Out]) -> Send:
        send = super()._send(topic, partition, records)
        if topic == self.changelog:
            self.changes_sent += len(records)
        if topic != self.alerts:
            return send
        self.alerts_sent += len(records)
        tries = 0

        async def attempt() -> asyncio.Future[Any]:
            nonlocal tries
            tries += 1
            if tries == 1:
                self.refused += 1
                return _failed_future(KafkaTimeoutError())
            return await send()

        return attempt


def test_offsets_are_committed_only_after_outputs_are_acknowledged(
    direct_settings: Settings, created_topics: list[str]
) -> None:
    settings = direct_settings
    bootstrap = settings.kafka_bootstrap or ""
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    events = [_gas("GD-1", now + timedelta(seconds=60 * i), lel) for i, lel in enumerate([1, 30])]
    n = settings.topic_partitions
    gas = TopicPartition(
        settings.topic(topics.GAS_DETECTOR), DefaultPartitioner()(b"GD-1", list(range(n)), [])
    )
    # (offsets committed, alerts handed over, alerts in the log, changes handed over,
    #  changes in the log), at each commit
    commits: list[tuple[dict[TopicPartition, int], int, int, int, int]] = []

    async def scenario() -> _SpySender:
        stop = asyncio.Event()
        worker = DirectWorker(settings, stop)
        loop = worker.loop
        spy = loop.sender = _SpySender(
            loop.producer, settings.topic(topics.ALERTS), changelog_topic(settings)
        )
        commit = loop.consumer.commit

        async def recording_commit(offsets: dict[TopicPartition, int]) -> None:
            # Records counted by reading them: Tansu's ListOffsets answers the base
            # offset of the last record batch + 1, not the log end (measured).
            alerts = await _read_topic(bootstrap, settings.topic(topics.ALERTS), 10.0)
            changes = await _read_topic(bootstrap, changelog_topic(settings), 10.0)
            commits.append(
                (dict(offsets), spy.alerts_sent, len(alerts), spy.changes_sent, len(changes))
            )
            await commit(offsets)

        loop.consumer.commit = recording_commit  # type: ignore[method-assign]
        task = asyncio.create_task(worker.run())
        await produce(settings, events)
        for _ in range(600):  # a deadline, not a timing assertion
            if task.done() or any(c[0].get(gas) == 2 for c in commits):
                break
            await asyncio.sleep(0.1)
        stop.set()
        await task
        return spy

    spy = asyncio.run(scenario())
    assert spy.refused >= 1, "the alert's first send must have been refused"
    assert any(c[0].get(gas) == len(events) for c in commits)
    for _, alerts_sent, alerts_in_log, changes_sent, changes_in_log in commits:
        # every output and state change handed over before this commit is in the log
        assert alerts_in_log >= alerts_sent
        assert changes_in_log >= changes_sent
    assert spy.alerts_sent == 1 and spy.changes_sent > 0
    assert group_caught_up(bootstrap, settings.worker_id, [gas.topic])


def test_tune_gc_sets_the_worker_thresholds_and_returns_the_old_ones() -> None:
    before = gc.get_threshold()
    try:
        assert tune_gc() == before
        assert gc.get_threshold() == GC_THRESHOLDS
    finally:
        gc.set_threshold(*before)


def test_a_partition_count_other_than_the_setting_stops_the_worker(
    direct_settings: Settings,
) -> None:
    """Faust's PartitionsMismatch guard: state is split by partition, so the worker
    refuses topics that do not have `topic_partitions` partitions, saying what to fix."""
    from cityops.base.kafka_admin import ensure_topics
    from cityops.base.settings import ConfigurationError

    two = direct_settings.model_copy(update={"topic_partitions": 2})
    asyncio.run(ensure_topics(two, topics.ALL_TOPICS))
    four = direct_settings.model_copy(update={"topic_partitions": 4})

    async def start() -> None:
        await DirectWorker(four, asyncio.Event()).run()

    with pytest.raises(ConfigurationError, match=r"CITYOPS_TOPIC_PARTITIONS=4 but .* has 2"):
        asyncio.run(start())
