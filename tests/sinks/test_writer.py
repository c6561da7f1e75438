"""The writer on plain PostgreSQL: both write modes agree, upserts converge, columns match."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from sinks.migrate import migrate
from sinks.writer import ALERTS, ALL_TABLES, READINGS, Batch, WriteMode, Writer
from tests.sinks import scenario

pytestmark = pytest.mark.integration


def write(url: str, batch: Batch, mode: WriteMode = "copy") -> None:
    async def go() -> None:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await Writer(conn, mode).write(batch)

    asyncio.run(go())


def rows(url: str, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def test_table_columns_are_the_model_fields(database_url: str) -> None:
    migrate(database_url)
    for spec in ALL_TABLES:
        columns = rows(
            database_url,
            "SELECT column_name FROM information_schema.columns"
            f" WHERE table_name = '{spec.name}' ORDER BY column_name",
        )
        assert sorted(c for (c,) in columns) == sorted(spec.columns), spec.name


def test_copy_and_insert_modes_store_the_same_rows(database_url: str) -> None:
    migrate(database_url)
    batch = Batch()
    for event in scenario.readings():
        batch.add_event(event)
    write(database_url, batch, "copy")
    before = rows(database_url, "SELECT * FROM streetlight_readings ORDER BY 1, 2")
    write(database_url, batch, "insert")
    assert rows(database_url, "SELECT * FROM streetlight_readings ORDER BY 1, 2") == before
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE streetlight_readings")
    write(database_url, batch, "insert")
    assert rows(database_url, "SELECT * FROM streetlight_readings ORDER BY 1, 2") == before


def test_alerts_newest_wins_and_history_keeps_every_event(database_url: str) -> None:
    migrate(database_url)
    events = scenario.alerts()
    # Deliver one event per batch, newest first: older events must not win.
    for event in reversed(events):
        write(database_url, Batch(alerts=[event]))
    state = dict(rows(database_url, "SELECT entity_id, state FROM alerts"))
    assert state == {"gd-1": "resolved", "gd-2": "firing", "hs-1": "resolved"}
    assert rows(database_url, "SELECT count(*) FROM alert_history") == [(len(events),)]


def test_a_re_emitted_window_with_more_readings_wins(database_url: str) -> None:
    migrate(database_url)
    full = scenario.rollup("gas", "shinan", scenario.at(10), readings=100, detectors_known=100)
    partial = full.model_copy(update={"readings": 40, "detectors_known": 40})
    write(database_url, Batch(rollups=[partial]))
    write(database_url, Batch(rollups=[full, partial]))
    write(database_url, Batch(rollups=[partial]))
    assert rows(database_url, "SELECT readings, detectors_known FROM rollups_1m") == [(100, 100)]


def test_a_failed_batch_stores_nothing(database_url: str) -> None:
    migrate(database_url)
    good = Batch()
    for event in scenario.readings():
        good.add_event(event)
    bad = Batch(rows={k: list(v) for k, v in good.rows.items()})
    bad.add_rows("gas_detector_readings", [(None,) * 9])  # NOT NULL violation

    async def go() -> None:
        # One connection and writer for both: the first batch's rollback also undid the
        # staging tables' CREATE, and the second batch must still find them.
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            writer = Writer(conn, "copy")
            with pytest.raises(psycopg.errors.NotNullViolation):
                await writer.write(bad)
            assert (
                await (await conn.execute("SELECT count(*) FROM streetlight_readings")).fetchone()
            ) == (0,)
            await writer.write(good)

    asyncio.run(go())
    assert rows(database_url, "SELECT count(*) FROM streetlight_readings") == [(2,)]


def test_rows_follow_the_column_order_and_wrap_dicts_as_jsonb() -> None:
    for event in scenario.readings(datetime(2026, 11, 22, 10, tzinfo=UTC)):
        spec = READINGS[type(event)]
        assert spec.row(event) == tuple(getattr(event, c) for c in spec.columns)
    alert = scenario.alerts()[0]
    row = ALERTS.row(alert)
    at = ALERTS.columns.index("labels")
    assert isinstance(row[at], Jsonb) and row[at].obj == alert.labels
    rest = [v for i, v in enumerate(row) if i != at]
    assert rest == [getattr(alert, c) for c in ALERTS.columns if c != "labels"]


def test_new_rows_are_copied_straight_in_and_replays_go_through_staging(
    database_url: str,
) -> None:
    migrate(database_url)
    first, overlap = Batch(), Batch()
    readings = scenario.readings()
    for event in readings:
        first.add_event(event)
    # a replay that also brings one new reading: the old rows are skipped, the new one lands
    newer = readings[0].model_copy(
        update={"ts": readings[0].ts + timedelta(hours=1, milliseconds=1)}
    )
    for event in [*readings, newer]:
        overlap.add_event(event)
    twice = Batch()
    for event in [newer, newer]:  # one message delivered twice within one batch
        twice.add_event(event.model_copy(update={"ts": newer.ts + timedelta(hours=1)}))

    async def go() -> list[int]:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            writer = Writer(conn, "copy")
            fallbacks = []
            for batch in (first, overlap, twice):
                await writer.write(batch)
                fallbacks.append(writer.copy_fallbacks)
            return fallbacks

    # first: every table straight in; overlap: one fallback per table of the replay
    assert asyncio.run(go()) == [0, len(first.rows), len(first.rows) + 1]
    table = READINGS[type(readings[0])].name
    key = READINGS[type(readings[0])].key[0]
    entity = getattr(readings[0], key)
    got = rows(database_url, f"SELECT count(*) FROM {table} WHERE {key} = %s", (entity,))
    assert got == [(sum(1 for e in readings if getattr(e, key, None) == entity) + 2,)]
