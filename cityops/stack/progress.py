"""What `cityops up` prints while it runs: rows growing per table, alerts, dead letters."""

from __future__ import annotations

import contextlib
import time

import psycopg
from rich.console import Console
from rich.table import Table

from cityops.base.settings import Settings

TABLES = (
    "gas_detector_readings",
    "streetlight_readings",
    "heating_station_readings",
    "fleet_gps_readings",
    "rollups_1m",
    "alerts",
    "alert_history",
)


class ProgressView:
    """Every few seconds, one table of row counts and rates (reads only)."""

    def __init__(self, settings: Settings, every_s: float = 5.0) -> None:
        self.settings = settings
        self.every_s = every_s
        self.console = Console()
        self._last: dict[str, int] = {}
        self._last_at = 0.0
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None

    def _counts(self) -> dict[str, int]:
        if self._conn is None:
            assert self.settings.database_url
            self._conn = psycopg.connect(self.settings.database_url, autocommit=True)
        counts = {}
        for table in TABLES:
            try:
                row = self._conn.execute(
                    psycopg.sql.SQL("SELECT count(*) FROM {}").format(psycopg.sql.Identifier(table))
                ).fetchone()
                counts[table] = int(str(row[0])) if row else 0
            except psycopg.errors.UndefinedTable:
                counts[table] = 0
        return counts

    def tick(self) -> None:
        now = time.monotonic()
        if now - self._last_at < self.every_s:
            return
        try:
            counts = self._counts()
        except psycopg.OperationalError:
            return
        elapsed = now - self._last_at if self._last_at else None
        table = Table(title="CityOps: rows in the database", show_lines=False)
        table.add_column("table")
        table.add_column("rows", justify="right")
        table.add_column("rows/s", justify="right")
        for name, count in counts.items():
            rate = "" if elapsed is None else f"{(count - self._last.get(name, 0)) / elapsed:.0f}"
            table.add_row(name, f"{count:,}", rate)
        self.console.print(table)
        self._last, self._last_at = counts, now

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
