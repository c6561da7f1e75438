"""Every SQL query of the dashboards runs against the real schema as the read-only role.

The database is migrated with `sinks.migrate` and filled with a small, fixed city
(two districts, every feed, open and resolved alerts) covering the last hour;
each query is expanded as Grafana would (macros, variables from the variable
queries themselves) and run as `cityops_grafana` in a read-only transaction.
The lead's end-to-end test runs the same `iter_sql_targets` after a simulated run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from dashboards.queries import SqlQuery, iter_sql_targets
from sinks.migrate import migrate
from tests.fixtures.db import grafana_rows
from tests.fixtures.grafana_macros import expand

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
FROM = NOW - timedelta(hours=1)

SEED = """
INSERT INTO gas_detector_readings
SELECT d.id, m, d.site, d.district, d.lat, d.lon,
       CASE WHEN d.id = 'GD-2' AND m > %(now)s - interval '5 minutes' THEN 30 ELSE 2 END,
       d.status, 80
FROM (VALUES ('GD-1', 'restaurant', '市南区', 36.06, 120.38, 'ok', 0),
             ('GD-2', 'pipeline', '崂山区', 36.10, 120.46, 'ok', 0),
             ('GD-3', 'residential', '市南区', 36.07, 120.40, 'fault', 20))
     AS d (id, site, district, lat, lon, status, silent_min)
CROSS JOIN generate_series(%(from)s, %(now)s, interval '1 minute') AS m
WHERE m <= %(now)s - make_interval(mins => d.silent_min);

INSERT INTO streetlight_readings
SELECT 'SL-' || i, m, 'C-1', 'CAB-1', '市南区', 36.06 + i / 1000.0, 120.38,
       CASE WHEN i = 1 THEN 'off' ELSE 'on' END, CASE WHEN i = 1 THEN 0 ELSE 120 END, 220,
       CASE WHEN i = 1 THEN 'lamp' END
FROM generate_series(1, 4) AS i
CROSS JOIN generate_series(%(from)s, %(now)s, interval '5 minutes') AS m;

INSERT INTO heating_station_readings
SELECT s.id, m, s.ent, s.district, 36.08, 120.39, 75, 50, 0.6, 0.3, 120, s.indoor, -3
FROM (VALUES ('HS-1', 'ENT-1', '市南区', 20.5), ('HS-2', 'ENT-2', '崂山区', 16.5))
     AS s (id, ent, district, indoor)
CROSS JOIN generate_series(%(from)s, %(now)s, interval '1 minute') AS m;

INSERT INTO fleet_gps_readings
SELECT t.id, m, t.route, t.district, 36.05 + extract(minute FROM m) / 1000.0, 120.37,
       25, 90, true, 1500, t.kind
FROM (VALUES ('TR-1', 'R01', '市南区', 'kitchen'), ('TR-2', 'R02', '崂山区', 'other'))
     AS t (id, route, district, kind)
CROSS JOIN generate_series(%(from)s, %(now)s, interval '10 seconds') AS m;

INSERT INTO rollups_1m (feed, district, bucket, bucket_end, readings,
    detectors_reporting, detectors_known, detectors_online, detector_online_rate,
    lel_max_pct, detectors_alarming,
    lights_reporting, lights_expected_lit, lights_lit, lit_rate, power_w_sum,
    stations_reporting, supply_temp_sum_c, return_temp_sum_c, supply_temp_mean_c,
    return_temp_mean_c, indoor_temp_min_c, stations_warm, warm_share,
    trucks_active, km_travelled, load_kitchen_kg, load_recyclable_kg, load_other_kg,
    load_hazardous_kg)
SELECT f.feed, d.district, m, m + interval '1 minute', 10,
       CASE WHEN f.feed = 'gas' THEN 2 END, CASE WHEN f.feed = 'gas' THEN 2 END,
       CASE WHEN f.feed = 'gas' THEN 2 END, CASE WHEN f.feed = 'gas' THEN 1.0 END,
       CASE WHEN f.feed = 'gas' THEN 3.5 END, CASE WHEN f.feed = 'gas' THEN 0 END,
       CASE WHEN f.feed = 'streetlight' THEN 4 END, CASE WHEN f.feed = 'streetlight' THEN 4 END,
       CASE WHEN f.feed = 'streetlight' THEN 3 END,
       CASE WHEN f.feed = 'streetlight' THEN 0.75 END,
       CASE WHEN f.feed = 'streetlight' THEN 360 END,
       CASE WHEN f.feed = 'heating' THEN 1 END, CASE WHEN f.feed = 'heating' THEN 75 END,
       CASE WHEN f.feed = 'heating' THEN 50 END, CASE WHEN f.feed = 'heating' THEN 75 END,
       CASE WHEN f.feed = 'heating' THEN 50 END, CASE WHEN f.feed = 'heating' THEN 17.5 END,
       CASE WHEN f.feed = 'heating' THEN 0 END, CASE WHEN f.feed = 'heating' THEN 0.0 END,
       CASE WHEN f.feed = 'fleet' THEN 1 END, CASE WHEN f.feed = 'fleet' THEN 0.4 END,
       CASE WHEN f.feed = 'fleet' THEN 20 END, CASE WHEN f.feed = 'fleet' THEN 5 END,
       CASE WHEN f.feed = 'fleet' THEN 30 END, CASE WHEN f.feed = 'fleet' THEN 0 END
FROM (VALUES ('gas'), ('streetlight'), ('heating'), ('fleet')) AS f (feed)
CROSS JOIN (VALUES ('市南区'), ('崂山区')) AS d (district)
CROSS JOIN generate_series(date_trunc('minute', %(from)s::timestamptz),
                           %(now)s - interval '1 minute', interval '1 minute') AS m;

INSERT INTO alerts VALUES
 ('gas.lel_high:GD-2:1', 'gas.lel_high', 'major', 'firing', 'gas_detector', 'GD-2', '崂山区',
  36.10, 120.46, %(now)s - interval '5 minutes', %(now)s - interval '5 minutes', NULL, 30, 25,
  'LEL 30 %%', 'https://example.invalid/runbooks/gas.lel_high.md'),
 ('streetlight.dark:SL-1:1', 'streetlight.dark', 'minor', 'acknowledged', 'streetlight',
  'SL-1', '市南区', 36.061, 120.38, %(now)s - interval '40 minutes',
  %(now)s - interval '30 minutes', NULL, 0, NULL, 'dark', 'r/streetlight.dark.md'),
 ('streetlight.circuit_outage:C-1:1', 'streetlight.circuit_outage', 'major', 'firing',
  'circuit', 'C-1', '市南区', 36.062, 120.38, %(now)s - interval '20 minutes',
  %(now)s - interval '20 minutes', NULL, 0.5, 0.5, 'outage', 'r/circuit.md'),
 ('fleet.off_route:TR-1:1', 'fleet.off_route', 'minor', 'resolved', 'truck', 'TR-1',
  '市南区', 36.05, 120.37, %(now)s - interval '30 minutes', %(now)s - interval '25 minutes',
  %(now)s - interval '25 minutes', 400, 300, 'off route', 'r/fleet.off_route.md'),
 ('heating.indoor_cold:HS-2:1', 'heating.indoor_cold', 'major', 'firing', 'station', 'HS-2',
  '崂山区', 36.08, 120.39, %(now)s - interval '50 minutes', %(now)s - interval '50 minutes',
  NULL, 16.5, 18, 'cold', 'r/heating.indoor_cold.md'),
 ('fleet.speeding:TR-2:1', 'fleet.speeding', 'warning', 'firing', 'truck', 'TR-2', '崂山区',
  36.05, 120.37, %(now)s - interval '10 minutes', %(now)s - interval '10 minutes', NULL, 58,
  50, 'speeding', 'r/fleet.speeding.md');

INSERT INTO alert_history SELECT * FROM alerts;
INSERT INTO alert_history
SELECT alert_id, rule, severity, 'acknowledged', entity_type, entity_id, district, lat, lon,
       started_at, started_at + interval '2 minutes', NULL, value, threshold, summary, runbook
FROM alerts WHERE state IN ('acknowledged', 'resolved');
"""


def _seeded(url: str) -> Iterator[psycopg.Connection]:
    migrate(url)
    # No prepared statements: PGlite serves every connection from one backend.
    with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
        for statement in filter(str.strip, SEED.split(";\n")):
            conn.execute(statement, {"now": NOW, "from": FROM})
    with psycopg.connect(url, prepare_threshold=None) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        conn.commit()
        yield conn


@pytest.fixture
def city_db(database_url: str) -> Iterator[psycopg.Connection]:
    """The seeded city on plain PostgreSQL 15."""
    yield from _seeded(database_url)


@pytest.fixture
def city_db_timescale(timescale_url: str) -> Iterator[psycopg.Connection]:
    """The seeded city on TimescaleDB (PGlite): what the provisioned Grafana reads."""
    yield from _seeded(timescale_url)


def _variables(
    conn: psycopg.Connection, queries: list[SqlQuery], *, timescaledb: bool = False
) -> dict[str, list[str]]:
    """Resolve the template variables like Grafana: run each variable query, select All."""
    values: dict[str, list[str]] = {}
    for name in ("district", "enterprise", "route"):  # dependency order
        query = next(q for q in queries if q.panel == f"${name}")
        rows = grafana_rows(conn, expand(query.sql, FROM, NOW, values, timescaledb=timescaledb))
        values[name] = [str(row[0]) for row in rows]
        assert values[name], f"variable ${name} has no options"
    return values


def test_every_sql_target_runs_as_the_grafana_role(city_db: psycopg.Connection) -> None:
    queries = iter_sql_targets("zh")
    variables = _variables(city_db, queries)
    assert variables["district"] == sorted(["市南区", "崂山区"])
    empty = []
    for query in queries:
        # A data source without `timescaledb: true` (plain PostgreSQL has no time_bucket).
        sql = _as_grafana_sends(query, variables, FROM, timescaledb=False)
        if not grafana_rows(city_db, sql):
            empty.append((query.dashboard, query.panel))
    # The seeded city covers every panel, including those a short simulated run may not.
    assert not empty, f"queries without rows: {empty}"


def _as_grafana_sends(
    query: SqlQuery, variables: dict[str, list[str]], start: datetime, *, timescaledb: bool
) -> str:
    """The query expanded for its panel: maxDataPoints and interval set $__interval."""
    return expand(
        query.sql,
        start,
        NOW,
        variables,
        max_data_points=query.max_data_points,
        min_interval=query.min_interval,
        timescaledb=timescaledb,
    )


def test_every_sql_target_runs_on_timescaledb_as_grafana_sends_it(
    city_db_timescale: psycopg.Connection,
) -> None:
    """The provisioned data source (timescaledb: true) over the dashboards' default
    6 h: `$__timeGroupAlias` becomes time_bucket('60.000s', ...) on the per-minute
    panels and time_bucket('300.000s', ...) on the alert panels (issue 12)."""
    queries = iter_sql_targets("en")
    variables = _variables(city_db_timescale, queries, timescaledb=True)
    start = NOW - timedelta(hours=6)
    empty, buckets = [], set()
    for query in queries:
        sql = _as_grafana_sends(query, variables, start, timescaledb=True)
        buckets.update(re.findall(r"time_bucket\('([0-9.]+s)'", sql))
        if not grafana_rows(city_db_timescale, sql):
            empty.append((query.dashboard, query.panel))
    assert not empty, f"queries without rows: {empty}"
    assert buckets == {"60.000s", "300.000s"}


def test_grafana_role_cannot_write(city_db: psycopg.Connection) -> None:
    with pytest.raises(AssertionError, match=r"read-only|permission denied"):
        grafana_rows(city_db, "UPDATE alerts SET state = 'resolved'")


def test_open_alerts_table_shows_the_most_urgent_first(city_db: psycopg.Connection) -> None:
    queries = iter_sql_targets("en")
    variables = _variables(city_db, queries)
    table = next(q for q in queries if q.dashboard == "alerts" and q.panel == "Open alerts")
    rows = grafana_rows(city_db, expand(table.sql, FROM, NOW, variables))
    # the seed's open fleet alert (a warning) was added for the fleet dashboard's open-alert
    # table (issue 16.3): it sorts after the minor one
    assert [row[0] for row in rows] == ["major", "major", "major", "minor", "warning"]
    assert rows[3][-1] == "r/streetlight.dark.md"  # runbook column, linked in the panel
