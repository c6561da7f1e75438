"""`cityops bench drain`: events/s of N workers over pre-filled topics.

A drain run separates producing from processing: the feed topics (P partitions)
are filled first with a simulated stretch of the city (keyed, as the simulator
sends), then for each runtime (`--runtime direct faust`: the aiokafka loop of
`streams.direct`, the Faust app of `streams.app`) and worker count W, W worker
processes start in a fresh consumer group over those same records and the clock
runs until the group has committed every feed record. Reported per run: events/s
and each worker's CPU µs per event, both from the first committed progress to
the end (workers' start-up, imports and first restore excluded, so runtimes and
worker counts compare on processing alone), the seconds from the processes'
start, and the ratios Faust/direct and N workers/1 of the same invocation.
The end is the group's last commit: Faust commits every ~2.8 s, the direct
loop every `worker_commit_interval_s` (1 s), so a run should last well beyond.

The broker is the embedded Tansu (no database: the sink is not measured here).
On a 2-core machine the broker, the workers and this probe share the cores, so
the ratio between worker counts is the figure to read, beside the machine speed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cityops.base.city.profiles import load_profile
from cityops.base.kafka_admin import committed_offsets, ensure_topics
from cityops.base.settings import Settings
from cityops.bench.procfs import _cpu_rss
from cityops.stack.broker import EmbeddedBroker
from cityops.stack.process import ManagedProcess
from cityops.stack.up import cityops_argv, settings_env
from sensors_sim.producer import batching_producer
from sensors_sim.simulation import Simulation
from streams import topics

log = logging.getLogger("cityops.bench")


async def _fill(settings: Settings, span_s: float, seed: int) -> int:
    """Produce `span_s` seconds of event time, ending a minute ago; returns the count."""
    city = load_profile(settings.profile)
    start = datetime.now(UTC) - timedelta(seconds=span_s + 60)
    sim = Simulation(city, seed=seed, start=start)
    producer = batching_producer(settings.kafka_bootstrap or "", "cityops-bench-fill")
    await producer.start()
    n = 0
    try:
        for e in sim.events(span_s):
            await producer.send(settings.topic(e.topic), e.value, e.key, timestamp_ms=e.ts_ms)
            n += 1
        await producer.flush()
    finally:
        await producer.stop()
    return n


async def _committed(settings: Settings) -> int:
    """Feed records the worker group has committed (OffsetFetch, never joining it)."""
    names = [settings.topic(t) for t in topics.FEED_TOPICS]
    offsets = await committed_offsets(settings, settings.worker_id, names)
    return sum(offset or 0 for offset in offsets.values())


def drain_once(
    settings: Settings, runtime: str, workers: int, events: int, broker_pid: int | None = None
) -> dict[str, Any]:
    """W workers of `runtime` in a fresh consumer group over the filled feed topics.

    Each run has its own group (and so its own internal topics and changelogs,
    named after it), so every run reads the same records from offset 0.
    """
    group = f"{settings.topic_prefix}{runtime}-w{workers}-{uuid.uuid4().hex[:4]}"
    settings = settings.model_copy(
        update={"worker_id": group, "worker_runtime": runtime, "metrics_port_worker": 0}
    )
    env = settings_env(settings)
    logs = settings.state_dir / "logs"
    load = os.getloadavg()[0]
    procs = [
        ManagedProcess(
            f"{group}-{i}", cityops_argv("worker"), logs / f"{group}-{i}.log", env=env
        ).start()
        for i in range(workers)
    ]
    started = time.monotonic()
    first: float | None = None
    first_done = 0
    cpu_first: list[float] = []
    broker_first = 0.0
    done = 0
    try:
        while done < events:
            time.sleep(0.5)
            for proc in procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"worker died (code {proc.poll()}), see {proc.log_path}")
            done = asyncio.run(_committed(settings))
            if first is None and done > 0:
                # the clock and the CPU counters start at the first committed
                # progress: start-up (imports, joining, restoring) is left out
                first, first_done = time.monotonic(), done
                cpu_first = [_cpu_rss(p.pid)[0] for p in procs]
                broker_first = _cpu_rss(broker_pid)[0] if broker_pid else 0.0
        end = time.monotonic()
        cpu = [_cpu_rss(p.pid)[0] for p in procs]
        broker_cpu = (_cpu_rss(broker_pid)[0] if broker_pid else 0.0) - broker_first
    finally:
        for proc in procs:
            proc.stop(timeout=20)
    assert first is not None
    seconds = max(end - first, 1e-6)
    measured = max(events - first_done, 1)
    window_cpu = [c - c0 for c, c0 in zip(cpu, cpu_first, strict=True)]
    return {
        "runtime": runtime,
        "workers": workers,
        "partitions": settings.topic_partitions,
        "events": events,
        "load_average_1m_at_start": round(load, 2),
        "seconds_from_first_commit": round(seconds, 2),
        "seconds_from_start": round(end - started, 2),
        # records committed after the first progress, over the time since then
        "events_per_s": round(measured / seconds, 1),
        "worker_cpu_s": [round(c, 2) for c in cpu],
        # CPU over the same window, per event of that window: per process, and all
        # workers together (what the group pays per event)
        "cpu_us_per_event_per_worker": [round(c / measured * 1e6, 1) for c in window_cpu],
        "cpu_us_per_event": round(sum(window_cpu) / measured * 1e6, 1),
        # what the runtime makes the broker do (fetches, produce, changelog, commits)
        "broker_cpu_us_per_event": round(broker_cpu / measured * 1e6, 1),
    }


def drain_ratios(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Faust over direct per worker count, and each runtime's N workers over 1."""
    by = {(r["runtime"], r["workers"]): r for r in runs}
    out: dict[str, float] = {}
    for (runtime, workers), run in by.items():
        direct = by.get(("direct", workers))
        if runtime == "faust" and direct:
            out[f"faust_to_direct_events_per_s_w{workers}"] = round(
                run["events_per_s"] / direct["events_per_s"], 3
            )
            out[f"faust_to_direct_cpu_us_per_event_w{workers}"] = round(
                run["cpu_us_per_event"] / max(direct["cpu_us_per_event"], 1e-9), 2
            )
        one = by.get((runtime, 1))
        if workers > 1 and one:
            out[f"{runtime}_w{workers}_to_w1_events_per_s"] = round(
                run["events_per_s"] / one["events_per_s"], 3
            )
    return out


def print_table(result: dict[str, Any]) -> None:
    print(
        f"{'runtime':8} {'workers':>7} {'events':>8} {'events/s':>9}"
        f" {'worker CPU us/event':>20} {'broker CPU us/event':>20}"
    )
    for r in result["runs"]:
        print(
            f"{r['runtime']:8} {r['workers']:>7} {r['events']:>8} {r['events_per_s']:>9.0f}"
            f" {r['cpu_us_per_event']:>20.1f} {r['broker_cpu_us_per_event']:>20.1f}"
        )
    for name, value in result["ratios"].items():
        print(f"{name}: {value}")
    print(
        f"machine: 1e7-add loop {result['machine_1e7_add_s']} s,"
        f" load average {result['load_average']}",
        flush=True,
    )


def machine_speed_s() -> float:
    """Seconds for 1e7 additions in a Python loop (the team's machine-speed yardstick)."""
    t = time.perf_counter()
    x = 0
    for i in range(10_000_000):
        x += i
    return round(time.perf_counter() - t, 2)


def run_drain(
    settings: Settings,
    worker_counts: list[int],
    span_s: float,
    seed: int,
    runtimes: list[str] | None = None,
) -> dict[str, Any]:
    """Fill the feeds once, then drain them with every runtime x worker count."""
    chosen: list[str] = runtimes or [settings.worker_runtime]
    # each progress poll is a short-lived group client: its INFO lines are noise here
    logging.getLogger("aiokafka.consumer.group_coordinator").setLevel(logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="cityops-drain-"))
    broker = EmbeddedBroker(tmp).start()
    load = [round(x, 2) for x in os.getloadavg()]
    try:
        prefix = f"drain-{uuid.uuid4().hex[:8]}."
        base = settings.model_copy(
            update={
                "kafka_bootstrap": broker.bootstrap,
                "state_dir": tmp,
                "log_level": "WARNING",
                "topic_prefix": prefix,
            }
        )
        asyncio.run(ensure_topics(base, topics.ALL_TOPICS))
        filling = time.monotonic()
        events = asyncio.run(_fill(base, span_s, seed))
        log.info("filled %d events in %.1f s", events, time.monotonic() - filling)
        # interleaved, so the machine's load drifts over both runtimes alike
        pid = broker.process.pid
        runs = [drain_once(base, r, w, events, pid) for w in worker_counts for r in chosen]
    finally:
        broker.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "profile": settings.profile,
        "machine_1e7_add_s": machine_speed_s(),
        "load_average": {"start": load, "end": [round(x, 2) for x in os.getloadavg()]},
        "runs": runs,
        "ratios": drain_ratios(runs),
    }
