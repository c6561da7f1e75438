"""One CityOps run: start the worker and sink, produce, sample, drain, and report."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from cityops.base.city.profiles import CityProfile
from cityops.base.settings import Settings
from cityops.bench.options import BenchOptions, plan
from cityops.bench.probes import (
    ProbeProducer,
    alert_send_times,
    drop_probe_trigger,
    hop_values,
    install_probe_trigger,
    listen_alerts,
    probe_channel,
    probe_incidents,
)
from cityops.bench.procfs import ProcessUsage
from cityops.bench.report import percentiles
from cityops.bench.sampling import (
    LagProbe,
    Sample,
    lag_at,
    lag_bounded,
    lag_slope,
    produce_and_sample,
    rate_between,
    run_figures,
    scrape,
    start_simulation,
    steady_window,
    totals,
)
from cityops.bench.stack import service_pids, wait_ready
from cityops.stack.process import StackError
from cityops.stack.up import Stack, start_pipeline
from sensors_sim.incidents import Incident
from sensors_sim.simulate import kafka_producer
from streams import topics

#: Probe crossings ship without the simulator's linger (`ProbeProducer`): a real
#: detector sends its reading at once, the linger is the simulator's economy.
PROBES_AT_ONCE = True


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


def run_cityops(
    settings: Settings, stack: Stack, city: CityProfile, options: BenchOptions
) -> dict[str, Any]:
    # The worker logs at INFO so that wait_ready sees the line saying it is ready.
    start_pipeline(
        settings.model_copy(update={"log_level": "INFO"}),
        stack,
        simulate_args=None,
        notifier=False,
    )
    wait_ready(settings, stack)
    usage = [ProcessUsage(n, p) for n, p in service_pids(stack).items()]
    usage.append(ProcessUsage("simulator (bench process)", os.getpid(), tree=False))
    run = _Run(settings, options, usage)
    return asyncio.run(_drive(run, city))


async def _drive(run: _Run, city: CityProfile) -> dict[str, Any]:
    settings, options = run.settings, run.options
    assert settings.kafka_bootstrap and settings.database_url
    span_s, _ = plan(city, options)
    probes: list[Incident] = list(probe_incidents(city, options.probes, span_s))
    probe_ids = [p.entity_id for p in probes]
    producer = ProbeProducer(
        kafka_producer(settings.kafka_bootstrap, settings.sim_linger_s),
        {e.encode() for e in probe_ids},
        at_once=PROBES_AT_ONCE,
    )
    feeds = [settings.topic(t) for t in topics.FEED_TOPICS]
    sink_topics = [*feeds, settings.topic(topics.ALERTS), settings.topic(topics.ROLLUPS)]
    lag = LagProbe(settings.kafka_bootstrap, settings.topic_partitions)
    await lag.start()
    for u in run.usage:
        u.sample()
    stop_poll, listening = asyncio.Event(), asyncio.Event()
    seen: dict[str, float] = {}
    notify_delays: list[float] = []
    channel = probe_channel(settings.topic_prefix)
    await install_probe_trigger(settings.database_url, channel)
    poller = asyncio.create_task(
        listen_alerts(
            settings.database_url, channel, probe_ids, seen, notify_delays, listening, stop_poll
        )
    )
    await asyncio.wait_for(listening.wait(), 30)
    began = time.monotonic()
    sim, _ = start_simulation(
        settings, city, options, incidents=probes, producer_factory=lambda: producer
    )

    async def take_sample() -> Sample:
        w = await asyncio.to_thread(scrape, settings.metrics_port_worker, _WORKER_COUNTERS)
        rows = await asyncio.to_thread(_sink_reading_rows, settings.metrics_port_sink)
        for u in run.usage:
            u.sample()
        ends = await lag.log_ends([*feeds, *sink_topics])  # once: see LagProbe.log_ends
        sample = Sample(
            t=time.monotonic() - began,
            # log-end offsets: exact; the simulator's counter only moves every 20k deliveries
            sent=sum(totals(ends, feeds).values()),
            worker_in=w["cityops_events_in_total"],
            worker_out=sum(v for k, v in w.items() if k != "cityops_events_in_total"),
            sink_rows=rows,
            worker_lag=await lag.lag(settings.worker_id, feeds, ends),
            sink_lag=await lag.lag(settings.sink_group, sink_topics, ends),
        )
        run.samples.append(sample)
        return sample

    try:
        production_s = await produce_and_sample(sim, began, options, take_sample)
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
        with contextlib.suppress(Exception):
            await drop_probe_trigger(settings.database_url, channel)
        await lag.stop()
    alert_sent = await alert_send_times(
        settings.kafka_bootstrap, settings.topic(topics.ALERTS), set(probe_ids)
    )
    report = _cityops_report(
        run, producer.crossed_at, seen, production_s, drain_s, drained, sent_total
    )
    latency = report["alert_latency_s"]
    hops = hop_values(producer.crossed_at, alert_sent, seen, producer.acked_at)
    latency["stages"] = {hop: percentiles(values) for hop, values in hops.items()}
    # per probe, so that `--repeat` pools each hop over its runs (report.summarize)
    latency["hop_values_s"] = {hop: sorted(round(v, 4) for v in vs) for hop, vs in hops.items()}
    # how late the bench's loop (it runs the simulator too) read the notifications:
    # not in the figures, which use the commit time the notification carries
    latency["notify_delay_s"] = percentiles(notify_delays)
    latency["probe_sent_at_once"] = PROBES_AT_ONCE
    return report


def _check_alive(run: _Run) -> None:
    for u in run.usage:
        if u.name in ("worker", "sink") and not Path(f"/proc/{u.pid}").exists():
            raise StackError(f"{u.name} died during the benchmark; see its log")


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
    t0, t1 = steady_window(production_s)
    last = samples[-1] if samples else Sample(0, 0, 0, 0, 0, 0, 0)
    latencies = [seen[e] - crossed[e] for e in crossed if e in seen]
    rows_total = last.sink_rows
    e2e_window = rate_between(samples, "sink_rows", t0, t1)
    worker_rate = rate_between(samples, "worker_in", t0, t1)
    # The sink stores readings straight from the feed topics (docs/ARCHITECTURE.md),
    # so stored rows alone would hide a slow worker: the pipeline carries the load
    # only as fast as its slower branch (rules/alerts in the worker, rows in the sink).
    pipeline_rate = min(e2e_window, worker_rate)
    total_s = production_s + drain_s
    pipeline_incl_drain = min(rows_total, last.worker_in) / total_s if total_s else 0.0
    slope_w = lag_slope(samples, "worker_lag", t0, t1)
    slope_s = lag_slope(samples, "sink_lag", t0, t1)
    in_window = [s for s in samples if t0 <= s.t <= t1 + 1e-6]
    target = run.options.rate
    return {
        **run_figures(production_s, drain_s, drained, sent_total, rows_total),
        "throughput": {
            # sent -> processed by the worker AND row committed, steady window:
            # the slower of the worker's events_in rate and the sink's rows rate
            "end_to_end_events_per_s": round(pipeline_rate),
            # the same over first send -> end of the drain
            "end_to_end_incl_drain_events_per_s": round(pipeline_incl_drain),
            # readings rows committed per second (the sink's branch alone)
            "readings_stored_events_per_s": round(e2e_window),
            "stages_events_per_s": {
                "simulator_to_broker": round(rate_between(samples, "sent", t0, t1)),
                "broker_to_worker": round(worker_rate),
                "worker_out_alerts_rollups_deadletters": round(
                    rate_between(samples, "worker_out", t0, t1), 1
                ),
                "sink_to_database_rows": round(e2e_window),
            },
            "steady_window_s": [round(t0, 1), round(t1, 1)],
        },
        "lag": {
            "worker_max": max((s.worker_lag for s in in_window), default=0),
            "sink_max": max((s.sink_lag for s in in_window), default=0),
            "worker_at_end_of_production": lag_at(samples, production_s, "worker_lag"),
            "sink_at_end_of_production": lag_at(samples, production_s, "sink_lag"),
            "worker_slope_per_s": round(slope_w, 1),
            "sink_slope_per_s": round(slope_s, 1),
            # bounded: lag does not grow by more than 5 % of the offered rate per second
            "bounded": lag_bounded(slope_w, slope_s, target, e2e_window),
        },
        "alert_latency_s": {
            "probes": run.options.probes,
            "produced": len(crossed),
            "alerted": len(latencies),
            **percentiles(latencies),
            "values_s": sorted(round(v, 3) for v in latencies),
            # crossing: the simulator's clock at send; stored: the commit's clock
            # (a trigger's clock_timestamp(), notified): no poll in the figure
            "measured": "crossing sent -> alert_history row committed",
        },
        "processes": {u.name: u.as_dict() for u in run.usage},
        "samples": [s.as_dict() for s in samples],
    }
