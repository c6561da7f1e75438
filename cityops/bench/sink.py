"""`cityops bench sink`: rows/s the writer stores in PostgreSQL on this machine.

The rows are megacity-shaped readings (gas, streetlight, heating, fleet in the
profile's proportions, DESIGN.md) built up front, so the figure is the
database path alone: COPY straight into the tables (staging + INSERT ... ON
CONFLICT when rows are already stored), one transaction per batch. A second
pass writes the same rows again (every row a duplicate), the cost of a replay.
The benchmark uses a scratch database on the server of `settings.database_url`
(created and dropped), or a private PostgreSQL when that is unset.

    python -m cityops.bench.sink --rows 500000 --batch-size 5000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from cityops.base.settings import Settings, load_settings
from sinks.migrate import migrate
from sinks.writer import Batch, Row, Writer

# Events per second of each feed in the megacity profile (DESIGN.md): 100k
# detectors / 60 s, 300k lights / 300 s, 13k stations / 60 s, 2.5k trucks / 10 s.
_MIX = (
    ("gas_detector_readings", 1667),
    ("streetlight_readings", 1000),
    ("heating_station_readings", 217),
    ("fleet_gps_readings", 250),
)


def make_rows(count: int, start: datetime | None = None) -> dict[str, list[Row]]:
    """`count` distinct readings split across the feeds, in each table's column order."""
    start = start or datetime(2026, 11, 22, tzinfo=UTC)
    total = sum(rate for _, rate in _MIX)
    out: dict[str, list[Row]] = {}
    for table, rate in _MIX:
        n = count * rate // total
        entities = max(1, rate * 60)  # a minute of the profile: every entity once
        rows: list[Row] = []
        for i in range(n):
            eid = f"{table[:3]}-{i % entities:06d}"
            ts = start + timedelta(seconds=60 * (i // entities), milliseconds=i % 997)
            district = f"d{i % 12:02d}"
            lat, lon = 36.0 + (i % 1000) / 1e4, 120.3 + (i % 777) / 1e4
            if table == "gas_detector_readings":
                rows.append((ts, eid, "restaurant", district, lat, lon, 1.5, "ok", 88.0))
            elif table == "streetlight_readings":
                rows.append((ts, eid, "c-1", "cab-1", district, lat, lon, "on", 95.0, 229.5, None))
            elif table == "heating_station_readings":
                rows.append(
                    (ts, eid, "e-1", district, lat, lon, 85.0, 55.0, 0.8, 0.3, 120.0, 20.5, -3.0)
                )
            else:
                rows.append((ts, eid, "r-1", district, lat, lon, 22.0, 90.0, True, 1200.0, "other"))
        out[table] = rows
    return out


def _batches(rows: dict[str, list[Row]], batch_size: int) -> Iterator[Batch]:
    # Interleave the feeds in each batch, as the sink sees them.
    total = sum(len(r) for r in rows.values())
    position = {table: 0 for table in rows}
    done = 0
    while done < total:
        batch = Batch()
        for table, table_rows in rows.items():
            share = max(1, batch_size * len(table_rows) // total)
            at = position[table]
            part = table_rows[at : at + share]
            position[table] = at + len(part)
            batch.add_rows(table, part)
        if not len(batch):
            break
        done += len(batch)
        yield batch


@contextmanager
def _scratch_database(settings: Settings) -> Iterator[str]:
    if settings.database_url is None:
        from cityops.stack.postgres import EmbeddedPostgres

        with tempfile.TemporaryDirectory(prefix="cityops-bench-") as tmp:
            Path(tmp).chmod(0o755)  # PostgreSQL runs as `nobody` under root
            pg = EmbeddedPostgres(Path(tmp)).start()
            try:
                yield pg.url
            finally:
                pg.stop()
        return
    name = f"cityops_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(settings.database_url, dbname=name)
    finally:
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


async def _write_all(writer: Writer, batches: list[Batch]) -> float:
    started = time.perf_counter()
    for batch in batches:
        await writer.write(batch)
    return time.perf_counter() - started


async def bench_sink(settings: Settings, rows: int, batch_size: int) -> dict[str, Any]:
    """Write `rows` readings in batches of `batch_size`; returns the figures."""
    data = make_rows(rows)
    batches = list(_batches(data, batch_size))
    stored = sum(len(b) for b in batches)
    with _scratch_database(settings) as url:
        await asyncio.to_thread(migrate, url)
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            writer = Writer(conn, settings.sink_write_mode)
            fresh_s = await _write_all(writer, batches)
            replay_s = await _write_all(writer, batches)
            cur = await conn.execute(
                "SELECT (SELECT count(*) FROM gas_detector_readings)"
                " + (SELECT count(*) FROM streetlight_readings)"
                " + (SELECT count(*) FROM heating_station_readings)"
                " + (SELECT count(*) FROM fleet_gps_readings)"
            )
            row = await cur.fetchone()
            in_db = int(row[0]) if row else 0
    return {
        "rows": stored,
        "rows_in_db": in_db,
        "batch_size": batch_size,
        "mode": settings.sink_write_mode,
        "seconds": round(fresh_s, 3),
        "rows_per_s": round(stored / fresh_s),
        "replay_seconds": round(replay_s, 3),
        "replay_rows_per_s": round(stored / replay_s),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cityops.bench.sink", description=__doc__)
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--batch-size", type=int, action="append", default=None)
    parser.add_argument("--mode", choices=["copy", "insert"], default=None)
    args = parser.parse_args(argv)
    settings = load_settings()
    if args.mode:
        settings = settings.model_copy(update={"sink_write_mode": args.mode})
    for size in args.batch_size or [5000]:
        print(json.dumps(asyncio.run(bench_sink(settings, args.rows, size))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
