"""`cityops status`: the pure snapshot/render part, and `--once` against real sources."""

from __future__ import annotations

import argparse
import asyncio
import json
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from prometheus_client import CollectorRegistry
from rich.console import Console

from cityops.base.metrics import LagMetrics, WorkerMetrics, serve, stop_serving
from cityops.base.settings import get_settings
from cityops.stack.alertmanager import EmbeddedAlertmanager
from cityops.stack.process import free_port
from cityops.status import cli as status_cli
from cityops.status.collect import StatusSources, collect
from cityops.status.render import render_status
from cityops.status.snapshot import (
    OpenAlert,
    StatusSnapshot,
    apply_metrics,
    parse_metrics,
    with_rates,
)
from tests.fixtures.alertmanager import alertmanager  # noqa: F401 - fixture

T0 = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
MIGRATIONS = Path(__file__).resolve().parents[3] / "sinks" / "migrations"


def render_text(snapshot: StatusSnapshot) -> str:
    console = Console(record=True, width=160, color_system=None)
    console.print(render_status(snapshot))
    return console.export_text()


def worker_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    worker = WorkerMetrics(registry)
    worker.events_in.labels(topic="tX.gas.detector.v1").inc(1200)
    worker.events_in.labels(topic="tX.streetlight.status.v1").inc(300)
    worker.deadletters.labels(topic="tX.gas.detector.v1", reason="schema").inc(4)
    worker.district_lit_rate.labels(district="Shinan").set(0.975)
    worker.district_heating_warm_share.labels(district="Shinan").set(0.91)
    LagMetrics(registry).set("cityops-sink", {"tX.gas.detector.v1": 42})
    return registry


def test_render_a_full_snapshot() -> None:
    snapshot = StatusSnapshot(
        taken_at=T0,
        sources={"worker": "ok", "database": "unavailable (OperationalError)"},
        events_total={"gas": 1200.0, "streetlight": 300.0},
        events_per_s={"gas": 20.0},
        deadletters={"schema": 4.0},
        alerts_by_severity={"critical": 1, "minor": 2},
        newest_alerts=[
            OpenAlert("critical", "gas.lel_high", "Shinan", "det-7", "LEL 55%", T0, "firing"),
            OpenAlert("minor", "streetlight.dark", "Licang", "L-1", "dark", T0, "acknowledged"),
        ],
        alerts_source="Alertmanager",
        lit_rate={"Shinan": 0.975, "Licang": 0.99},
        heating_warm_share={"Shinan": 0.91},
        districts_source="database",
        consumer_lag={("cityops-sink", "gas.detector.v1"): 42.0},
    )
    text = render_text(snapshot)
    for expected in (
        "CityOps status",
        "2026-11-22 20:00:00 UTC",
        "Feeds",
        "1,200",
        "20.0",
        "Dead letters",
        "schema",
        "Open alerts: 3",
        "gas.lel_high",
        "streetlight.dark (ack)",
        "from Alertmanager",
        "Districts",
        "97.5%",
        "91.0%",
        "Consumer lag",
        "cityops-sink",
        "42",
    ):
        assert expected in text, expected


def test_render_an_empty_snapshot() -> None:
    text = render_text(StatusSnapshot(taken_at=T0))
    assert "no open alerts" in text and "no roll-ups yet" in text and "none" in text


def test_metrics_fold_into_the_snapshot_and_rates() -> None:
    from prometheus_client import generate_latest

    samples = parse_metrics(generate_latest(worker_registry()).decode())
    snapshot = StatusSnapshot(taken_at=T0)
    apply_metrics(snapshot, samples)
    assert snapshot.events_total == {"gas": 1200.0, "streetlight": 300.0}
    assert snapshot.deadletters == {"schema": 4.0}
    assert snapshot.lit_rate == {"Shinan": 0.975}
    assert snapshot.consumer_lag == {("cityops-sink", "tX.gas.detector.v1"): 42.0}
    later = StatusSnapshot(
        taken_at=T0 + timedelta(seconds=10), events_total={"gas": 1400.0, "streetlight": 100.0}
    )
    with_rates(later, snapshot)
    assert later.events_per_s == {"gas": 20.0, "streetlight": 0.0}  # reset counts as 0


def _push(am: EmbeddedAlertmanager, alerts: list[dict[str, object]]) -> None:
    request = urllib.request.Request(
        f"{am.url}/api/v2/alerts",
        data=json.dumps(alerts).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 200


def test_status_once_prints_a_frame(
    alertmanager: EmbeddedAlertmanager,  # noqa: F811 - fixture
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _push(
        alertmanager,
        [
            {
                "labels": {
                    "alertname": "heating.pressure_drop",
                    "severity": "critical",
                    "district": "Shibei",
                    "entity_id": "HS-9",
                },
                "annotations": {"summary": "supply pressure fell 0.15 MPa"},
            }
        ],
    )
    port = free_port()
    served = serve(worker_registry(), port)
    monkeypatch.setenv("CITYOPS_ALERTMANAGER_URL", alertmanager.url)
    monkeypatch.setenv("COLUMNS", "160")
    get_settings.cache_clear()
    try:
        parser = argparse.ArgumentParser(prog="cityops")
        status_cli.register(parser.add_subparsers(dest="command"))
        args = parser.parse_args(
            [
                "status",
                "--once",
                "--no-db",
                "--interval",
                "0.2",
                "--metrics-url",
                f"http://127.0.0.1:{port}/metrics",
            ]
        )
        assert args.handler(args) == 0
    finally:
        stop_serving(served)
        get_settings.cache_clear()
    out = capsys.readouterr().out
    for expected in (
        "Feeds",
        "gas",
        "1,200",
        "Dead letters",
        "schema",
        "Open alerts: 1",
        "heating.pressure_drop",
        "from Alertmanager",
        "Shinan",
        "97.5%",
        "Consumer lag",
        "metrics: ok",
        "alertmanager: ok",
    ):
        assert expected in out, expected


def test_collect_reads_the_database(database_url: str) -> None:
    ddl = MIGRATIONS / "002_rollups_alerts.sql"
    if not ddl.exists():
        pytest.skip("sinks/migrations/002_rollups_alerts.sql not there yet")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(ddl.read_text(encoding="utf-8").encode())
        for i, (severity, state) in enumerate(
            [("critical", "firing"), ("major", "acknowledged"), ("minor", "resolved")]
        ):
            conn.execute(
                "INSERT INTO alerts (alert_id, rule, severity, state, entity_type, entity_id,"
                " district, started_at, updated_at, summary, runbook)"
                " VALUES (%s, %s, %s, %s, 'detector', %s, 'Shinan', %s, %s, %s, '')",
                (
                    f"a{i}",
                    "gas.lel_high",
                    severity,
                    state,
                    f"det-{i}",
                    T0 + timedelta(minutes=i),
                    T0 + timedelta(minutes=i),
                    f"alert {i}",
                ),
            )
        for minute, lit in ((0, 0.5), (1, 0.985)):
            conn.execute(
                "INSERT INTO rollups_1m (feed, district, bucket, bucket_end, readings, lit_rate)"
                " VALUES ('streetlight', 'Shinan', %s, %s, 10, %s)",
                (T0 + timedelta(minutes=minute), T0 + timedelta(minutes=minute + 1), lit),
            )
        conn.execute(
            "INSERT INTO rollups_1m (feed, district, bucket, bucket_end, readings, warm_share)"
            " VALUES ('heating', 'Laoshan', %s, %s, 10, 0.8)",
            (T0, T0 + timedelta(minutes=1)),
        )

    async def run() -> StatusSnapshot:
        import aiohttp

        async with aiohttp.ClientSession() as session:
            return await collect(StatusSources(metrics_urls={}, database_url=database_url), session)

    snapshot = asyncio.run(run())
    assert snapshot.sources == {"database": "ok"}
    assert snapshot.alerts_by_severity == {"critical": 1, "major": 1}
    assert [a.entity_id for a in snapshot.newest_alerts] == ["det-1", "det-0"]
    assert snapshot.lit_rate == {"Shinan": 0.985}
    assert snapshot.heating_warm_share == {"Laoshan": 0.8}
    assert "Laoshan" in render_text(snapshot)
