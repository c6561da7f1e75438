"""Smoke runs of `cityops bench` on the small profile: structure and non-zero throughput.

No timing thresholds: the figures depend on the machine and whatever else runs
on it; only that every stage moved events and the report has its shape.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from cityops.base.settings import Settings
from cityops.bench.harness import run_bench
from cityops.bench.options import BenchOptions
from cityops.bench.probes import latency_stages, probe_channel, probe_incidents
from cityops.bench.report import percentiles, print_report, summarize
from cityops.cli import build_parser

pytestmark = pytest.mark.integration

# speed_event_s: the machine-speed probe on 1 s of megacity, not 10 (it is not what
# these smoke runs check, and it took ~20 s of each).
SMOKE = BenchOptions(
    profile="small", duration_s=4.0, rate=1500.0, probes=2, sample_s=1.0, speed_event_s=1.0
)


def _check_run(run: dict, *, cityops: bool) -> None:
    assert run["events_sent"] > 0
    assert run["rows_committed"] > 0
    assert run["throughput"]["end_to_end_incl_drain_events_per_s"] > 0
    assert run["processes"], "CPU and memory per process"
    for usage in run["processes"].values():
        assert set(usage) == {"pid", "cpu_s", "runq_wait_s", "peak_rss_mib", "peak_pss_mib"}
        assert usage["runq_wait_s"] >= 0
    if cityops:
        stages = run["throughput"]["stages_events_per_s"]
        assert set(stages) == {
            "simulator_to_broker",
            "broker_to_worker",
            "worker_out_alerts_rollups_deadletters",
            "sink_to_database_rows",
        }
        assert set(run["processes"]) >= {"worker", "sink"}
        assert run["samples"] and {"t", "worker_lag", "sink_lag"} <= set(run["samples"][0])
        assert run["samples"][-1]["worker_in"] > 0
        assert set(run["lag"]) >= {"worker_max", "sink_max", "bounded"}
        latency = run["alert_latency_s"]
        assert {"p50", "p95", "p99", "produced", "alerted"} <= set(latency)
        assert latency["produced"] == SMOKE.probes
        stages = latency["stages"]
        if latency["alerted"]:  # crossing -> alert produced -> row seen, on one clock
            assert 0 <= stages["worker"]["p50"] <= latency["max"]
            assert stages["sink"]["max"] <= latency["max"]
            # the broker's ack of each crossing reading splits the worker's part
            assert 0 <= stages["simulator_to_broker"]["p50"] <= stages["worker"]["max"]
            assert stages["worker_out_to_sink_row"] == stages["sink"]
            assert latency["notify_delay_s"]["p50"] is not None
            assert 0 < len(latency["hop_values_s"]["sink"]) <= latency["alerted"]


def _saw_worker_ready(caplog: pytest.LogCaptureFixture) -> bool:
    # cityops.bench.stack.wait_ready recognised the worker's ready line (the run did
    # not start after waiting out its timeout)
    return "did not log that it is ready" not in caplog.text


def test_bench_smoke(
    stack_settings: Settings, tmp_path: Path, capsys, caplog: pytest.LogCaptureFixture
) -> None:
    report = run_bench(stack_settings, SMOKE)
    assert _saw_worker_ready(caplog)
    _check_run(report["cityops"], cityops=True)
    assert report["options"]["profile"] == "small"
    print_report(report)
    assert "end to end" in capsys.readouterr().out
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(report))  # the report is plain JSON
    assert json.loads(path.read_text())["cityops"]["events_sent"] > 0
    summary = summarize([report])  # what --repeat prints, on a real report
    assert (
        summary["end_to_end_events_per_s"]
        == report["cityops"]["throughput"]["end_to_end_events_per_s"]
    )
    assert (
        summary["alert_latency_pooled_s"]["probes"]
        == report["cityops"]["alert_latency_s"]["alerted"]
    )


def test_bench_compare_smoke(stack_settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    report = run_bench(stack_settings, SMOKE, compare=True)
    assert _saw_worker_ready(caplog)
    _check_run(report["cityops"], cityops=True)
    _check_run(report["ceiling"], cityops=False)
    _check_run(report["baseline"], cityops=False)
    assert set(report["ratios"]) == {"cityops_to_ceiling", "cityops_to_baseline"}


def test_cli_parses_bench_options() -> None:
    args = build_parser().parse_args(
        ["bench", "--profile", "small", "--duration", "5", "--rate", "max", "--compare"]
    )
    assert math.isinf(args.rate) and args.compare and args.duration == 5
    assert args.repeat == 1
    assert build_parser().parse_args(["bench", "--repeat", "3"]).repeat == 3
    sink = build_parser().parse_args(["bench", "sink", "--rows", "1000", "--batch-size", "500"])
    assert sink.bench_command == "sink" and sink.rows == 1000 and sink.batch_size == [500]


def test_percentiles_nearest_rank() -> None:
    assert percentiles([]) == {"p50": None, "p95": None, "p99": None, "max": None}
    values = [0.1 * i for i in range(1, 101)]
    got = percentiles(values)
    assert got["p50"] == pytest.approx(5.0) and got["p99"] == pytest.approx(9.9)


def _report(e2e: float, bounded: bool, latencies: list[float], ceiling: float | None) -> dict:
    run = {
        "throughput": {"end_to_end_events_per_s": e2e},
        "lag": {"bounded": bounded},
        "alert_latency_s": {"p99": max(latencies, default=None), "values_s": latencies},
        "processes": {"worker": {"cpu_s": 10.0}},
    }
    report: dict = {"cityops": run}
    if ceiling is not None:
        report["ratios"] = {"cityops_to_ceiling": ceiling}
    return report


@pytest.mark.parametrize(
    ("reports", "e2e", "bounded", "p99", "pooled_p50", "ceiling"),
    [
        ([_report(100, True, [0.5], 0.9)], 100, 1, 0.5, 0.5, 0.9),
        (
            [_report(100, True, [0.2, 0.4], None), _report(300, False, [0.6], None),
             _report(200, True, [0.8, 1.0], None)],
            200, 2, 0.6, 0.6, None,
        ),
        ([_report(10, False, [], 0.5), _report(30, False, [], 0.7)], 20, 0, None, None, 0.6),
    ],
)  # fmt: skip
def test_summary_takes_medians_and_pools_the_probes(
    reports: list[dict],
    e2e: float,
    bounded: int,
    p99: float | None,
    pooled_p50: float | None,
    ceiling: float | None,
) -> None:
    summary = summarize(reports)
    assert summary["runs"] == len(reports)
    assert summary["end_to_end_events_per_s"] == e2e
    assert summary["lag_bounded_runs"] == bounded
    assert summary["alert_latency_p99_s"] == (None if p99 is None else pytest.approx(p99))
    assert summary["alert_latency_pooled_s"]["p50"] == pooled_p50
    assert summary["cityops_to_ceiling"] == (None if ceiling is None else pytest.approx(ceiling))
    assert summary["worker_peak_rss_mib"] is None  # absent from every run


def test_latency_stages_split_the_probe_latency() -> None:
    crossed = {"a": 10.0, "b": 20.0, "c": 30.0}
    alert_sent = {"a": 10.4, "b": 20.2}  # c's alert never seen on alerts.v1
    seen = {"a": 10.5, "b": 20.9, "c": 31.0}
    stages = latency_stages(crossed, alert_sent, seen)
    assert stages["worker"]["max"] == pytest.approx(0.4)
    assert stages["worker"]["p50"] == pytest.approx(0.2)
    assert stages["sink"]["max"] == pytest.approx(0.7)
    assert latency_stages({}, {}, {})["worker"]["p50"] is None


def test_summary_pools_each_hop_over_the_runs() -> None:
    def run(sink: list[float]) -> dict:
        report = _report(100, True, [1.0], None)
        report["cityops"]["alert_latency_s"]["hop_values_s"] = {"worker_out_to_sink_row": sink}
        return report

    summary = summarize([run([0.1, 0.3]), run([0.2]), _report(100, True, [1.0], None)])
    pooled = summary["alert_latency_hops_pooled_s"]["worker_out_to_sink_row"]
    assert pooled["p50"] == pytest.approx(0.2) and pooled["max"] == pytest.approx(0.3)
    assert summarize([_report(1, True, [], None)])["alert_latency_hops_pooled_s"] == {}


def test_latency_hops_add_up_to_the_probe_latency() -> None:
    crossed = {"a": 10.0, "b": 20.0}
    acked = {"a": 10.01, "b": 20.05}
    alert_sent = {"a": 10.4, "b": 20.2}
    seen = {"a": 10.5, "b": 20.9}
    stages = latency_stages(crossed, alert_sent, seen, acked)
    assert stages["simulator_to_broker"]["max"] == pytest.approx(0.05)
    assert stages["broker_to_worker_out"]["max"] == pytest.approx(0.39)
    assert stages["worker_out_to_sink_row"]["max"] == pytest.approx(0.7)
    for e in crossed:  # each probe's three hops add up to its latency
        hops = (acked[e] - crossed[e]) + (alert_sent[e] - acked[e]) + (seen[e] - alert_sent[e])
        assert hops == pytest.approx(seen[e] - crossed[e])


def test_probes_spread_over_the_run_on_distinct_detectors() -> None:
    from cityops.base.city.profiles import load_profile

    city = load_profile("megacity")
    probes = probe_incidents(city, 150, span_s=600.0)
    assert len({p.entity_id for p in probes}) == 150
    starts = [p.at_s for p in probes]
    assert starts == sorted(starts)
    assert starts[0] == pytest.approx(60.0) and starts[-1] == pytest.approx(540.0)
    # evenly: every tenth of the run between 10 % and 90 % holds its share
    per_tenth = [sum(1 for s in starts if 60 * k <= s < 60 * (k + 1)) for k in range(1, 9)]
    assert min(per_tenth) >= 150 // 8 - 1


def test_probe_channel_is_an_identifier_of_the_run() -> None:
    assert probe_channel("bench-1a2b3c4d.") == "cityops_probe_bench_1a2b3c4d"
    assert probe_channel("bench-1a2b3c4d.") != probe_channel("bench-ffffffff.")
