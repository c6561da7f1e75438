"""The storage contract on both engines: migrations, idempotent writes, KPI views,
continuous aggregates, policies and roles (docs/ARCHITECTURE.md, "Storage contract").

Each test runs on plain PostgreSQL and on TimescaleDB (PGlite); see tests/fixtures/db.py.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from sinks.migrate import MIGRATIONS_DIR, MigrationError, discover, migrate
from sinks.writer import ALL_TABLES, Batch, Writer
from tests.fixtures.db import Engine
from tests.fixtures.db_timescale import refresh_aggregates
from tests.sinks import scenario

pytestmark = pytest.mark.integration

TABLES = [spec.name for spec in ALL_TABLES if spec.name != "alert_history"] + ["alert_history"]
KEYS = {spec.name: spec.key for spec in ALL_TABLES}
LATEST = discover()[-1].version


def write(engine: Engine, batch: Batch) -> dict[str, int]:
    async def go() -> dict[str, int]:
        async with await psycopg.AsyncConnection.connect(engine.url, autocommit=True) as conn:
            return await Writer(conn, engine.write_mode).write(batch)

    return asyncio.run(go())


def scenario_batch() -> Batch:
    batch = Batch(rollups=scenario.rollups(), alerts=scenario.alerts())
    for event in scenario.readings():
        batch.add_event(event)
    return batch


def snapshot(conn: psycopg.Connection) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for table in TABLES:
        order = ", ".join(KEYS[table])
        out[table] = conn.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
    return out


def refresh(conn: psycopg.Connection, engine: Engine) -> None:
    if engine.timescale:
        refresh_aggregates(conn)


def test_migrate_is_versioned_idempotent_and_refuses_newer(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="sinks.migrate"):
        first = migrate(engine.url)
    assert first.mode == engine.name
    assert first.applied == tuple(range(1, LATEST + 1))
    mode_lines = [r.getMessage() for r in caplog.records if "storage mode" in r.getMessage()]
    assert len(mode_lines) == 1
    assert ("TimescaleDB" if engine.timescale else "plain PostgreSQL") in mode_lines[0]

    second = migrate(engine.url)
    assert second.up_to_date and second.applied == ()
    assert "up to date" in second.message()

    with psycopg.connect(engine.url, autocommit=True) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
        assert versions == list(range(1, LATEST + 1))
        relations = {
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
        }
        expected = {*TABLES, "rollups_1h", "rollups_1d", "schema_migrations"} | {
            "kpi_night_lit_rate",
            "kpi_detector_online_rate",
            "kpi_heating_compliance",
            "kpi_waste_tonnes_daily",
            "kpi_alert_response",
        }
        assert expected <= relations
        if engine.timescale:
            check_timescale_objects(conn)
        conn.execute(
            "INSERT INTO schema_migrations (version, name, mode) VALUES (%s, %s, %s)",
            (LATEST + 1, "from_the_future", engine.name),
        )
    with pytest.raises(MigrationError, match=f"version {LATEST + 1}, newer"):
        migrate(engine.url)


def check_timescale_objects(conn: psycopg.Connection) -> None:
    hypertables = {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT hypertable_name, time_interval FROM timescaledb_information.dimensions"
        )
    }
    assert hypertables["gas_detector_readings"] == timedelta(hours=2)
    assert hypertables["streetlight_readings"] == timedelta(hours=4)
    assert hypertables["heating_station_readings"] == timedelta(hours=12)
    assert hypertables["fleet_gps_readings"] == timedelta(hours=12)
    assert hypertables["rollups_1m"] == timedelta(days=7)
    assert hypertables["alert_history"] == timedelta(days=30)
    caggs = {
        r[0]
        for r in conn.execute("SELECT view_name FROM timescaledb_information.continuous_aggregates")
    }
    assert caggs == {"rollups_1h", "rollups_1d"}

    jobs: dict[tuple[str, str], dict[str, Any]] = {
        (r[0], r[1]): r[2]
        for r in conn.execute(
            "SELECT proc_name, hypertable_name, config FROM timescaledb_information.jobs"
            " WHERE hypertable_name IS NOT NULL"
        )
    }
    readings = [
        "gas_detector_readings",
        "streetlight_readings",
        "heating_station_readings",
        "fleet_gps_readings",
    ]
    for table in readings:
        assert jobs[("policy_retention", table)]["drop_after"] == "30 days"
        assert jobs[("policy_compression", table)]["compress_after"] == "1 day"
    assert jobs[("policy_retention", "rollups_1m")]["drop_after"] == "90 days"
    # hourly and daily roll-ups are kept: no retention on them or their materialisations
    assert {k[1] for k in jobs if k[0] == "policy_retention"} == {*readings, "rollups_1m"}
    # TimescaleDB lists a continuous aggregate's refresh job under the view's name.
    refresh_1h = jobs[("policy_refresh_continuous_aggregate", "rollups_1h")]
    refresh_1d = jobs[("policy_refresh_continuous_aggregate", "rollups_1d")]
    # Back as far as the worker and sink accept late events, plus the bucket (issue 12).
    assert (refresh_1h["start_offset"], refresh_1h["end_offset"]) == ("7 days 01:00:00", "01:00:00")
    assert (refresh_1d["start_offset"], refresh_1d["end_offset"]) == ("8 days", "1 day")
    segments = {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT hypertable_name, attname FROM timescaledb_information.compression_settings"
            " WHERE segmentby_column_index = 1"
        )
    }
    assert segments == {
        "gas_detector_readings": "detector_id",
        "streetlight_readings": "light_id",
        "heating_station_readings": "station_id",
        "fleet_gps_readings": "truck_id",
    }


def test_store_replay_kpis_and_aggregates(engine: Engine) -> None:
    migrate(engine.url)
    counts = write(engine, scenario_batch())
    assert counts["gas_detector_readings"] == 4 and counts["alert_history"] == 7

    with psycopg.connect(engine.url, autocommit=True) as conn:
        refresh(conn, engine)
        before = snapshot(conn)
        assert len(before["gas_detector_readings"]) == 4
        assert len(before["streetlight_readings"]) == 2
        assert len(before["rollups_1m"]) == len(scenario.rollups())
        assert len(before["alert_history"]) == 7
        alerts = {r[0]: r for r in conn.execute("SELECT alert_id, state FROM alerts")}
        assert sorted(s for _, s in alerts.values()) == ["firing", "resolved", "resolved"]

        check_kpis(conn)
        check_aggregates_equal_sums(conn)

    # Replaying the same events, twice, changes nothing.
    write(engine, scenario_batch())
    write(engine, scenario_batch())
    with psycopg.connect(engine.url, autocommit=True) as conn:
        refresh(conn, engine)
        assert snapshot(conn) == before
        check_kpis(conn)


def check_kpis(conn: psycopg.Connection) -> None:
    d = scenario.D.date()
    lit = conn.execute(
        "SELECT day, district, lights_expected_lit, lights_lit, lit_rate, target, meets_target"
        " FROM kpi_night_lit_rate ORDER BY day"
    ).fetchall()
    assert [r[:4] for r in lit] == [
        (d, "shinan", 400, 393),
        (d + timedelta(days=1), "shinan", 50, 50),
    ]
    assert lit[0][4] == pytest.approx(393 / 400) and lit[0][5] == pytest.approx(0.98)
    assert [r[6] for r in lit] == [True, True]

    online = conn.execute(
        "SELECT bucket, district, detectors_known, detectors_online, online_rate"
        " FROM kpi_detector_online_rate"
    ).fetchall()
    assert len(online) == 1
    bucket, district, known, on, rate = online[0]
    assert (bucket, district) == (scenario.at(10), "shinan")
    assert (known, on, rate) == (pytest.approx(100), pytest.approx(97), pytest.approx(0.97))

    heating = conn.execute(
        "SELECT bucket, district, stations_reporting, stations_warm, warm_share"
        " FROM kpi_heating_compliance"
    ).fetchall()
    assert heating == [(scenario.at(10), "licang", 10.0, 8.0, pytest.approx(0.8))]

    waste = {
        (r[0], r[1], r[2]): r[3]
        for r in conn.execute(
            "SELECT day, district, waste_kind, tonnes FROM kpi_waste_tonnes_daily"
        )
    }
    assert set(waste) == {
        (d, "licheng", k) for k in ("kitchen", "recyclable", "other", "hazardous")
    }
    assert float(waste[(d, "licheng", "kitchen")]) == pytest.approx(1.5)
    assert float(waste[(d, "licheng", "recyclable")]) == pytest.approx(0.2)
    assert float(waste[(d, "licheng", "other")]) == pytest.approx(4.0)
    assert float(waste[(d, "licheng", "hazardous")]) == pytest.approx(0.02)

    response = {
        (r[0], r[1]): r[2:]
        for r in conn.execute(
            "SELECT district, rule, alerts_total, alerts_resolved, closure_rate,"
            " mean_time_to_ack_s, mean_time_to_resolve_s FROM kpi_alert_response"
        )
    }
    assert response[("shinan", "gas.lel_high")] == (2, 1, pytest.approx(0.5), 300.0, 1200.0)
    assert response[("licang", "heating.indoor_cold")] == (1, 1, 1.0, 60.0, 1860.0)


def check_aggregates_equal_sums(conn: psycopg.Connection) -> None:
    """rollups_1h / rollups_1d equal the sums recomputed from rollups_1m."""
    summed = (
        "count(*), sum(readings), sum(lights_expected_lit), sum(lights_lit),"
        " sum(detectors_known), sum(detectors_online), max(lel_max_pct), sum(stations_reporting),"
        " sum(stations_warm), sum(supply_temp_sum_c), min(indoor_temp_min_c),"
        " sum(load_kitchen_kg), sum(load_other_kg), sum(load_hazardous_kg), sum(km_travelled)"
    )
    columns = (
        "minutes, readings, lights_expected_lit, lights_lit, detectors_known, detectors_online,"
        " lel_max_pct, stations_reporting, stations_warm, supply_temp_sum_c, indoor_temp_min_c,"
        " load_kitchen_kg, load_other_kg, load_hazardous_kg, km_travelled"
    )
    for view, width in (("rollups_1h", "1 hour"), ("rollups_1d", "1 day")):
        expected = conn.execute(
            f"SELECT feed, district, date_bin(INTERVAL '{width}', bucket,"
            f" TIMESTAMPTZ '2000-01-01 00:00:00+00') AS b, {summed}"
            " FROM rollups_1m GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        ).fetchall()
        actual = conn.execute(
            f"SELECT feed, district, bucket, {columns} FROM {view} ORDER BY 1, 2, 3"
        ).fetchall()
        assert len(actual) == len(expected) > 0
        for got, want in zip(actual, expected, strict=True):
            assert got[:3] == want[:3]
            for g, w in zip(got[3:], want[3:], strict=True):
                assert (g is None and w is None) or math.isclose(float(g), float(w))
        ratios = conn.execute(
            f"SELECT lit_rate, lights_lit::float8 / lights_expected_lit FROM {view}"
            " WHERE feed = 'streetlight'"
        ).fetchall()
        assert all(a == pytest.approx(b) for a, b in ratios)
        means = conn.execute(
            f"SELECT supply_temp_mean_c, warm_share FROM {view} WHERE feed = 'heating'"
        ).fetchall()
        assert means == [(pytest.approx(81.0), pytest.approx(0.8))]


def test_roles_writer_writes_grafana_only_reads(engine: Engine) -> None:
    migrate(engine.url)
    with psycopg.connect(engine.url, autocommit=True) as conn:
        conn.execute("SET ROLE cityops_writer")
        conn.execute("SELECT 1 FROM rollups_1m LIMIT 1")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM alerts")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DROP TABLE alerts")
        conn.execute("RESET ROLE")
    # The writer role can run the real writer (including a new chunk on TimescaleDB).
    batch = scenario_batch()

    async def write_as_writer() -> None:
        async with await psycopg.AsyncConnection.connect(engine.url, autocommit=True) as aconn:
            await aconn.execute("SET ROLE cityops_writer")
            await Writer(aconn, engine.write_mode).write(batch)
            await aconn.execute("RESET ROLE")

    asyncio.run(write_as_writer())

    with psycopg.connect(engine.url, autocommit=True) as conn:
        refresh(conn, engine)
        conn.execute("SET ROLE cityops_grafana")
        for view in (
            "kpi_night_lit_rate",
            "kpi_detector_online_rate",
            "kpi_heating_compliance",
            "kpi_waste_tonnes_daily",
            "kpi_alert_response",
            "rollups_1h",
            "rollups_1d",
            "alerts",
            "alert_history",
            "gas_detector_readings",
            "schema_migrations",
        ):
            assert conn.execute(f"SELECT count(*) FROM {view}").fetchone() is not None
        assert conn.execute("SELECT count(*) FROM alerts").fetchone() == (3,)
        for statement in (
            "INSERT INTO alerts SELECT * FROM alerts",
            "UPDATE alerts SET state = 'resolved'",
            "DELETE FROM gas_detector_readings",
            "INSERT INTO rollups_1m (feed, district, bucket, bucket_end, readings)"
            " VALUES ('gas', 'x', now(), now(), 1)",
            "TRUNCATE alert_history",
            "CREATE TABLE grafana_was_here (x int)",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        conn.execute("RESET ROLE")
        assert conn.execute("SELECT count(*) FROM alerts").fetchone() == (3,)


def test_passwords_come_from_settings_not_the_repo(database_url: str) -> None:
    migrate(database_url, writer_password="w-secret", grafana_password="g-secret")
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT rolname, rolpassword IS NOT NULL FROM pg_authid"
            " WHERE rolname IN ('cityops_writer', 'cityops_grafana') ORDER BY 1"
        ).fetchall()
    assert rows == [("cityops_grafana", True), ("cityops_writer", True)]
    for path in Path(MIGRATIONS_DIR).glob("*.sql"):
        assert not re.search(r"PASSWORD\s+'", path.read_text(), re.IGNORECASE), path.name
