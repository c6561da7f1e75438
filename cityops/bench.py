"""`cityops bench`: drive a city profile through the embedded stack and measure it.

    cityops bench --profile megacity --duration 60 --rate 15000 --json bench.json
    cityops bench --profile small --duration 10 --rate max --compare
    cityops bench sink --rows 500000 --batch-size 10000

One run starts a private broker and PostgreSQL (or uses the configured ones),
the worker and the sink as child processes, and produces the profile
in-process (the simulator's own `run_simulation`, so the same generator and
producer settings) for `--duration` wall seconds at `--rate` events/s or flat
out. While it runs, a sampler reads every few seconds:

- the simulator's delivered count (in-process counter), the worker's
  `cityops_events_in_total` and the sink's `cityops_sink_rows_total` (their
  /metrics), per-stage rates;
- consumer lag: log-end offsets minus the committed offsets of the worker
  and sink groups (Faust commits every ~3 s, so the worker's lag includes up
  to that much in-flight work);
- CPU seconds and resident memory of every process (from /proc).

Alert latency comes from probe incidents (gas leaks on a few detectors at
known event times): the producer wrapper records the wall time at which each
probe's first threshold-crossing reading (lel_pct >= 25) is handed to Kafka,
and a poller sees its `gas.lel_high` row appear in `alert_history` (polled
every 50 ms, so figures are up to 50 ms late; the schema has no commit-time
column, see docs/benchmarks.md).

`--compare` runs, in the same invocation and with the same generator and
rate, the raw ceiling (aiokafka produce -> consume -> COPY of the raw bytes,
no processing) and a straightforward baseline (one consumer per feed, one
event at a time: validate, rules, one INSERT per event), and reports CityOps
as ratios to both.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import logging
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import psycopg
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from psycopg import sql

from cityops.metrics import SimulatorMetrics
from cityops.settings import Settings, get_settings
from cityops.stack.process import ManagedProcess, StackError
from cityops.stack.up import Stack, pick_metrics_ports, settings_env, start_pipeline
from sensors_sim.incidents import GasLeak, Incident
from sensors_sim.profiles import PROFILES, CityProfile, load_profile
from sensors_sim.simulate import Producer, kafka_producer, run_simulation
from streams import topics

log = logging.getLogger("cityops.bench")

#: The threshold-crossing level of a probe (gas.lel_high's first alarm level, DESIGN.md).
PROBE_LEL = 25.0
PROBE_POLL_S = 0.05
#: Flat-out runs plan this much event time per wall second (more than any run reaches;
#: the simulator simply ends later than planned event time when it is slower).
MAX_RATE_PLAN = 40_000.0
_CLK_TCK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


# --- CLI ------------------------------------------------------------------------------
def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "bench",
        help="benchmark the pipeline end to end (or `bench sink`: the database path)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--profile", choices=PROFILES, default="megacity")
    p.add_argument("--duration", type=float, default=60.0, help="wall seconds of production")
    p.add_argument("--rate", type=_rate, default=15_000.0, help="events/s, or 'max'")
    p.add_argument("--json", type=Path, help="write the report here as JSON")
    p.add_argument("--compare", action="store_true", help="also run the ceiling and baseline")
    p.add_argument("--probes", type=int, default=5, help="probe gas leaks for alert latency")
    p.add_argument("--sample", type=float, default=2.0, help="seconds between samples")
    p.add_argument(
        "--drain", type=float, default=60.0, help="max seconds to wait for lag to reach 0"
    )
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run N times (fresh stack each) and report the median of the runs",
    )
    p.set_defaults(handler=_bench)
    subs = p.add_subparsers(dest="bench_command", metavar="sink")
    s = subs.add_parser("sink", help="rows/s the sink's writer stores (sinks.bench)")
    s.add_argument("--rows", type=int, default=500_000)
    s.add_argument("--batch-size", type=int, action="append", default=None)
    s.add_argument("--json", type=Path, dest="sink_json", help="write the results as JSON")
    s.set_defaults(handler=_bench_sink)


def _rate(text: str) -> float:
    if text.lower() in ("max", "inf", "flat-out"):
        return math.inf
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("rate must be > 0 events/s, or 'max'")
    return value


def _bench_sink(args: argparse.Namespace) -> int:
    from sinks.bench import bench_sink

    settings = get_settings()
    results = [
        asyncio.run(bench_sink(settings, args.rows, size))
        for size in args.batch_size or [settings.sink_batch_size]
    ]
    for result in results:
        print(json.dumps(result), flush=True)
    if args.sink_json:
        args.sink_json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


def _bench(args: argparse.Namespace) -> int:
    options = BenchOptions(
        profile=args.profile,
        duration_s=args.duration,
        rate=args.rate,
        probes=args.probes,
        sample_s=args.sample,
        drain_s=args.drain,
        seed=args.seed,
    )
    if args.repeat < 1:
        raise SystemExit("cityops bench: --repeat must be at least 1")
    reports = []
    for i in range(args.repeat):
        if args.repeat > 1:
            print(f"run {i + 1} of {args.repeat}", flush=True)
        reports.append(run_bench(get_settings(), options, compare=args.compare))
        print_report(reports[-1])
    result: dict[str, Any] = reports[0]
    if args.repeat > 1:
        result = {"runs": reports, "median": summarize(reports)}
        print_summary(result["median"])
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"report written to {args.json}")
    return 0


# --- options and the report ------------------------------------------------------------
@dataclass(frozen=True)
class BenchOptions:
    profile: str = "megacity"
    duration_s: float = 60.0
    rate: float = 15_000.0  # math.inf = flat out
    probes: int = 5
    sample_s: float = 2.0
    drain_s: float = 60.0
    seed: int = 42


def natural_rate(city: CityProfile) -> float:
    """Events per second of event time (heartbeats only; DESIGN.md report intervals)."""
    return (
        len(city.detectors.ids) / 60
        + len(city.lights.ids) / 300
        + len(city.stations.ids) / 60
        + len(city.trucks.ids) / 10
    )


def run_bench(
    settings: Settings, options: BenchOptions, *, compare: bool = False
) -> dict[str, Any]:
    """Run the benchmark (and, with `compare`, the ceiling and baseline); the report."""
    city = load_profile(options.profile)
    report: dict[str, Any] = {
        "version": 1,
        "started_at": datetime.now(UTC).isoformat(),
        "machine": machine_info(),
        "options": {
            "profile": options.profile,
            "duration_s": options.duration_s,
            "rate": "max" if math.isinf(options.rate) else options.rate,
            "probes": options.probes,
            "sample_s": options.sample_s,
            "seed": options.seed,
            "natural_rate_events_per_s": round(natural_rate(city), 1),
            "topic_partitions": settings.topic_partitions,
            "sink_batch_size": settings.sink_batch_size,
        },
    }
    with bench_stack(settings) as (bench_settings, stack, admin_url):
        report["cityops"] = _run_cityops(bench_settings, stack, city, options)
        if compare:
            report["ceiling"] = _run_reference("ceiling", bench_settings, admin_url, city, options)
            report["baseline"] = _run_reference(
                "baseline", bench_settings, admin_url, city, options
            )
            report["ratios"] = ratios(report)
    return report


#: Figures the `--repeat` summary takes the median of: name -> path in a run's report.
SUMMARY_FIGURES: dict[str, tuple[str, ...]] = {
    "end_to_end_events_per_s": ("cityops", "throughput", "end_to_end_events_per_s"),
    "readings_stored_events_per_s": ("cityops", "throughput", "readings_stored_events_per_s"),
    "simulator_to_broker_events_per_s": (
        "cityops", "throughput", "stages_events_per_s", "simulator_to_broker",
    ),
    "worker_lag_at_end": ("cityops", "lag", "worker_at_end_of_production"),
    "worker_lag_slope_per_s": ("cityops", "lag", "worker_slope_per_s"),
    "alert_latency_p50_s": ("cityops", "alert_latency_s", "p50"),
    "alert_latency_p99_s": ("cityops", "alert_latency_s", "p99"),
    "worker_cpu_s": ("cityops", "processes", "worker", "cpu_s"),
    "worker_peak_rss_mib": ("cityops", "processes", "worker", "peak_rss_mib"),
    "cityops_to_ceiling": ("ratios", "cityops_to_ceiling"),
    "cityops_to_baseline": ("ratios", "cityops_to_baseline"),
}  # fmt: skip


def _dig(report: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = report
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def summarize(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over runs of each figure in SUMMARY_FIGURES, plus pooled alert latencies."""
    out: dict[str, Any] = {"runs": len(reports)}
    for name, path in SUMMARY_FIGURES.items():
        values = [v for r in reports if isinstance(v := _dig(r, path), int | float)]
        out[name] = round(statistics.median(values), 3) if values else None
    bounded = [_dig(r, ("cityops", "lag", "bounded")) for r in reports]
    out["lag_bounded_runs"] = sum(1 for b in bounded if b is True)
    pooled = [v for r in reports for v in _dig(r, ("cityops", "alert_latency_s", "values_s")) or ()]
    out["alert_latency_pooled_s"] = percentiles(pooled)
    out["alert_latency_pooled_s"]["probes"] = len(pooled)
    return out


def print_summary(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"median of {summary['runs']} runs")
    table.add_column("figure")
    table.add_column("median", justify="right")
    for name in SUMMARY_FIGURES:
        value = summary[name]
        table.add_row(name.replace("_", " "), "-" if value is None else f"{value:,}")
    table.add_row("lag bounded (runs)", f"{summary['lag_bounded_runs']} of {summary['runs']}")
    pooled = summary["alert_latency_pooled_s"]
    table.add_row(
        "alert latency, all probes p50/p95/p99 (s)",
        "{p50} / {p95} / {p99} ({probes} probes)".format(**pooled),
    )
    Console().print(table)


def ratios(report: dict[str, Any]) -> dict[str, float | None]:
    ours = report["cityops"]["throughput"]["end_to_end_events_per_s"]
    out: dict[str, float | None] = {}
    for name in ("ceiling", "baseline"):
        theirs = report.get(name, {}).get("throughput", {}).get("end_to_end_events_per_s")
        out[f"cityops_to_{name}"] = round(ours / theirs, 3) if theirs else None
    return out


def machine_info() -> dict[str, Any]:
    load1, load5, _ = os.getloadavg()
    mem_kib = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(mem_kib / 2**20, 1),
        "load_average_at_start": [round(load1, 2), round(load5, 2)],
        "python": sys.version.split()[0],
    }


# --- the stack -------------------------------------------------------------------------
@contextlib.contextmanager
def bench_stack(settings: Settings) -> Iterator[tuple[Settings, Stack, Callable[[str], str]]]:
    """Broker and PostgreSQL for the run, with run-private topics and groups.

    Not `start_services`: it also starts Prometheus and Alertmanager when
    installed, which only add load to a 2-core machine during a benchmark.
    """
    from cityops.stack.broker import EmbeddedBroker
    from cityops.stack.postgres import EmbeddedPostgres
    from cityops.stack.topics import ensure_topics
    from sinks.migrate import migrate

    tmp = Path(tempfile.mkdtemp(prefix="cityops-bench-"))
    tmp.chmod(0o755)  # PostgreSQL runs as `nobody` when we are root
    prefix = f"bench-{uuid.uuid4().hex[:8]}."
    settings = pick_metrics_ports(settings, replace_disabled=True).model_copy(
        update={
            "state_dir": tmp,
            "topic_prefix": prefix,
            "worker_id": f"{prefix}worker",
            "sink_group": f"{prefix}sink",
            "log_level": "WARNING",
        }
    )
    stack = Stack(settings)
    try:
        update: dict[str, object] = {}
        if not settings.kafka_bootstrap:
            broker = EmbeddedBroker(tmp).start()
            stack.services.append(broker)
            update["kafka_bootstrap"] = broker.bootstrap
        pg: EmbeddedPostgres | None = None
        if not settings.database_url:
            pg = EmbeddedPostgres(tmp).start()
            stack.services.append(pg)
            update["database_url"] = pg.url
        settings = settings.model_copy(update=update)
        stack.settings = settings
        asyncio.run(ensure_topics(settings))
        assert settings.database_url
        migrate(settings.database_url)
        base_url = settings.database_url

        def admin_url(dbname: str) -> str:
            # a URL, not make_conninfo's key=value form: Settings wants postgresql://
            return urlsplit(base_url)._replace(path=f"/{dbname}").geturl()

        yield settings, stack, admin_url
    except BaseException:
        stack.stop()
        log.error("benchmark failed: logs kept in %s", tmp / "logs")
        raise
    stack.stop()
    shutil.rmtree(tmp, ignore_errors=True)


def _service_pids(stack: Stack) -> dict[str, int]:
    pids: dict[str, int] = {}
    for service in stack.services:
        proc = getattr(service, "process", None)
        if isinstance(proc, ManagedProcess) and proc.popen is not None:
            name = "broker" if "broker" in proc.name else "postgres"
            pids[name] = proc.pid
    for proc in stack.processes:
        pids[proc.name] = proc.pid
    return pids


# --- /proc -------------------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    out: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo += _children(p)
    return pids


def _cpu_rss(pid: int) -> tuple[float, int]:
    """(CPU seconds incl. reaped children, RSS bytes) of one process; (0, 0) when gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        statm = Path(f"/proc/{pid}/statm").read_text().split()
    except OSError:
        return 0.0, 0
    fields = stat.rsplit(")", 1)[1].split()
    ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return ticks / _CLK_TCK, int(statm[1]) * _PAGE


def _peak_rss(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


@dataclass
class ProcessUsage:
    """CPU and memory of a process and its descendants (PostgreSQL's backends)."""

    name: str
    pid: int
    tree: bool = True  # False for the bench process: its descendants are the stack
    cpu_start: float = -1.0
    cpu_s: float = 0.0
    peak_rss: int = 0

    def sample(self) -> None:
        cpu, rss = 0.0, 0
        for p in _tree(self.pid) if self.tree else [self.pid]:
            c, r = _cpu_rss(p)
            cpu, rss = cpu + c, rss + r
        if not cpu and not rss:
            return  # exited: keep the last figures
        if self.cpu_start < 0:
            self.cpu_start = cpu
        self.cpu_s = max(self.cpu_s, cpu - self.cpu_start)
        self.peak_rss = max(self.peak_rss, rss)
        if not self.tree:
            # VmHWM: the true peak, also between samples (single process only)
            self.peak_rss = max(self.peak_rss, _peak_rss(self.pid))

    def as_dict(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "cpu_s": round(self.cpu_s, 2),
            "peak_rss_mib": round(self.peak_rss / 2**20, 1),
        }


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

    async def end_offsets(self, names: list[str]) -> dict[str, int]:
        ends = await self.consumer.end_offsets(self._tps(names))
        out: dict[str, int] = {}
        for tp, end in ends.items():
            out[tp.topic] = out.get(tp.topic, 0) + int(end)
        return out

    async def lag(self, group: str, names: list[str]) -> int:
        from aiokafka import AIOKafkaConsumer

        observer = self.observers.get(group)
        if observer is None:
            observer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap, group_id=group, enable_auto_commit=False
            )
            await observer.start()
            self.observers[group] = observer
        tps = self._tps(names)
        ends = await self.consumer.end_offsets(tps)
        total = 0
        for tp in tps:
            done = await observer.committed(tp)
            total += max(0, int(ends[tp]) - (done or 0))
        return total


# --- probes ------------------------------------------------------------------------------
def probe_incidents(city: CityProfile, count: int, span_s: float) -> list[GasLeak]:
    """Gas leaks on `count` detectors, spread over the first 60 % of the run's event time.

    A 2 s ramp and 1 s reports: the crossing reading follows the start within
    seconds of event time, so a probe is produced early enough in a short run.
    """
    ids = city.detectors.ids
    out = []
    for i in range(count):
        at = span_s * (0.15 + 0.45 * i / max(1, count - 1)) if count > 1 else span_s * 0.3
        out.append(
            GasLeak(
                entity_id=ids[(i * 7919 + 13) % len(ids)],
                at_s=round(at, 3),
                duration_s=120,
                ramp_s=2,
                decay_s=60,
                report_every_s=1,
                peak_lel_pct=60,
            )
        )
    return out


class ProbeProducer:
    """The simulator's producer, noting when each probe's crossing reading is sent."""

    def __init__(self, inner: Producer, probe_keys: set[bytes]) -> None:
        self.inner = inner
        self.probe_keys = probe_keys
        self.crossed_at: dict[str, float] = {}  # entity id -> wall time (time.time())

    async def start(self) -> None:
        await self.inner.start()

    async def stop(self) -> None:
        await self.inner.stop()

    async def flush(self) -> None:
        await self.inner.flush()

    async def send(self, topic: str, value: bytes, key: bytes, *, timestamp_ms: int) -> None:
        if key in self.probe_keys:
            entity = key.decode()
            if entity not in self.crossed_at and orjson.loads(value).get("lel_pct", 0) >= PROBE_LEL:
                self.crossed_at[entity] = time.time()
        await self.inner.send(topic, value, key, timestamp_ms=timestamp_ms)


async def _poll_alerts(
    url: str, entities: list[str], seen: dict[str, float], stop: asyncio.Event
) -> None:
    query = (
        "SELECT DISTINCT entity_id FROM alert_history"
        " WHERE rule = 'gas.lel_high' AND state = 'firing' AND entity_id = ANY(%s)"
    )
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        while not stop.is_set() and len(seen) < len(entities):
            cur = await conn.execute(query, (entities,))
            now = time.time()
            for (entity,) in await cur.fetchall():
                seen.setdefault(entity, now)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), PROBE_POLL_S)


async def _alert_send_times(bootstrap: str, topic: str, entities: set[str]) -> dict[str, float]:
    """When the worker produced each probe's `gas.lel_high` firing (record CreateTime, s).

    The worker's producer stamps records with its wall clock at send (aiokafka's
    default), on this machine's clock like the probes' crossing times, so the
    alert latency splits into worker (crossing -> alert sent) and sink (alert
    sent -> row seen).
    """
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    sent: dict[str, float] = {}
    try:
        while True:
            data = await consumer.getmany(timeout_ms=1000)
            if not data:
                break  # the alerts topic is small: an empty second means its end
            for records in data.values():
                for record in records:
                    alert = orjson.loads(record.value or b"{}")
                    entity = alert.get("entity_id")
                    if (
                        entity in entities
                        and alert.get("rule") == "gas.lel_high"
                        and alert.get("state") == "firing"
                    ):
                        sent.setdefault(entity, record.timestamp / 1000)
    finally:
        await consumer.stop()
    return sent


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def pick(q: float) -> float:
        # nearest rank: with a handful of probes p99 is the worst one
        return round(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)], 3)

    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "max": round(ordered[-1], 3)}


# --- one CityOps run ---------------------------------------------------------------------
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


@dataclass
class _Run:
    settings: Settings
    options: BenchOptions
    usage: list[ProcessUsage]
    samples: list[Sample] = field(default_factory=list)


_WORKER_COUNTERS = (
    "cityops_events_in_total",
    "cityops_alerts_total",
    "cityops_rollups_total",
    "cityops_deadletters_total",
)
_SINK_COUNTERS = ("cityops_sink_rows_total",)
_READING_TABLES = (
    "gas_detector_readings",
    "streetlight_readings",
    "heating_station_readings",
    "fleet_gps_readings",
)


def _sink_reading_rows(port: int) -> float:
    # rows of the readings tables only: the end-to-end figure counts events, not alerts
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as resp:
            text = resp.read().decode()
    except OSError:
        return 0.0
    total = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "cityops_sink_rows_total" and s.labels.get("table") in _READING_TABLES:
                total += s.value
    return total


def _plan(city: CityProfile, options: BenchOptions) -> tuple[float, float]:
    """(event-time span in s, events/s to produce) for the wall duration."""
    rate = MAX_RATE_PLAN if math.isinf(options.rate) else options.rate
    span = options.duration_s * rate / natural_rate(city)
    return span, options.rate


def _wait_ready(settings: Settings, stack: Stack, timeout: float = 60.0) -> None:
    """Until the worker and the sink serve /metrics and the worker's agents have started."""
    deadline = time.monotonic() + timeout
    worker_log = settings.state_dir / "logs" / "worker.log"
    while time.monotonic() < deadline:
        for proc in stack.processes:
            if proc.poll() is not None:
                raise StackError(f"{proc.name} exited early; see {proc.log_path}")
        up = all(
            _port_serves(port)
            for port in (settings.metrics_port_worker, settings.metrics_port_sink)
        )
        text = worker_log.read_text(errors="replace") if worker_log.exists() else ""
        if up and ("Ready" in text or "ready" in text):
            return
        time.sleep(0.5)
    log.warning("worker did not log 'Ready' within %.0f s; starting anyway", timeout)


def _port_serves(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1):
            return True
    except OSError:
        return False


async def _produce_and_sample(
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


def _run_cityops(
    settings: Settings, stack: Stack, city: CityProfile, options: BenchOptions
) -> dict[str, Any]:
    # The worker logs at INFO so that its "Ready" line is visible to _wait_ready.
    start_pipeline(
        settings.model_copy(update={"log_level": "INFO"}),
        stack,
        simulate_args=None,
        notifier=False,
    )
    _wait_ready(settings, stack)
    usage = [ProcessUsage(n, p) for n, p in _service_pids(stack).items()]
    usage.append(ProcessUsage("simulator (bench process)", os.getpid(), tree=False))
    run = _Run(settings, options, usage)
    return asyncio.run(_drive(run, city))


async def _drive(run: _Run, city: CityProfile) -> dict[str, Any]:
    settings, options = run.settings, run.options
    assert settings.kafka_bootstrap and settings.database_url
    span_s, rate = _plan(city, options)
    start = (datetime.now(UTC) - timedelta(seconds=span_s)).replace(microsecond=0)
    probes: list[Incident] = list(probe_incidents(city, options.probes, span_s))
    probe_ids = [p.entity_id for p in probes]
    producer = ProbeProducer(
        kafka_producer(settings.kafka_bootstrap), {e.encode() for e in probe_ids}
    )
    registry = CollectorRegistry()
    sim_metrics = SimulatorMetrics(registry)
    feeds = [settings.topic(t) for t in topics.FEED_TOPICS]
    sink_topics = [*feeds, settings.topic(topics.ALERTS), settings.topic(topics.ROLLUPS)]
    lag = LagProbe(settings.kafka_bootstrap, settings.topic_partitions)
    await lag.start()
    for u in run.usage:
        u.sample()
    stop_poll = asyncio.Event()
    seen: dict[str, float] = {}
    poller = asyncio.create_task(_poll_alerts(settings.database_url, probe_ids, seen, stop_poll))
    began = time.monotonic()
    sim = asyncio.create_task(
        run_simulation(
            settings,
            city,
            seed=options.seed,
            start=start,
            duration_s=span_s,
            rate=rate,
            incidents=probes,
            producer_factory=lambda: producer,
            metrics=sim_metrics,
        )
    )

    async def take_sample() -> Sample:
        w = await asyncio.to_thread(scrape, settings.metrics_port_worker, _WORKER_COUNTERS)
        rows = await asyncio.to_thread(_sink_reading_rows, settings.metrics_port_sink)
        for u in run.usage:
            u.sample()
        sample = Sample(
            t=time.monotonic() - began,
            # log-end offsets: exact; the simulator's counter only moves every 20k deliveries
            sent=sum((await lag.end_offsets(feeds)).values()),
            worker_in=w["cityops_events_in_total"],
            worker_out=sum(v for k, v in w.items() if k != "cityops_events_in_total"),
            sink_rows=rows,
            worker_lag=await lag.lag(settings.worker_id, feeds),
            sink_lag=await lag.lag(settings.sink_group, sink_topics),
        )
        run.samples.append(sample)
        return sample

    try:
        production_s = await _produce_and_sample(sim, began, options, take_sample)
        _check_alive(run)
        # Drain: until both groups have committed everything (or the drain limit).
        drain_deadline = time.monotonic() + options.drain_s
        drained = False
        while time.monotonic() < drain_deadline:
            s = await take_sample()
            if s.worker_lag == 0 and s.sink_lag == 0 and len(seen) >= len(producer.crossed_at):
                drained = True
                break
            await asyncio.sleep(min(1.0, options.sample_s))
            _check_alive(run)
        drain_s = time.monotonic() - began - production_s
        sent_total = sum((await lag.end_offsets(feeds)).values())
    finally:
        stop_poll.set()
        with contextlib.suppress(Exception):
            await poller
        await lag.stop()
    alert_sent = await _alert_send_times(
        settings.kafka_bootstrap, settings.topic(topics.ALERTS), set(probe_ids)
    )
    report = _cityops_report(
        run, producer.crossed_at, seen, production_s, drain_s, drained, sent_total
    )
    report["alert_latency_s"]["stages"] = latency_stages(producer.crossed_at, alert_sent, seen)
    return report


def latency_stages(
    crossed: dict[str, float], alert_sent: dict[str, float], seen: dict[str, float]
) -> dict[str, dict[str, float | None]]:
    """Percentiles of crossing -> alert produced (worker) and alert produced -> row seen."""
    both = [e for e in crossed if e in alert_sent and e in seen]
    return {
        "worker": percentiles([alert_sent[e] - crossed[e] for e in both]),
        "sink": percentiles([seen[e] - alert_sent[e] for e in both]),
    }


def _check_alive(run: _Run) -> None:
    for u in run.usage:
        if u.name in ("worker", "sink") and not Path(f"/proc/{u.pid}").exists():
            raise StackError(f"{u.name} died during the benchmark; see its log")


def _rate_between(samples: list[Sample], attr: str, t0: float, t1: float) -> float:
    """Rate of a counter between the samples nearest after t0 and at or before t1."""
    window = [s for s in samples if t0 <= s.t <= t1 + 1e-6]
    if len(window) < 2:
        return 0.0
    first, last = window[0], window[-1]
    dt = last.t - first.t
    return (getattr(last, attr) - getattr(first, attr)) / dt if dt > 0 else 0.0


def _lag_slope(samples: list[Sample], attr: str, t0: float, t1: float) -> float:
    """Least-squares slope of lag over time (messages/s): > 0 means falling behind."""
    pts = [(s.t, float(getattr(s, attr))) for s in samples if t0 <= s.t <= t1 + 1e-6]
    if len(pts) < 2:
        return 0.0
    mt = statistics.fmean(t for t, _ in pts)
    mv = statistics.fmean(v for _, v in pts)
    den = sum((t - mt) ** 2 for t, _ in pts)
    return sum((t - mt) * (v - mv) for t, v in pts) / den if den else 0.0


def _cityops_report(
    run: _Run,
    crossed: dict[str, float],
    seen: dict[str, float],
    production_s: float,
    drain_s: float,
    drained: bool,
    sent_total: int,
) -> dict[str, Any]:
    samples = run.samples
    # Steady state: skip the first fifth (producer, consumer groups and caches warming up).
    t0, t1 = production_s * 0.2, production_s
    last = samples[-1] if samples else Sample(0, 0, 0, 0, 0, 0, 0)
    latencies = [seen[e] - crossed[e] for e in crossed if e in seen]
    rows_total = last.sink_rows
    e2e_window = _rate_between(samples, "sink_rows", t0, t1)
    worker_rate = _rate_between(samples, "worker_in", t0, t1)
    # The sink stores readings straight from the feed topics (docs/ARCHITECTURE.md),
    # so stored rows alone would hide a slow worker: the pipeline carries the load
    # only as fast as its slower branch (rules/alerts in the worker, rows in the sink).
    pipeline_rate = min(e2e_window, worker_rate)
    total_s = production_s + drain_s
    pipeline_incl_drain = min(rows_total, last.worker_in) / total_s if total_s else 0.0
    slope_w = _lag_slope(samples, "worker_lag", t0, t1)
    slope_s = _lag_slope(samples, "sink_lag", t0, t1)
    in_window = [s for s in samples if t0 <= s.t <= t1 + 1e-6]
    target = run.options.rate
    return {
        "production_s": round(production_s, 2),
        "drain_s": round(drain_s, 2),
        "drained": drained,
        "events_sent": sent_total,
        "rows_committed": int(rows_total),
        "throughput": {
            # sent -> processed by the worker AND row committed, steady window:
            # the slower of the worker's events_in rate and the sink's rows rate
            "end_to_end_events_per_s": round(pipeline_rate),
            # the same over first send -> end of the drain
            "end_to_end_incl_drain_events_per_s": round(pipeline_incl_drain),
            # readings rows committed per second (the sink's branch alone)
            "readings_stored_events_per_s": round(e2e_window),
            "stages_events_per_s": {
                "simulator_to_broker": round(_rate_between(samples, "sent", t0, t1)),
                "broker_to_worker": round(worker_rate),
                "worker_out_alerts_rollups_deadletters": round(
                    _rate_between(samples, "worker_out", t0, t1), 1
                ),
                "sink_to_database_rows": round(e2e_window),
            },
            "steady_window_s": [round(t0, 1), round(t1, 1)],
        },
        "lag": {
            "worker_max": max((s.worker_lag for s in in_window), default=0),
            "sink_max": max((s.sink_lag for s in in_window), default=0),
            "worker_at_end_of_production": _lag_at(samples, production_s, "worker_lag"),
            "sink_at_end_of_production": _lag_at(samples, production_s, "sink_lag"),
            "worker_slope_per_s": round(slope_w, 1),
            "sink_slope_per_s": round(slope_s, 1),
            # bounded: lag does not grow by more than 5 % of the offered rate per second
            "bounded": _bounded(slope_w, slope_s, target, e2e_window),
        },
        "alert_latency_s": {
            "probes": run.options.probes,
            "produced": len(crossed),
            "alerted": len(latencies),
            **percentiles(latencies),
            "values_s": sorted(round(v, 3) for v in latencies),
            "poll_resolution_s": PROBE_POLL_S,
        },
        "processes": {u.name: u.as_dict() for u in run.usage},
        "samples": [s.as_dict() for s in samples],
    }


def _lag_at(samples: list[Sample], t: float, attr: str) -> int:
    before = [s for s in samples if s.t <= t + 1e-6]
    return int(getattr(before[-1], attr)) if before else 0


def _bounded(slope_w: float, slope_s: float, target: float, achieved: float) -> bool:
    offered = achieved if math.isinf(target) else target
    return max(slope_w, slope_s) <= 0.05 * max(offered, 1.0)


# --- ceiling and baseline ----------------------------------------------------------------
def _run_reference(
    mode: str,
    settings: Settings,
    admin_url: Callable[[str], str],
    city: CityProfile,
    options: BenchOptions,
) -> dict[str, Any]:
    """Produce the same load to fresh topics and consume it with a reference consumer."""
    from cityops.stack.topics import ensure_topics
    from sinks.migrate import migrate

    prefix = f"{settings.topic_prefix}{mode}."
    ref = settings.model_copy(update={"topic_prefix": prefix})
    asyncio.run(ensure_topics(ref, topics.FEED_TOPICS))
    dbname = f"bench_{mode}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(admin_url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    url = admin_url(dbname)
    if mode == "baseline":
        migrate(url)
    else:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(_RAW_TABLE)
    progress = settings.state_dir / f"{mode}.progress"
    env = {**os.environ, **settings_env(ref), "CITYOPS_DATABASE_URL": url}
    proc = ManagedProcess(
        mode,
        [
            sys.executable,
            "-m",
            "cityops.bench",
            mode,
            "--progress",
            str(progress),
            "--profile",
            options.profile,
        ],
        settings.state_dir / "logs" / f"{mode}.log",
        env=env,
    ).start()
    try:
        deadline = time.monotonic() + 30
        while not progress.exists() and time.monotonic() < deadline:
            if proc.poll() is not None:
                raise StackError(f"{mode} consumer exited; see {proc.log_path}")
            time.sleep(0.2)
        usage = [ProcessUsage(f"{mode} consumer", proc.pid)]
        return asyncio.run(_drive_reference(ref, city, options, progress, usage))
    finally:
        proc.stop(timeout=10)


_RAW_TABLE = (
    "CREATE TABLE IF NOT EXISTS bench_raw ("
    " topic text NOT NULL, part integer NOT NULL, off bigint NOT NULL,"
    " key bytea, value bytea, PRIMARY KEY (topic, part, off))"
)


def _read_progress(path: Path) -> float:
    try:
        return float(orjson.loads(path.read_bytes())["rows"])
    except (OSError, ValueError, KeyError, orjson.JSONDecodeError):
        return 0.0


async def _drive_reference(
    settings: Settings,
    city: CityProfile,
    options: BenchOptions,
    progress: Path,
    usage: list[ProcessUsage],
) -> dict[str, Any]:
    assert settings.kafka_bootstrap
    span_s, rate = _plan(city, options)
    start = (datetime.now(UTC) - timedelta(seconds=span_s)).replace(microsecond=0)
    registry = CollectorRegistry()
    sim_metrics = SimulatorMetrics(registry)
    feeds = [settings.topic(t) for t in topics.FEED_TOPICS]
    lag = LagProbe(settings.kafka_bootstrap, settings.topic_partitions)
    await lag.start()
    for u in usage:
        u.sample()
    samples: list[Sample] = []
    began = time.monotonic()
    sim = asyncio.create_task(
        run_simulation(
            settings,
            city,
            seed=options.seed,
            start=start,
            duration_s=span_s,
            rate=rate,
            metrics=sim_metrics,
        )
    )

    async def sample(sent_total: float | None = None) -> Sample:
        for u in usage:
            u.sample()
        sent = float(sum((await lag.end_offsets(feeds)).values()))
        rows = _read_progress(progress)
        backlog = max(0, int((sent_total if sent_total is not None else sent) - rows))
        s = Sample(time.monotonic() - began, sent, rows, 0, rows, 0, backlog)
        samples.append(s)
        return s

    try:
        production_s = await _produce_and_sample(sim, began, options, sample)
        sent_total = sum((await lag.end_offsets(feeds)).values())
        drain_deadline = time.monotonic() + options.drain_s
        drained = False
        while time.monotonic() < drain_deadline:
            s = await sample(sent_total)
            if s.sink_rows >= sent_total:
                drained = True
                break
            await asyncio.sleep(0.5)
        drain_s = time.monotonic() - began - production_s
    finally:
        await lag.stop()
    t0, t1 = production_s * 0.2, production_s
    rows_total = samples[-1].sink_rows if samples else 0
    e2e = _rate_between(samples, "sink_rows", t0, t1)
    return {
        "production_s": round(production_s, 2),
        "drain_s": round(drain_s, 2),
        "drained": drained,
        "events_sent": sent_total,
        "rows_committed": int(rows_total),
        "throughput": {
            "end_to_end_events_per_s": round(e2e),
            "end_to_end_incl_drain_events_per_s": round(
                rows_total / (production_s + drain_s) if production_s + drain_s else 0
            ),
            "stages_events_per_s": {
                "simulator_to_broker": round(_rate_between(samples, "sent", t0, t1)),
            },
            "steady_window_s": [round(t0, 1), round(t1, 1)],
        },
        "backlog_max": max((s.sink_lag for s in samples), default=0),
        "processes": {u.name: u.as_dict() for u in usage},
    }


class _Progress:
    """Rows committed so far, rewritten to a small JSON file (read by the bench)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self._written = 0.0
        self.write(force=True)

    def write(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._written >= 0.25:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_bytes(orjson.dumps({"rows": self.rows, "at": time.time()}))
            tmp.replace(self.path)
            self._written = now


async def _ceiling(settings: Settings, progress: _Progress, stop: asyncio.Event) -> None:
    """produce -> consume -> COPY the raw messages: no decoding, no rules."""
    from aiokafka import AIOKafkaConsumer

    assert settings.database_url
    consumer = AIOKafkaConsumer(
        *[settings.topic(t) for t in topics.FEED_TOPICS],
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=f"{settings.topic_prefix}ceiling",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=settings.sink_batch_size,
        rebalance_timeout_ms=int(settings.broker_rebalance_timeout_s * 1000),
    )
    await consumer.start()
    copy_sql = "COPY bench_raw (topic, part, off, key, value) FROM STDIN (FORMAT BINARY)"
    try:
        async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
            while not stop.is_set():
                data = await consumer.getmany(timeout_ms=200, max_records=settings.sink_batch_size)
                records = [r for recs in data.values() for r in recs]
                if records:
                    async with (
                        conn.transaction(),
                        conn.cursor() as cur,
                        cur.copy(copy_sql) as copy,
                    ):
                        copy.set_types(["text", "int4", "int8", "bytea", "bytea"])
                        for r in records:
                            await copy.write_row((r.topic, r.partition, r.offset, r.key, r.value))
                    await consumer.commit()
                    progress.rows += len(records)
                progress.write(force=bool(records))
    finally:
        await consumer.stop()


async def _baseline(
    settings: Settings, profile: str, progress: _Progress, stop: asyncio.Event
) -> None:
    """One consumer per feed, one event at a time: validate, rules, one INSERT per event."""
    from aiokafka import AIOKafkaConsumer

    from sinks.writer import ALERT_HISTORY, TABLE_BY_TOPIC
    from streams.rules.engine import RuleEngine
    from streams.rules.thresholds import load_thresholds
    from streams.validation import Rejection, decode

    assert settings.database_url
    engine = RuleEngine(
        load_thresholds(settings.rules_file),
        load_profile(profile),
        {},
        runbook_base_url=settings.runbook_base_url,
    )

    def insert(table: str, columns: tuple[str, ...], key: tuple[str, ...]) -> sql.Composed:
        return sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) DO NOTHING").format(
            sql.Identifier(table),
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.SQL(", ").join(sql.Placeholder() * len(columns)),
            sql.SQL(", ").join(map(sql.Identifier, key)),
        )

    history_sql = insert(ALERT_HISTORY.name, ALERT_HISTORY.columns, ALERT_HISTORY.key)

    async def one_feed(feed: str) -> None:
        spec = TABLE_BY_TOPIC[feed]
        reading_sql = insert(spec.name, spec.columns, spec.key)
        consumer = AIOKafkaConsumer(
            settings.topic(feed),
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=f"{settings.topic_prefix}baseline-{feed}",
            auto_offset_reset="earliest",
            rebalance_timeout_ms=int(settings.broker_rebalance_timeout_s * 1000),
        )
        await consumer.start()
        try:
            async with await psycopg.AsyncConnection.connect(
                settings.database_url or "", autocommit=True
            ) as conn:
                while not stop.is_set():
                    try:
                        msg = await asyncio.wait_for(consumer.getone(), 0.5)
                    except TimeoutError:
                        continue
                    event = decode(feed, msg.value, datetime.now(UTC))
                    if isinstance(event, Rejection):
                        continue
                    for alert in engine.on_event(feed, event):
                        await conn.execute(history_sql, ALERT_HISTORY.row(alert))
                    await conn.execute(reading_sql, spec.row(event))
                    progress.rows += 1
                    progress.write()
        finally:
            await consumer.stop()

    await asyncio.gather(*(one_feed(f) for f in topics.FEED_TOPICS))


def _reference_main(argv: list[str]) -> int:
    """`python -m cityops.bench ceiling|baseline --progress FILE`: the reference consumers."""
    import signal

    parser = argparse.ArgumentParser(prog="python -m cityops.bench")
    parser.add_argument("mode", choices=["ceiling", "baseline"])
    parser.add_argument("--progress", type=Path, required=True)
    parser.add_argument("--profile", default="megacity")
    args = parser.parse_args(argv)
    settings = get_settings()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        progress = _Progress(args.progress)
        if args.mode == "ceiling":
            await _ceiling(settings, progress, stop)
        else:
            await _baseline(settings, args.profile, progress, stop)
        progress.write(force=True)

    asyncio.run(main())
    return 0


# --- output ------------------------------------------------------------------------------
def _stage(run: dict[str, Any], stage: str) -> Any:
    return run["throughput"]["stages_events_per_s"][stage]


def print_report(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    opts = report["options"]
    title = (
        f"cityops bench: {opts['profile']}, {opts['duration_s']:g} s at "
        f"{opts['rate']} events/s ({report['machine']['cpus']} CPUs, shared)"
    )
    table = Table(title=title)
    table.add_column("figure")
    for name in ("cityops", "ceiling", "baseline"):
        if name in report:
            table.add_column(name, justify="right")
    runs = [report[n] for n in ("cityops", "ceiling", "baseline") if n in report]

    def row(label: str, get: Callable[[dict[str, Any]], Any]) -> None:
        cells = []
        for r in runs:
            try:
                value = get(r)
            except (KeyError, TypeError):
                value = None
            if isinstance(value, bool):
                value = "yes" if value else "NO"
            cells.append(
                "-" if value is None else f"{value:,}" if isinstance(value, int) else str(value)
            )
        table.add_row(label, *cells)

    row("events sent", lambda r: r["events_sent"])
    row("rows committed", lambda r: r["rows_committed"])
    row("end to end, steady (events/s)", lambda r: r["throughput"]["end_to_end_events_per_s"])
    row("readings stored (rows/s)", lambda r: r["throughput"].get("readings_stored_events_per_s"))
    row(
        "end to end incl. drain (events/s)",
        lambda r: r["throughput"]["end_to_end_incl_drain_events_per_s"],
    )
    for stage in (
        "simulator_to_broker",
        "broker_to_worker",
        "worker_out_alerts_rollups_deadletters",
        "sink_to_database_rows",
    ):
        row(f"  {stage.replace('_', ' ')} /s", functools.partial(_stage, stage=stage))
    row(
        "worker lag max / at end",
        lambda r: f"{r['lag']['worker_max']:,} / {r['lag']['worker_at_end_of_production']:,}",
    )
    row(
        "sink lag max / at end",
        lambda r: f"{r['lag']['sink_max']:,} / {r['lag']['sink_at_end_of_production']:,}",
    )
    row("lag bounded", lambda r: r["lag"]["bounded"])
    row("drain (s)", lambda r: r["drain_s"])
    row(
        "alert latency p50/p95/p99 (s)",
        lambda r: "{p50} / {p95} / {p99}".format(**r["alert_latency_s"]),
    )
    row(
        "  of which worker / sink p50, p99 (s)",
        lambda r: "{w[p50]} / {s[p50]}, {w[p99]} / {s[p99]}".format(
            w=r["alert_latency_s"]["stages"]["worker"], s=r["alert_latency_s"]["stages"]["sink"]
        ),
    )
    row(
        "probes alerted / produced",
        lambda r: f"{r['alert_latency_s']['alerted']} / {r['alert_latency_s']['produced']}",
    )
    console.print(table)

    procs = Table(title="processes (CPU seconds over the run, peak RSS)")
    procs.add_column("run")
    procs.add_column("process")
    procs.add_column("CPU s", justify="right")
    procs.add_column("peak RSS MiB", justify="right")
    for name in ("cityops", "ceiling", "baseline"):
        for proc, u in report.get(name, {}).get("processes", {}).items():
            procs.add_row(name, proc, f"{u['cpu_s']:.1f}", f"{u['peak_rss_mib']:.0f}")
    console.print(procs)
    if "ratios" in report:
        console.print(
            "CityOps end to end vs ceiling: {cityops_to_ceiling}, vs baseline: "
            "{cityops_to_baseline}".format(**report["ratios"])
        )


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    sys.exit(_reference_main(sys.argv[1:]))
