"""`cityops bench failover`: seconds from `kill -9` of one worker to lag 0.

Two (or N) workers share P partitions while the simulator produces at a steady
rate. One worker is killed with SIGKILL at t0; the log ends of every feed
partition at t0 are noted, and the figure is the time until the group has
committed past all of them (the dead member's partitions included: its session
expired, a survivor restored their state and caught up). The same wait measured
on a calm group (no kill) is reported beside it as the baseline: the commit
interval plus a batch, which a failover cannot beat.

The simulator is given the event-time span that keeps it at the rate for
`SIM_WALL_S` of wall time: with a rate and no duration it backfills only an
hour and then follows the clock, which on `small` (2.4 events/s of event time)
ended the 1,000 events/s after ~9 s, so the kills met a nearly idle group (a
"failover" of 0.02 s when nothing was pending). The kill waits for a moment
when every feed partition holds records the group has not committed, so the
dead member always leaves work that only a survivor can commit.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from cityops.base.city.profiles import load_profile
from cityops.base.kafka_admin import ensure_topics
from cityops.base.settings import Settings
from cityops.bench.drain import machine_speed_s
from cityops.bench.options import natural_rate
from cityops.stack.broker import EmbeddedBroker
from cityops.stack.process import ManagedProcess
from cityops.stack.up import cityops_argv, settings_env
from streams import topics


async def _offsets(
    settings: Settings,
) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
    """(log ends, committed offsets of the worker group) of every feed partition."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, group_id=settings.worker_id
    )
    await consumer.start()
    try:
        tps = [
            TopicPartition(settings.topic(t), p)
            for t in topics.FEED_TOPICS
            for p in range(settings.topic_partitions)
        ]
        ends = await consumer.end_offsets(tps)
        committed = {tp: await consumer.committed(tp) or 0 for tp in tps}
        return ends, committed
    finally:
        await consumer.stop()


def _wait_past(settings: Settings, ends: dict[TopicPartition, int], deadline_s: float) -> float:
    """Seconds until the group committed at least `ends` everywhere."""
    started = time.monotonic()
    while time.monotonic() - started < deadline_s:
        _, committed = asyncio.run(_offsets(settings))
        if all(committed[tp] >= end for tp, end in ends.items()):
            return time.monotonic() - started
        time.sleep(0.2)
    raise RuntimeError(f"the group did not catch up within {deadline_s} s")


#: Wall seconds the simulator keeps producing at the rate (a repeat takes well under it).
SIM_WALL_S = 600.0


def _sim_span_s(settings: Settings, rate: float) -> float:
    """Event-time seconds that take SIM_WALL_S at `rate`, inside the accepted event age."""
    span = SIM_WALL_S * rate / natural_rate(load_profile(settings.profile))
    return min(span, settings.max_event_age_s / 2)


def _pending_everywhere(settings: Settings, deadline_s: float = 30.0) -> dict[TopicPartition, int]:
    """Log ends at a moment when every feed partition has uncommitted records."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        ends, committed = asyncio.run(_offsets(settings))
        if all(end > committed[tp] for tp, end in ends.items()):
            return ends
        time.sleep(0.05)
    raise RuntimeError(f"no moment with records pending on every partition in {deadline_s} s")


def _flowing(settings: Settings, sim: ManagedProcess, procs: list[ManagedProcess]) -> None:
    """Wait until records flow on every feed partition and the group commits them."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for proc in (sim, *procs):
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.name} died; see {proc.log_path}")
        ends, committed = asyncio.run(_offsets(settings))
        if all(ends.values()) and all(committed.values()):
            time.sleep(5)  # past the start-up rebalances
            return
        time.sleep(1)
    raise RuntimeError("no records flowed through every partition within 120 s")


def run_failover(settings: Settings, workers: int, rate: float, repeat: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="cityops-failover-"))
    broker = EmbeddedBroker(tmp).start()
    results: list[dict[str, float]] = []
    try:
        for _ in range(repeat):
            prefix = f"fo-{uuid.uuid4().hex[:8]}."
            s = settings.model_copy(
                update={
                    "kafka_bootstrap": broker.bootstrap,
                    "state_dir": tmp,
                    "topic_prefix": prefix,
                    "worker_id": f"{prefix}worker",
                    "metrics_port_worker": 0,
                    "metrics_port_simulator": 0,
                    "log_level": "WARNING",
                }
            )
            asyncio.run(ensure_topics(s, topics.ALL_TOPICS))
            env = settings_env(s)
            logs = tmp / "logs"
            sim = ManagedProcess(
                "sim",
                cityops_argv(
                    "simulate",
                    "--rate",
                    str(rate),
                    "--duration",
                    str(round(_sim_span_s(s, rate))),
                    "--no-progress",
                ),
                logs / f"{prefix}sim.log",
                env=env,
            ).start()
            procs = [
                ManagedProcess(
                    f"w{i}", cityops_argv("worker"), logs / f"{prefix}w{i}.log", env=env
                ).start()
                for i in range(workers)
            ]
            try:
                _flowing(s, sim, procs)
                ends, _ = asyncio.run(_offsets(s))
                calm = _wait_past(s, ends, 120)
                ends = _pending_everywhere(s)
                os.kill(procs[0].pid, signal.SIGKILL)
                failover = _wait_past(s, ends, 120)
                results.append({"calm_s": round(calm, 2), "after_kill_s": round(failover, 2)})
            finally:
                for proc in (*procs, sim):
                    proc.stop(timeout=20)
    finally:
        broker.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "runtime": settings.worker_runtime,
        "workers": workers,
        "partitions": settings.topic_partitions,
        "rate": rate,
        "session_timeout_s": settings.worker_session_timeout_s,
        "heartbeat_interval_s": settings.worker_heartbeat_interval_s,
        "machine_1e7_add_s": machine_speed_s(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "runs": results,
    }
