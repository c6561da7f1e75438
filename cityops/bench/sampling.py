"""Counters and consumer lag sampled while a run produces, and rates derived from them."""

from __future__ import annotations

import asyncio
import contextlib
import math
import statistics
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from cityops.base.city.profiles import CityProfile
from cityops.base.metrics import SimulatorMetrics
from cityops.base.settings import Settings
from cityops.bench.options import BenchOptions, plan
from sensors_sim.simulate import run_simulation


# --- metrics and lag ---------------------------------------------------------------------
def scrape(port: int, names: tuple[str, ...]) -> dict[str, float]:
    """Sum of each named counter (all labels) on http://127.0.0.1:port/metrics."""
    out = dict.fromkeys(names, 0.0)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as resp:
            text = resp.read().decode()
    except OSError:
        return out
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name in out:
                out[s.name] += s.value
    return out


class LagProbe:
    """Log-end offsets and committed offsets of consumer groups (no group membership).

    Committed offsets come from a consumer that names the group but never
    subscribes (so it never joins): aiokafka's admin `list_consumer_group_offsets`
    fails to decode Tansu's OffsetFetch response (measured, aiokafka 0.14).
    """

    def __init__(self, bootstrap: str, partitions: int) -> None:
        self.bootstrap = bootstrap
        self.partitions = partitions
        self.consumer: Any = None
        self.observers: dict[str, Any] = {}

    async def start(self) -> None:
        from aiokafka import AIOKafkaConsumer

        self.consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap)
        await self.consumer.start()

    async def stop(self) -> None:
        for c in [self.consumer, *self.observers.values()]:
            with contextlib.suppress(Exception):
                await c.stop()

    def _tps(self, names: list[str]) -> list[Any]:
        from aiokafka import TopicPartition

        return [TopicPartition(t, p) for t in names for p in range(self.partitions)]

    async def log_ends(self, names: list[str]) -> dict[Any, int]:
        """Log-end offset of every partition of `names`, in one request. A sample reads
        them once for its sent count and both groups' lags: Tansu (memory storage) walks
        every stored record batch of a partition to answer ListOffsets (~0.45 us a batch,
        tansu-storage dynostore.rs), so three requests a sample cost the broker up to
        ~0.2 core late in a ten-minute megacity run (docs/benchmarks.md)."""
        tps = self._tps(sorted(set(names)))
        return {tp: int(end) for tp, end in (await self.consumer.end_offsets(tps)).items()}

    async def end_offsets(self, names: list[str]) -> dict[str, int]:
        """Log-end offsets summed per topic."""
        return totals(await self.log_ends(names))

    async def lag(self, group: str, names: list[str], ends: dict[Any, int] | None = None) -> int:
        """Records of `names` not committed by `group` (against `ends`, read if not given)."""
        from aiokafka import AIOKafkaConsumer

        observer = self.observers.get(group)
        if observer is None:
            observer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap, group_id=group, enable_auto_commit=False
            )
            await observer.start()
            self.observers[group] = observer
        tps = self._tps(names)
        if ends is None:
            ends = await self.log_ends(names)
        total = 0
        for tp in tps:
            done = await observer.committed(tp)
            total += max(0, ends[tp] - (done or 0))
        return total


def totals(ends: dict[Any, int], names: list[str] | None = None) -> dict[str, int]:
    """Per-topic sums of per-partition offsets (of `names` only, if given)."""
    out: dict[str, int] = {}
    for tp, end in ends.items():
        if names is None or tp.topic in names:
            out[tp.topic] = out.get(tp.topic, 0) + end
    return out


@dataclass
class Sample:
    t: float  # seconds since production started
    sent: float
    worker_in: float
    worker_out: float
    sink_rows: float
    worker_lag: int
    sink_lag: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "t": round(self.t, 2),
            "sent": int(self.sent),
            "worker_in": int(self.worker_in),
            "worker_out": int(self.worker_out),
            "sink_rows": int(self.sink_rows),
            "worker_lag": self.worker_lag,
            "sink_lag": self.sink_lag,
        }


def start_simulation(
    settings: Settings, city: CityProfile, options: BenchOptions, **extra: Any
) -> tuple[asyncio.Task[Any], float]:
    """Start producing the planned load (`options.plan`) in-process: the simulator's own
    `run_simulation`, event time starting `span_s` before now. (task, event-time span)."""
    span_s, rate = plan(city, options)
    start = (datetime.now(UTC) - timedelta(seconds=span_s)).replace(microsecond=0)
    extra.setdefault("metrics", SimulatorMetrics(CollectorRegistry()))
    task = asyncio.create_task(
        run_simulation(
            settings,
            city,
            seed=options.seed,
            start=start,
            duration_s=span_s,
            rate=rate,
            **extra,
        )
    )
    return task, span_s


async def produce_and_sample(
    sim: asyncio.Task[Any],
    began: float,
    options: BenchOptions,
    take_sample: Callable[[], Awaitable[object]],
) -> float:
    """Sample every `options.sample_s` while the simulator produces for the duration;
    then stop it. Returns the production time in seconds."""
    deadline = began + options.duration_s
    while time.monotonic() < deadline and not sim.done():
        await asyncio.sleep(min(options.sample_s, max(0.0, deadline - time.monotonic())))
        await take_sample()
    production_s = time.monotonic() - began
    if not sim.done():
        sim.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sim
    return production_s


def steady_window(production_s: float) -> tuple[float, float]:
    """Steady state: skip the first fifth (producer, consumer groups and caches warming up)."""
    return production_s * 0.2, production_s


def run_figures(
    production_s: float, drain_s: float, drained: bool, sent_total: float, rows_total: float
) -> dict[str, Any]:
    """The head of every run's report (CityOps and the reference runs alike)."""
    return {
        "production_s": round(production_s, 2),
        "drain_s": round(drain_s, 2),
        "drained": drained,
        "events_sent": sent_total,
        "rows_committed": int(rows_total),
    }


def rate_between(samples: list[Sample], attr: str, t0: float, t1: float) -> float:
    """Rate of a counter between the samples nearest after t0 and at or before t1."""
    window = [s for s in samples if t0 <= s.t <= t1 + 1e-6]
    if len(window) < 2:
        return 0.0
    first, last = window[0], window[-1]
    dt = last.t - first.t
    return (getattr(last, attr) - getattr(first, attr)) / dt if dt > 0 else 0.0


def lag_slope(samples: list[Sample], attr: str, t0: float, t1: float) -> float:
    """Least-squares slope of lag over time (messages/s): > 0 means falling behind."""
    pts = [(s.t, float(getattr(s, attr))) for s in samples if t0 <= s.t <= t1 + 1e-6]
    if len(pts) < 2:
        return 0.0
    mt = statistics.fmean(t for t, _ in pts)
    mv = statistics.fmean(v for _, v in pts)
    den = sum((t - mt) ** 2 for t, _ in pts)
    return sum((t - mt) * (v - mv) for t, v in pts) / den if den else 0.0


def lag_at(samples: list[Sample], t: float, attr: str) -> int:
    before = [s for s in samples if s.t <= t + 1e-6]
    return int(getattr(before[-1], attr)) if before else 0


def lag_bounded(slope_w: float, slope_s: float, target: float, achieved: float) -> bool:
    offered = achieved if math.isinf(target) else target
    return max(slope_w, slope_s) <= 0.05 * max(offered, 1.0)
