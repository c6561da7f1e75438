"""Smoke runs of `cityops bench` on the small profile: structure and non-zero throughput.

No timing thresholds: the figures depend on the machine and whatever else runs
on it; only that every stage moved events and the report has its shape.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from cityops.bench import BenchOptions, percentiles, print_report, run_bench
from cityops.cli import build_parser
from cityops.settings import Settings

pytestmark = pytest.mark.integration

SMOKE = BenchOptions(profile="small", duration_s=4.0, rate=1500.0, probes=2, sample_s=1.0)


def _check_run(run: dict, *, cityops: bool) -> None:
    assert run["events_sent"] > 0
    assert run["rows_committed"] > 0
    assert run["throughput"]["end_to_end_incl_drain_events_per_s"] > 0
    assert run["processes"], "CPU and memory per process"
    for usage in run["processes"].values():
        assert set(usage) == {"pid", "cpu_s", "peak_rss_mib"}
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


def test_bench_smoke(stack_settings: Settings, tmp_path: Path, capsys) -> None:
    report = run_bench(stack_settings, SMOKE)
    _check_run(report["cityops"], cityops=True)
    assert report["options"]["profile"] == "small"
    print_report(report)
    assert "end to end" in capsys.readouterr().out
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(report))  # the report is plain JSON
    assert json.loads(path.read_text())["cityops"]["events_sent"] > 0


def test_bench_compare_smoke(stack_settings: Settings) -> None:
    report = run_bench(stack_settings, SMOKE, compare=True)
    _check_run(report["cityops"], cityops=True)
    _check_run(report["ceiling"], cityops=False)
    _check_run(report["baseline"], cityops=False)
    assert set(report["ratios"]) == {"cityops_to_ceiling", "cityops_to_baseline"}


def test_cli_parses_bench_options() -> None:
    args = build_parser().parse_args(
        ["bench", "--profile", "small", "--duration", "5", "--rate", "max", "--compare"]
    )
    assert math.isinf(args.rate) and args.compare and args.duration == 5
    sink = build_parser().parse_args(["bench", "sink", "--rows", "1000", "--batch-size", "500"])
    assert sink.bench_command == "sink" and sink.rows == 1000 and sink.batch_size == [500]


def test_percentiles_nearest_rank() -> None:
    assert percentiles([]) == {"p50": None, "p95": None, "p99": None, "max": None}
    values = [0.1 * i for i in range(1, 101)]
    got = percentiles(values)
    assert got["p50"] == pytest.approx(5.0) and got["p99"] == pytest.approx(9.9)
