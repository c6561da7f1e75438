"""Write batches of readings, roll-ups and alerts to PostgreSQL, idempotently.

One batch = one transaction. Readings are COPied straight into their table
under a savepoint; when a row is already stored (a replay, a message delivered
twice) the COPY fails on the primary key, the savepoint undoes it, and the rows
go through COPY into a per-connection temporary staging table, then
`INSERT ... SELECT ... ON CONFLICT DO NOTHING` into the target, so a replayed
event hits the primary key and changes nothing.
`insert` mode sends parameterised multi-row `INSERT ... ON CONFLICT` instead,
for engines where COPY FROM STDIN breaks (PGlite closes the connection on it,
measured). Roll-ups and alerts are few (one per district-minute, one per alert
transition), so they always use the parameterised INSERT path.

SQL is parameterised; identifiers are composed with `psycopg.sql`.

Measured with `python -m cityops.bench.sink` (2 cores shared, PostgreSQL 15, megacity
feed mix, 500k rows): binary COPY + staging 95k rows/s at 5,000-row batches,
121k at 10,000, 141k at 50,000; a full replay (every row a conflict) 146-220k;
`insert` mode 19k rows/s at 5,000. Direct COPY first (2026-11-23, same
machine, 300k rows, 10,000-row batches, A/B twice): 244-247k rows/s fresh
against 131-146k through staging; a full replay costs 178-180k against 248-250k
(the failed COPY is wasted), and replays happen only after a restart.
"""

from __future__ import annotations

import itertools
import operator
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from pydantic import BaseModel

from streams import topics
from streams.models import (
    Alert,
    Event,
    FleetGpsFix,
    GasDetectorReading,
    HeatingStationReading,
    Rollup,
    StreetlightStatus,
)

WriteMode = Literal["copy", "insert"]
Row = tuple[Any, ...]

# PostgreSQL takes at most 65535 bind parameters per statement; 1000 rows per
# statement keeps plans cacheable and well under that for every table here.
_MAX_ROWS_PER_INSERT = 1000


@dataclass(frozen=True)
class TableSpec:
    name: str
    model: type[BaseModel]
    key: tuple[str, ...]
    time_column: str
    #: Columns in the model's field order (the table has exactly these).
    columns: tuple[str, ...] = field(init=False)
    _values: Callable[[BaseModel], Row] = field(init=False, repr=False, compare=False)
    _json_columns: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Computed once: `row` runs per stored reading, and building the column
        # tuple plus a per-value adapter there was 16 % of the sink's samples at
        # 15k events/s (py-spy, docs/benchmarks.md); attrgetter builds the tuple in C.
        columns = tuple(self.model.model_fields)
        object.__setattr__(self, "columns", columns)
        object.__setattr__(self, "_values", operator.attrgetter(*columns))
        json_columns = tuple(
            i for i, c in enumerate(columns) if _is_dict(self.model.model_fields[c].annotation)
        )
        object.__setattr__(self, "_json_columns", json_columns)

    def row(self, item: BaseModel) -> Row:
        values = self._values(item)
        if not self._json_columns:
            return values
        out = list(values)
        for i in self._json_columns:
            out[i] = Jsonb(out[i])  # dict fields (Alert.labels) are stored as jsonb
        return tuple(out)


def _is_dict(annotation: Any) -> bool:
    return annotation is dict or typing.get_origin(annotation) is dict


READINGS: dict[type[Event], TableSpec] = {
    GasDetectorReading: TableSpec(
        "gas_detector_readings", GasDetectorReading, ("detector_id", "ts"), "ts"
    ),
    StreetlightStatus: TableSpec(
        "streetlight_readings", StreetlightStatus, ("light_id", "ts"), "ts"
    ),
    HeatingStationReading: TableSpec(
        "heating_station_readings", HeatingStationReading, ("station_id", "ts"), "ts"
    ),
    FleetGpsFix: TableSpec("fleet_gps_readings", FleetGpsFix, ("truck_id", "ts"), "ts"),
}
#: The readings table of each feed topic (unprefixed name).
TABLE_BY_TOPIC: dict[str, TableSpec] = {
    topics.GAS_DETECTOR: READINGS[GasDetectorReading],
    topics.STREETLIGHT_STATUS: READINGS[StreetlightStatus],
    topics.HEATING_STATION: READINGS[HeatingStationReading],
    topics.FLEET_GPS: READINGS[FleetGpsFix],
}
READINGS_BY_NAME: dict[str, TableSpec] = {spec.name: spec for spec in READINGS.values()}
ROLLUPS_1M = TableSpec("rollups_1m", Rollup, ("feed", "district", "bucket"), "bucket")
ALERTS = TableSpec("alerts", Alert, ("alert_id",), "updated_at")
ALERT_HISTORY = TableSpec("alert_history", Alert, ("alert_id", "state", "updated_at"), "updated_at")
ALL_TABLES: tuple[TableSpec, ...] = (*READINGS.values(), ROLLUPS_1M, ALERTS, ALERT_HISTORY)

_STATE_RANK = {"firing": 0, "acknowledged": 1, "resolved": 2}


@dataclass
class Batch:
    """What one transaction writes: reading rows per table, roll-ups, alert events."""

    rows: dict[str, list[Row]] = field(default_factory=dict)
    rollups: list[Rollup] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)

    def add_event(self, event: Event) -> None:
        spec = READINGS[type(event)]
        self.rows.setdefault(spec.name, []).append(spec.row(event))

    def add_row(self, table: str, row: Row) -> None:
        """One row already in the column order of `READINGS_BY_NAME[table].columns`."""
        self.rows.setdefault(table, []).append(row)

    def add_rows(self, table: str, rows: Iterable[Row]) -> None:
        """Rows already in the column order of `READINGS_BY_NAME[table].columns`."""
        self.rows.setdefault(table, []).extend(rows)

    def __len__(self) -> int:
        return sum(len(r) for r in self.rows.values()) + len(self.rollups) + len(self.alerts)

    def extend(self, later: Batch) -> None:
        """Append everything of `later` (read after this batch), keeping the order."""
        for table, rows in later.rows.items():
            self.rows.setdefault(table, []).extend(rows)
        self.rollups.extend(later.rollups)
        self.alerts.extend(later.alerts)

    def times(self) -> dict[str, list[datetime]]:
        """Event times per table, for the end-to-end latency metric."""
        out: dict[str, list[datetime]] = {}
        for table, rows in self.rows.items():
            at = READINGS_BY_NAME[table].columns.index("ts")
            out[table] = [row[at] for row in rows]
        if self.rollups:
            out[ROLLUPS_1M.name] = [r.bucket_end for r in self.rollups]
        if self.alerts:
            out[ALERTS.name] = [a.updated_at for a in self.alerts]
        return out


def _newest_alerts(alerts: Sequence[Alert]) -> list[Alert]:
    # One row per alert_id: an upsert cannot touch the same row twice in a statement.
    best: dict[str, Alert] = {}
    for alert in alerts:
        seen = best.get(alert.alert_id)
        if seen is None or (alert.updated_at, _STATE_RANK[alert.state]) > (
            seen.updated_at,
            _STATE_RANK[seen.state],
        ):
            best[alert.alert_id] = alert
    return list(best.values())


def _fullest_rollups(rollups: Sequence[Rollup]) -> list[Rollup]:
    # A worker restart can re-emit a window; the record that saw more readings wins.
    best: dict[tuple[str, str, datetime], Rollup] = {}
    for rollup in rollups:
        key = (rollup.feed, rollup.district, rollup.bucket)
        seen = best.get(key)
        if seen is None or rollup.readings > seen.readings:
            best[key] = rollup
    return list(best.values())


def _cols(columns: Sequence[str]) -> sql.Composed:
    return sql.SQL(", ").join(map(sql.Identifier, columns))


def _conflict_do_nothing(spec: TableSpec) -> sql.Composed:
    return sql.SQL("ON CONFLICT ({}) DO NOTHING").format(_cols(spec.key))


def _conflict_rollups() -> sql.Composed:
    rest = [c for c in ROLLUPS_1M.columns if c not in ROLLUPS_1M.key]
    return sql.SQL(
        "ON CONFLICT ({}) DO UPDATE SET {} WHERE EXCLUDED.readings > {}.readings"
    ).format(
        _cols(ROLLUPS_1M.key),
        sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in rest),
        sql.Identifier(ROLLUPS_1M.name),
    )


def _conflict_alerts() -> sql.Composed:
    # Newer updated_at wins; on a tie the later lifecycle state wins, so replays and
    # reordered deliveries converge on the same row.
    rest = [c for c in ALERTS.columns if c != "alert_id"]
    rank = "array_position(ARRAY['firing', 'acknowledged', 'resolved'], {}.state)"
    return sql.SQL(
        "ON CONFLICT (alert_id) DO UPDATE SET {} "
        "WHERE (EXCLUDED.updated_at, " + rank + ") > ({}.updated_at, " + rank + ")"
    ).format(
        sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in rest),
        sql.Identifier("excluded"),
        sql.Identifier(ALERTS.name),
        sql.Identifier(ALERTS.name),
    )


class Writer:
    """Writes `Batch`es over one async connection; one transaction per batch."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], mode: WriteMode = "copy") -> None:
        self.conn = conn
        self.mode = mode
        self._types: dict[str, list[str]] = {}  # table -> column types, for binary COPY
        self._queries: dict[tuple[str, int], bytes] = {}
        #: Batches whose direct COPY met a stored row and went through staging.
        self.copy_fallbacks = 0

    async def write(self, batch: Batch) -> dict[str, int]:
        """Write and COMMIT `batch`; returns rows per table (duplicates included).

        Raises `psycopg.Error` with the transaction rolled back: nothing of the
        batch is stored, and it can be retried as it is.
        """
        counts: dict[str, int] = {}
        async with self.conn.transaction(), self.conn.cursor() as cur:
            for table, rows in batch.rows.items():
                if not rows:
                    continue
                spec = READINGS_BY_NAME[table]
                if self.mode == "copy":
                    await self._copy(cur, spec, rows)
                else:
                    await self._insert(cur, spec, rows, _conflict_do_nothing(spec))
                counts[table] = len(rows)
            if batch.rollups:
                rows = [ROLLUPS_1M.row(r) for r in _fullest_rollups(batch.rollups)]
                await self._insert(cur, ROLLUPS_1M, rows, _conflict_rollups())
                counts[ROLLUPS_1M.name] = len(batch.rollups)
            if batch.alerts:
                rows = [ALERTS.row(a) for a in _newest_alerts(batch.alerts)]
                await self._insert(cur, ALERTS, rows, _conflict_alerts())
                history = [ALERT_HISTORY.row(a) for a in batch.alerts]
                await self._insert(cur, ALERT_HISTORY, history, _conflict_do_nothing(ALERT_HISTORY))
                counts[ALERTS.name] = len(batch.alerts)
                counts[ALERT_HISTORY.name] = len(batch.alerts)
        return counts

    async def _insert(
        self,
        cur: psycopg.AsyncCursor[Any],
        spec: TableSpec,
        rows: Sequence[Row],
        conflict: sql.Composed,
    ) -> None:
        width = len(spec.columns)
        per_statement = min(_MAX_ROWS_PER_INSERT, 65535 // width)
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            query = self._insert_query(spec, len(chunk), conflict)
            await cur.execute(query, list(itertools.chain.from_iterable(chunk)))

    def _insert_query(self, spec: TableSpec, nrows: int, conflict: sql.Composed) -> bytes:
        # Composed once per (table, rows) and cached as bytes: composing 1000 rows of
        # placeholders per statement costs more than the statement's parameters.
        cache_key = (spec.name, nrows)
        query = self._queries.get(cache_key)
        if query is None:
            one = sql.SQL("({})").format(sql.SQL(", ").join(sql.Placeholder() * len(spec.columns)))
            query = (
                sql.SQL("INSERT INTO {} ({}) VALUES {} {}")
                .format(
                    sql.Identifier(spec.name),
                    _cols(spec.columns),
                    sql.SQL(", ").join([one] * nrows),
                    conflict,
                )
                .as_bytes(self.conn)
            )
            self._queries[cache_key] = query
        return query

    async def _copy(
        self, cur: psycopg.AsyncCursor[Any], spec: TableSpec, rows: Sequence[Row]
    ) -> None:
        types = await self._column_types(cur, spec)
        # First straight into the table, under a savepoint: new readings are the
        # usual case, and the staging path costs PostgreSQL a second write of every
        # row (COPY into staging, then INSERT ... SELECT). A duplicate (a replay
        # after a restart, a message delivered twice) makes the COPY fail on the
        # primary key; the savepoint undoes the partial COPY and the staging path
        # below then skips the duplicates.
        try:
            async with self.conn.transaction():
                await self._copy_into(cur, sql.Identifier(spec.name), spec, types, rows)
            return
        except psycopg.errors.UniqueViolation:
            self.copy_fallbacks += 1
        stage = sql.Identifier(f"_stage_{spec.name}")
        # A temporary table is private to this connection and never WAL-logged (so it
        # is already "unlogged"); ON COMMIT DELETE ROWS empties it at each commit.
        # IF NOT EXISTS on every batch: a rolled-back first batch also rolls back
        # the CREATE, so "created once" cannot be remembered here.
        await cur.execute(
            sql.SQL(
                "CREATE TEMPORARY TABLE IF NOT EXISTS {} (LIKE {}) ON COMMIT DELETE ROWS"
            ).format(stage, sql.Identifier(spec.name))
        )
        await self._copy_into(cur, stage, spec, types, rows)
        columns = _cols(spec.columns)
        await cur.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} {}").format(
                sql.Identifier(spec.name), columns, columns, stage, _conflict_do_nothing(spec)
            )
        )

    async def _column_types(self, cur: psycopg.AsyncCursor[Any], spec: TableSpec) -> list[str]:
        types = self._types.get(spec.name)
        if types is None:
            await cur.execute(
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"
                " WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
                (spec.name,),
            )
            by_name = {name: kind for name, kind in await cur.fetchall()}
            types = [by_name[c] for c in spec.columns]
            self._types[spec.name] = types
        return types

    async def _copy_into(
        self,
        cur: psycopg.AsyncCursor[Any],
        table: sql.Identifier,
        spec: TableSpec,
        types: list[str],
        rows: Sequence[Row],
    ) -> None:
        async with cur.copy(
            sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(table, _cols(spec.columns))
        ) as copy:
            copy.set_types(types)
            for row in rows:
                await copy.write_row(row)
