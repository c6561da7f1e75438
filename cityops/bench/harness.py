"""One `cityops bench` invocation: the stack, the CityOps run and, with `--compare`,
the reference runs; returns the report.

Where to extend it: a new option goes into `options.BenchOptions` (and `cli`);
how the CityOps processes run and are sampled is `run`; the comparison runs are
`reference` and their ratios `report.ratios`.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from cityops.base.city.profiles import load_profile
from cityops.base.settings import Settings
from cityops.bench.options import BenchOptions, natural_rate
from cityops.bench.reference import run_reference
from cityops.bench.report import cpu_per_event, machine_info, machine_speed, ratios
from cityops.bench.run import run_cityops
from cityops.bench.stack import bench_stack


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
            "worker_runtime": settings.worker_runtime,
            "sink_batch_size": settings.sink_batch_size,
        },
    }
    report["machine"]["speed"] = machine_speed(options.speed_event_s)
    with bench_stack(settings) as (bench_settings, stack, admin_url):
        report["cityops"] = run_cityops(bench_settings, stack, city, options)
        if compare:
            report["ceiling"] = run_reference("ceiling", bench_settings, admin_url, city, options)
            report["baseline"] = run_reference("baseline", bench_settings, admin_url, city, options)
            report["ratios"] = ratios(report)
    for name in ("cityops", "ceiling", "baseline"):
        if name in report:
            report[name]["cpu_us_per_event"] = cpu_per_event(report[name])
    return report
