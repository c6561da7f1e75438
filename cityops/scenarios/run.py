"""Drive a scenario through a pipeline: generate flat out, produce, collect alerts.

The run is over when the worker has committed every produced feed offset (its
consumer group has no lag: either runtime commits only after the alerts an event
caused were handed to the producer) and `alerts.v1` has been read to its end. As a fallback (a
worker in another consumer group) a run also ends when nothing moved for `idle_s`.

A run uses the configured partition count (`CITYOPS_TOPIC_PARTITIONS`, embedded
default 4). It forced ONE partition while the worker kept one event-time watermark
per feed: with several partitions read at different paces, a flat-out backlog moved
that watermark past readings still queued in a slower partition and raised offline
alerts a real-time feed would not. The partitioned topology keeps a watermark per
partition (`streams/stages/entity.py`) and merges on the minimum over partitions
(`streams/stages/gate.py`), so the scenarios stay exact on P partitions
(tests/sensors_sim/test_scenario_shipped.py: every shipped scenario on the default,
and three compared alert for alert with one partition).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord

from cityops.base.kafka_admin import ensure_topics
from cityops.base.settings import Settings
from cityops.stack.process import ManagedProcess
from cityops.stack.up import PART_COMMAND, cityops_argv, settings_env
from sensors_sim.scenario import ResolvedScenario
from sensors_sim.scenario_check import CheckReport, check
from sensors_sim.simulate import run_simulation
from streams import topics
from streams.models import Alert, Rollup


class ScenarioRunError(RuntimeError):
    """The pipeline could not run the scenario (a dead worker, no broker, ...)."""


@dataclass
class RunResult:
    resolved: ResolvedScenario
    topic_prefix: str
    events: dict[str, int]
    alerts: list[Alert]
    rollups: list[Rollup]
    caught_up: bool  # False: the run ended on the idle timeout, results may be partial
    raw_alerts: list[tuple[bytes | None, bytes]] = field(default_factory=list, repr=False)

    @property
    def name(self) -> str:
        return self.resolved.scenario.name

    def alerts_for(self, rule: str, entity: str | None = None) -> list[Alert]:
        """Alert events of one rule (and entity), in the order the worker sent them."""
        return [
            a for a in self.alerts if a.rule == rule and (entity is None or a.entity_id == entity)
        ]

    def check(self) -> CheckReport:
        scenario = self.resolved.scenario
        return check(
            scenario.name,
            self.resolved.start,
            self.resolved.expected(),
            self.alerts,
            ignore_rules=scenario.ignore_rules,
        )


def scenario_settings(base: Settings, *, prefix: str | None = None) -> Settings:
    """`base` with its own topic prefix and consumer groups (and `base`'s partitions)."""
    prefix = prefix or f"scn-{uuid.uuid4().hex[:10]}."
    return base.model_copy(
        update={
            "topic_prefix": prefix,
            "worker_id": f"{prefix}worker",
            "sink_group": f"{prefix}sink",
            "state_dir": base.state_dir / prefix.rstrip("."),
            "metrics_port_worker": 0,
            "metrics_port_sink": 0,
            "metrics_port_notifier": 0,
            "metrics_port_simulator": 0,
        }
    )


@contextlib.contextmanager
def worker_process(
    settings: Settings, parts: Sequence[str] = ("worker",)
) -> Iterator[dict[str, ManagedProcess]]:
    """The real `cityops worker` (and optionally `sink`, `notifier`) as children, stopped on
    exit."""
    env = {**os.environ, **settings_env(settings)}
    logs = settings.state_dir / "logs"
    procs: dict[str, ManagedProcess] = {}
    try:
        for part in parts:
            procs[part] = ManagedProcess(
                part, cityops_argv(PART_COMMAND.get(part, part)), logs / f"{part}.log", env=env
            ).start()
        yield procs
    finally:
        for proc in procs.values():
            proc.stop(timeout=20)


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


async def _end_offsets(
    consumer: AIOKafkaConsumer, names: Sequence[str], wait_s: float = 20.0
) -> dict[TopicPartition, int]:
    """End offset of every partition of `names`; waits for fresh topics' metadata
    (a topic created a moment ago may be missing from the first metadata answers)."""
    tps = []
    for name in names:
        deadline = time.monotonic() + wait_s
        while not (partitions := consumer.partitions_for_topic(name)):
            if time.monotonic() > deadline:
                raise ScenarioRunError(f"topic {name!r} has no partitions (does it exist?)")
            # add_topic: metadata requests cover only tracked topics once one is assigned
            await consumer._client.add_topic(name)
            await consumer._client.force_metadata_update()
            if not consumer.partitions_for_topic(name):
                await asyncio.sleep(0.1)
        tps += [TopicPartition(name, p) for p in sorted(partitions)]
    return dict(await consumer.end_offsets(tps)) if tps else {}


async def _committed(
    admin: AIOKafkaAdminClient, group: str, tps: Sequence[TopicPartition]
) -> dict[TopicPartition, int]:
    try:
        offsets = await admin.list_consumer_group_offsets(group, partitions=list(tps))
    except Exception:  # the group may not exist yet while the worker joins
        return {}
    return {tp: meta.offset for tp, meta in offsets.items() if meta is not None}


@dataclass
class Outputs:
    """What the worker sent while a stream was driven through it."""

    produced: dict[str, int]
    alerts: list[Alert]
    rollups: list[Rollup]
    raw_alerts: list[tuple[bytes | None, bytes]]
    caught_up: bool


async def observe(
    settings: Settings,
    produce: Callable[[], Awaitable[dict[str, int]]],
    *,
    procs: dict[str, ManagedProcess] | None = None,
    idle_s: float = 45.0,
    timeout_s: float = 300.0,
) -> Outputs:
    """Run `produce` (it fills `settings`' feed topics), then collect the worker's outputs
    caused since the call, until the worker's group has committed every feed offset."""
    if not settings.kafka_bootstrap:
        raise ScenarioRunError("no broker: set CITYOPS_KAFKA_BOOTSTRAP or let the run start one")
    await ensure_topics(settings, topics.ALL_TOPICS)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    await admin.start()
    try:
        outputs = [settings.topic(topics.ALERTS), settings.topic(topics.ROLLUPS)]
        # only what this run causes: earlier alerts on a shared pipeline are skipped
        out_start = await _end_offsets(consumer, outputs)
        consumer.assign(list(out_start))
        for tp, offset in out_start.items():
            consumer.seek(tp, offset)
        counts = await produce()
        feeds = await _end_offsets(consumer, [settings.topic(t) for t in topics.FEED_TOPICS])
        collected, caught_up = await _collect(
            consumer, admin, settings.worker_id, feeds, procs, idle_s, timeout_s
        )
    finally:
        await consumer.stop()
        await admin.close()
    alerts_topic = settings.topic(topics.ALERTS)
    raw = [(r.key, r.value) for r in collected if r.topic == alerts_topic and r.value]
    return Outputs(
        produced=counts,
        alerts=[Alert.model_validate_json(v) for _, v in raw],
        rollups=[
            Rollup.model_validate_json(r.value)
            for r in collected
            if r.topic != alerts_topic and r.value
        ],
        raw_alerts=raw,
        caught_up=caught_up,
    )


async def drive(
    resolved: ResolvedScenario,
    settings: Settings,
    *,
    procs: dict[str, ManagedProcess] | None = None,
    idle_s: float = 45.0,
    timeout_s: float = 300.0,
) -> RunResult:
    """Produce the scenario flat out into `settings`' topics; collect what the worker makes."""
    scenario = resolved.scenario

    def produce() -> Awaitable[dict[str, int]]:
        return run_simulation(
            settings,
            scenario.city(),
            seed=scenario.seed,
            start=resolved.start,
            duration_s=scenario.duration,
            rate=math.inf,
            incidents=scenario.incident_specs(),
        )

    out = await observe(settings, produce, procs=procs, idle_s=idle_s, timeout_s=timeout_s)
    return RunResult(
        resolved=resolved,
        topic_prefix=settings.topic_prefix,
        events=out.produced,
        alerts=out.alerts,
        rollups=out.rollups,
        caught_up=out.caught_up,
        raw_alerts=out.raw_alerts,
    )


async def _collect(
    consumer: AIOKafkaConsumer,
    admin: AIOKafkaAdminClient,
    group: str,
    feeds: dict[TopicPartition, int],
    procs: dict[str, ManagedProcess] | None,
    idle_s: float,
    timeout_s: float,
    settle_s: float = 3.0,
) -> tuple[list[ConsumerRecord[bytes, bytes]], bool]:
    records: list[ConsumerRecord[bytes, bytes]] = []
    began = last_move = time.monotonic()
    last_committed: dict[TopicPartition, int] = {}
    settle_until: float | None = None
    while True:
        batch = await consumer.getmany(timeout_ms=300)
        got = [r for recs in batch.values() for r in recs]
        records += got
        now = time.monotonic()
        if settle_until is None:
            committed = await _committed(admin, group, list(feeds))
            if got or committed != last_committed:
                last_move, last_committed = now, committed
            if all(committed.get(tp, -1) >= end for tp, end in feeds.items()):
                # Every input offset is committed, but the alerts of the last batch can
                # still be on their way (measured: a commit may come before the agent
                # has sent them), so wait until the outputs have been quiet for a while.
                settle_until = now + settle_s
        elif any(r.topic.endswith(topics.ALERTS) for r in got):  # roll-ups trickle on
            settle_until = now + settle_s
        elif now >= settle_until:
            return records, True
        for name, proc in (procs or {}).items():
            if proc.poll() is not None:
                raise ScenarioRunError(
                    f"{name} exited (code {proc.poll()}):\n{log_tail(proc.log_path)}"
                )
        if settle_until is None and (now - last_move > idle_s or now - began > timeout_s):
            return records, False
        if not got:
            await asyncio.sleep(0.1)
