"""The report: machine facts, medians over repeats, ratios and the printed tables."""

from __future__ import annotations

import contextlib
import functools
import math
import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    "worker_cpu_us_per_event": ("cityops", "cpu_us_per_event", "worker"),
    "sink_cpu_us_per_event": ("cityops", "cpu_us_per_event", "sink"),
    "worker_peak_rss_mib": ("cityops", "processes", "worker", "peak_rss_mib"),
    "worker_peak_pss_mib": ("cityops", "processes", "worker", "peak_pss_mib"),
    "cityops_to_ceiling": ("ratios", "cityops_to_ceiling"),
    "cityops_to_baseline": ("ratios", "cityops_to_baseline"),
}  # fmt: skip


_HOPS = {
    "simulator_to_broker": "sim->broker",
    "broker_to_worker_out": "broker->worker out",
    "worker_out_to_sink_row": "worker out->row",
}


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
    hops: dict[str, list[float]] = {}
    for r in reports:
        for hop, values in (_dig(r, ("cityops", "alert_latency_s", "hop_values_s")) or {}).items():
            hops.setdefault(hop, []).extend(values)
    out["alert_latency_hops_pooled_s"] = {hop: percentiles(vs) for hop, vs in hops.items()}
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
    for key, label in _HOPS.items():
        hop = summary.get("alert_latency_hops_pooled_s", {}).get(key)
        if hop is not None:
            table.add_row(
                f"  {label}, all probes p50/p95/p99 (s)", "{p50} / {p95} / {p99}".format(**hop)
            )
    Console().print(table)


def ratios(report: dict[str, Any]) -> dict[str, float | None]:
    ours = report["cityops"]["throughput"]["end_to_end_events_per_s"]
    out: dict[str, float | None] = {}
    for name in ("ceiling", "baseline"):
        theirs = report.get(name, {}).get("throughput", {}).get("end_to_end_events_per_s")
        out[f"cityops_to_{name}"] = round(ours / theirs, 3) if theirs else None
    return out


def cpu_per_event(run: dict[str, Any]) -> dict[str, float]:
    """CPU µs of each process per event sent: what every stage costs an event, so
    runs on different machines and loads compare by ratio (the ceiling's and
    CityOps' figures in one report share the generator and the machine)."""
    sent = run.get("events_sent") or 0
    if not sent:
        return {}
    return {
        name: round(usage["cpu_s"] / sent * 1e6, 2)
        for name, usage in run.get("processes", {}).items()
    }


def machine_speed(event_s: float = 10.0) -> dict[str, float]:
    """The machine's speed now, recorded beside the figures: CPU seconds of a
    10^7-addition Python loop, and the pure processor's CPU µs per event on a fixed
    input (`event_s` of megacity event time, 10 s by default, the worker's stages:
    `cityops.bench.processing`)."""
    import time

    from cityops.bench import processing

    t0 = time.process_time()
    total = 0
    for i in range(10_000_000):
        total += i
    loop_s = time.process_time() - t0
    fixed = processing.measure("megacity", event_s)
    return {
        "loop_1e7_adds_cpu_s": round(loop_s, 3),
        "processor_us_per_event": round(fixed.us_per_event, 2),
    }


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


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def pick(q: float) -> float:
        # nearest rank: with a handful of probes p99 is the worst one
        return round(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)], 3)

    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "max": round(ordered[-1], 3)}


# --- output ------------------------------------------------------------------------------
def _stage(run: dict[str, Any], stage: str) -> Any:
    return run["throughput"]["stages_events_per_s"][stage]


def _hops(run: dict[str, Any]) -> str:
    stages = run["alert_latency_s"]["stages"]
    return ", ".join(
        f"{label} {stages[key]['p50']} / {stages[key]['p99']}"
        for key, label in _HOPS.items()
        if key in stages
    )


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
    row("  hops p50 / p99 (s)", _hops)
    row(
        "probes alerted / produced",
        lambda r: f"{r['alert_latency_s']['alerted']} / {r['alert_latency_s']['produced']}",
    )
    console.print(table)

    procs = Table(title="processes and their children (CPU seconds over the run, peak memory)")
    procs.add_column("run")
    procs.add_column("process")
    procs.add_column("CPU s", justify="right")
    procs.add_column("run-queue wait s", justify="right")
    # RSS summed over a tree counts shared pages in every process (a forked child's)
    procs.add_column("peak RSS / PSS MiB", justify="right")
    for name in ("cityops", "ceiling", "baseline"):
        for proc, u in report.get(name, {}).get("processes", {}).items():
            runq = u.get("runq_wait_s")
            procs.add_row(
                name,
                proc,
                f"{u['cpu_s']:.1f}",
                "" if runq is None else f"{runq:.1f}",
                f"{u['peak_rss_mib']:.0f} / {u.get('peak_pss_mib', 0):.0f}",
            )
    console.print(procs)
    per_event = [
        f"{name}: "
        + ", ".join(f"{proc} {us:g}" for proc, us in report[name]["cpu_us_per_event"].items())
        for name in ("cityops", "ceiling", "baseline")
        if report.get(name, {}).get("cpu_us_per_event")
    ]
    if per_event:
        console.print("CPU µs per event sent: " + "; ".join(per_event))
    speed = report.get("machine", {}).get("speed")
    if speed:
        console.print(
            "machine speed: 10^7 additions {loop_1e7_adds_cpu_s} s CPU, pure processor "
            "{processor_us_per_event} µs/event (10 s of megacity)".format(**speed)
        )
    if "ratios" in report:
        console.print(
            "CityOps end to end vs ceiling: {cityops_to_ceiling}, vs baseline: "
            "{cityops_to_baseline}".format(**report["ratios"])
        )
