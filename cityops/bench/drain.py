"""`cityops bench drain`: events/s of N workers over pre-filled topics.

A drain run separates producing from processing: the feed topics (P partitions)
are filled first with a simulated stretch of the city (keyed, as the simulator
sends), then W worker processes start in one consumer group and the clock runs
until the group has committed every feed record. Reported per worker count:
seconds from the first committed progress to the end (workers' start-up and
first restore excluded, so 1 and 2 workers compare on processing alone), the
same from the processes' start, and each worker's CPU seconds (/proc).

The broker is the embedded Tansu (no database: the sink is not measured here).
On a 2-core machine the broker, the workers and this probe share the cores, so
the ratio between worker counts is the figure to read, beside the machine speed.
"""

from __future__ import annotations

import asyncio
import logging
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


def drain_once(settings: Settings, workers: int, span_s: float, seed: int) -> dict[str, Any]:
    prefix = f"drain-{uuid.uuid4().hex[:8]}."
    settings = settings.model_copy(
        update={"topic_prefix": prefix, "worker_id": f"{prefix}worker", "metrics_port_worker": 0}
    )
    asyncio.run(ensure_topics(settings, topics.ALL_TOPICS))
    events = asyncio.run(_fill(settings, span_s, seed))
    env = settings_env(settings)
    logs = settings.state_dir / "logs"
    procs = [
        ManagedProcess(
            f"{prefix}w{i}", cityops_argv("worker"), logs / f"{prefix}w{i}.log", env=env
        ).start()
        for i in range(workers)
    ]
    started = time.monotonic()
    first: float | None = None
    done = 0
    try:
        while done < events:
            time.sleep(0.5)
            for proc in procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"worker died (code {proc.poll()}), see {proc.log_path}")
            done = asyncio.run(_committed(settings))
            if first is None and done > 0:
                first = time.monotonic()
        end = time.monotonic()
        cpu = [_cpu_rss(p.pid)[0] for p in procs]
    finally:
        for proc in procs:
            proc.stop(timeout=20)
    assert first is not None
    seconds = max(end - first, 1e-6)
    return {
        "workers": workers,
        "partitions": settings.topic_partitions,
        "events": events,
        "seconds_from_first_commit": round(seconds, 2),
        "seconds_from_start": round(end - started, 2),
        "events_per_s": round(events / seconds, 1),
        "worker_cpu_s": [round(c, 2) for c in cpu],
    }


def machine_speed_s() -> float:
    """Seconds for 1e7 additions in a Python loop (the team's machine-speed yardstick)."""
    t = time.perf_counter()
    x = 0
    for i in range(10_000_000):
        x += i
    return round(time.perf_counter() - t, 2)


def run_drain(
    settings: Settings, worker_counts: list[int], span_s: float, seed: int
) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="cityops-drain-"))
    broker = EmbeddedBroker(tmp).start()
    try:
        base = settings.model_copy(
            update={"kafka_bootstrap": broker.bootstrap, "state_dir": tmp, "log_level": "WARNING"}
        )
        runs = [drain_once(base, w, span_s, seed) for w in worker_counts]
    finally:
        broker.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return {"profile": settings.profile, "machine_1e7_add_s": machine_speed_s(), "runs": runs}
