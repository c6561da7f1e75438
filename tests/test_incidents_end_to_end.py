"""Scripted incidents for every rule through the real broker, Faust worker and sink.

Asserts exactly the expected alerts (rule, entity, severity and state sequence)
on alerts.v1 and in the database, no alert on a calm run of the same length,
roll-ups in the database equal to values recomputed from the stored readings,
and every dashboard SQL query running as the read-only Grafana role.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

import psycopg
import pytest

from cityops.base.city.profiles import load_profile
from cityops.base.settings import Settings
from dashboards.queries import SqlQuery, iter_sql_targets
from sensors_sim.incidents import Incident
from sensors_sim.simulation import Simulation
from sinks.migrate import migrate
from sinks.recompute import recompute_rollups
from streams import topics
from streams.models import (
    Alert,
    FleetGpsFix,
    GasDetectorReading,
    HeatingStationReading,
    Rollup,
    StreetlightStatus,
)
from tests.fixtures.db import grafana_rows
from tests.fixtures.grafana_macros import expand
from tests.fixtures.incidents import (
    DURATION_S,
    every_rule_incidents,
    expected_outcome,
    morning_start,
    outcome_of,
)
from tests.fixtures.pipeline import (
    group_caught_up,
    produce,
    read_topic,
    running_pipeline,
    table_counts,
    wait_until,
)
from tests.fixtures.rollup_compare import rollup_differences

pytestmark = pytest.mark.integration

READINGS = {
    topics.GAS_DETECTOR: ("gas_detector_readings", GasDetectorReading),
    topics.STREETLIGHT_STATUS: ("streetlight_readings", StreetlightStatus),
    topics.HEATING_STATION: ("heating_station_readings", HeatingStationReading),
    topics.FLEET_GPS: ("fleet_gps_readings", FleetGpsFix),
}


def events_of(sim: Simulation) -> Iterator[tuple[str, bytes, bytes]]:
    return ((e.topic, e.key, e.value) for e in sim.events(DURATION_S))


def alerts_on_topic(settings: Settings) -> list[Alert]:
    records = read_topic(settings.kafka_bootstrap or "", settings.topic(topics.ALERTS))
    return [Alert.model_validate_json(r.value) for r in records]


def run_incidents(settings: Settings, incidents: Sequence[Incident]) -> tuple[Simulation, dict]:
    profile = load_profile("small")
    sim = Simulation(profile, seed=42, start=morning_start(), incidents=incidents)
    return sim, asyncio.run(produce(settings, events_of(sim)))


def test_every_rule_fires_and_resolves_exactly_as_scripted(
    stack_settings: Settings, created_topics: list[str]
) -> None:
    assert stack_settings.database_url and stack_settings.kafka_bootstrap
    url = stack_settings.database_url
    migrate(url)
    profile = load_profile("small")
    start = morning_start()
    incidents = every_rule_incidents(profile)
    expected = expected_outcome(incidents, profile, start)
    assert {rule for rule, _ in expected} == {
        "gas.lel_high",
        "gas.detector_fault",
        "gas.detector_offline",
        "streetlight.dark",
        "streetlight.circuit_outage",
        "streetlight.day_burning",
        "streetlight.lit_rate_low",
        "heating.indoor_cold",
        "heating.pressure_drop",
        "heating.supply_temp_low",
        "heating.station_offline",
        "fleet.off_route",
        "fleet.geofence_violation",
        "fleet.idle",
        "fleet.speeding",
    }, "the script must exercise every rule of DESIGN.md"

    with running_pipeline(stack_settings) as procs:
        sim = Simulation(profile, seed=42, start=start, incidents=incidents)
        sent = asyncio.run(produce(stack_settings, events_of(sim)))
        on_topic = wait_until(
            lambda: alerts_on_topic(stack_settings),
            lambda alerts: outcome_of(alerts) == expected,
            timeout=180,
            what="the scripted alerts on alerts.v1",
            procs=procs,
        )
        want_rows = {READINGS[t][0]: n for t, n in sent.items()}
        wait_until(
            lambda: table_counts(url, tuple(want_rows)),
            lambda c: c == want_rows,
            timeout=120,
            what="all readings stored",
            procs=procs,
        )
        wait_until(
            lambda: table_counts(url, ("alert_history",))["alert_history"],
            lambda n: n == len(on_topic),
            timeout=60,
            what="alert history",
            procs=procs,
        )
        # Roll-ups trail the readings by a window; wait until the worker and sink are idle.
        wait_until(
            lambda: group_caught_up(
                stack_settings.kafka_bootstrap or "",
                stack_settings.sink_group,
                [stack_settings.topic(t) for t in (*topics.FEED_TOPICS, topics.ROLLUPS)],
            ),
            bool,
            timeout=60,
            what="the sink to catch up",
            procs=procs,
        )

    # exactly the expected alerts, in the database too
    assert outcome_of(on_topic) == expected
    with psycopg.connect(url) as conn:
        current = conn.execute("SELECT rule, entity_id, state FROM alerts").fetchall()
        history = conn.execute(
            "SELECT rule, entity_id, severity, state FROM alert_history ORDER BY updated_at, state"
        ).fetchall()
    assert {(r, e): s for r, e, s in current} == {k: "resolved" for k in expected}
    assert sorted(history) == sorted((a.rule, a.entity_id, a.severity, a.state) for a in on_topic)

    # roll-ups in the database equal a recomputation from the stored readings
    stored, rollups = load_readings_and_rollups(url)
    assert len(rollups) > 200
    recomputed = recompute_rollups(stored, profile, {r.bucket for r in rollups})
    assert rollup_differences(rollups, recomputed, rel=1e-6, abs_=1e-6) == []

    # every dashboard query runs as the read-only role over this run
    check_dashboard_queries(url, start, start + timedelta(seconds=DURATION_S))


def load_readings_and_rollups(url: str) -> tuple[dict[str, list], list[Rollup]]:
    stored: dict[str, list] = {}
    with psycopg.connect(url) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        for topic, (table, model) in READINGS.items():
            rows = cur.execute(
                psycopg.sql.SQL("SELECT * FROM {} ORDER BY ts").format(
                    psycopg.sql.Identifier(table)
                )
            ).fetchall()
            stored[topic] = [model.model_validate(row, strict=False) for row in rows]
        rows = cur.execute("SELECT * FROM rollups_1m ORDER BY bucket, feed, district").fetchall()
    fields = set(Rollup.model_fields)
    return stored, [
        Rollup.model_validate({k: v for k, v in r.items() if k in fields}) for r in rows
    ]


def check_dashboard_queries(url: str, time_from: datetime, time_to: datetime) -> None:
    for lang in ("en", "zh"):
        queries: list[SqlQuery] = iter_sql_targets(lang)
        with psycopg.connect(url) as conn:
            conn.execute("SET TIME ZONE 'UTC'")
            values: dict[str, list[str]] = {}
            for name in ("district", "enterprise", "route"):
                query = next(q for q in queries if q.panel == f"${name}")
                rows = grafana_rows(
                    conn, expand(query.sql, time_from, time_to, values, timescaledb=False)
                )
                values[name] = [str(row[0]) for row in rows]
                assert values[name], f"variable ${name} has no options"
            empty = []
            for query in queries:
                # As Grafana sends it for the panel, from a data source without
                # `timescaledb: true` (this database is plain PostgreSQL).
                sql = expand(
                    query.sql,
                    time_from,
                    time_to,
                    values,
                    max_data_points=query.max_data_points,
                    min_interval=query.min_interval,
                    timescaledb=False,
                )
                if not grafana_rows(conn, sql) and query.expects_rows:
                    empty.append(f"{query.dashboard}: {query.panel}")
        assert not empty, f"{lang}: panels that should show data returned no rows: {empty}"


def test_a_calm_city_raises_no_alert(stack_settings: Settings, created_topics: list[str]) -> None:
    with running_pipeline(stack_settings, parts=("worker",)) as procs:
        _, sent = run_incidents(stack_settings, [])
        assert sum(sent.values()) > 30_000
        wait_until(
            lambda: group_caught_up(
                stack_settings.kafka_bootstrap or "",
                stack_settings.worker_id,
                [stack_settings.topic(t) for t in topics.FEED_TOPICS],
            ),
            bool,
            timeout=180,
            what="the worker to process the calm run",
            procs=procs,
        )
        rollups = read_topic(
            stack_settings.kafka_bootstrap or "", stack_settings.topic(topics.ROLLUPS)
        )
    assert len(rollups) > 200, "the worker processed the run"
    assert alerts_on_topic(stack_settings) == []
