"""`cityops bench` command line: parse the options, run, print and write the report."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
from pathlib import Path
from typing import Any

from cityops.base.city.profiles import PROFILES
from cityops.base.settings import Settings, get_settings
from cityops.bench.harness import run_bench
from cityops.bench.options import RUNTIMES, BenchOptions
from cityops.bench.report import print_report, print_summary, summarize


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
    p.add_argument(
        "--runtime",
        choices=RUNTIMES,
        help="worker runtime (default: CITYOPS_WORKER_RUNTIME, else direct)",
    )
    p.set_defaults(handler=_bench)
    subs = p.add_subparsers(dest="bench_command", metavar="sink|drain|failover")
    s = subs.add_parser("sink", help="rows/s the sink's writer stores (cityops.bench.sink)")
    s.add_argument("--rows", type=int, default=500_000)
    s.add_argument("--batch-size", type=int, action="append", default=None)
    s.add_argument("--json", type=Path, dest="sink_json", help="write the results as JSON")
    s.set_defaults(handler=_bench_sink)
    d = subs.add_parser("drain", help="events/s of N workers over pre-filled topics")
    d.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts")
    d.add_argument("--profile", choices=PROFILES, default="small")
    d.add_argument("--span", type=float, default=3600.0, help="event-time seconds to fill")
    d.add_argument(
        "--runtime",
        choices=RUNTIMES,
        nargs="+",
        dest="drain_runtimes",
        help="worker runtimes, each over the same records (default: the worker's setting)",
    )
    d.add_argument("--json", type=Path, dest="drain_json", help="write the results as JSON")
    d.set_defaults(handler=_bench_drain)
    f = subs.add_parser("failover", help="seconds from kill -9 of a worker to lag 0")
    f.add_argument("--workers", type=int, default=2)
    f.add_argument("--rate", type=float, default=1000.0, help="simulator events/s")
    f.add_argument("--repeat", type=int, default=3, dest="failover_repeat")
    f.add_argument(
        "--runtime",
        choices=RUNTIMES,
        dest="failover_runtime",
        help="worker runtime (default: the worker's setting)",
    )
    f.set_defaults(handler=_bench_failover)


def _rate(text: str) -> float:
    if text.lower() in ("max", "inf", "flat-out"):
        return math.inf
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("rate must be > 0 events/s, or 'max'")
    return value


def _bench_sink(args: argparse.Namespace) -> int:
    from cityops.bench.sink import bench_sink

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


def _with_runtime(runtime: str | None) -> Settings:
    settings = get_settings()
    if runtime is None:
        return settings
    return settings.model_copy(update={"worker_runtime": runtime})


def _bench_drain(args: argparse.Namespace) -> int:
    from cityops.bench.drain import print_table, run_drain

    if min(args.workers) < 1:
        raise SystemExit("cityops bench drain: --workers must be at least 1")
    settings = get_settings().model_copy(update={"profile": args.profile})
    result = run_drain(settings, args.workers, args.span, args.seed, args.drain_runtimes)
    print(json.dumps(result, indent=2), flush=True)
    print_table(result)
    if args.drain_json:
        args.drain_json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


def _bench_failover(args: argparse.Namespace) -> int:
    from cityops.bench.failover import run_failover

    settings = _with_runtime(args.failover_runtime)
    result = run_failover(settings, args.workers, args.rate, args.failover_repeat)
    print(json.dumps(result, indent=2), flush=True)
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
        reports.append(run_bench(_with_runtime(args.runtime), options, compare=args.compare))
        print_report(reports[-1])
    result: dict[str, Any] = reports[0]
    if args.repeat > 1:
        result = {"runs": reports, "median": summarize(reports)}
        print_summary(result["median"])
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"report written to {args.json}")
    return 0
