"""Versioned schema migrations: `sinks/migrations/NNN_name[.mode].sql`, applied in order.

A migration is one SQL file, or a pair of files for the two storage modes
(`NNN_name.timescaledb.sql` and `NNN_name.postgresql.sql`) that create the same
names. Each migration runs in its own transaction together with its row in
`schema_migrations`, so a failed migration leaves the database at the previous
version. The mode is chosen once, when the first migration is applied, and
recorded: TimescaleDB when the `timescaledb` extension is available, plain
PostgreSQL otherwise.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import psycopg
from psycopg import sql

from cityops.base.settings import Settings

log = logging.getLogger(__name__)

Mode = Literal["timescaledb", "postgresql"]
MODES: tuple[Mode, ...] = ("timescaledb", "postgresql")
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
WRITER_ROLE = "cityops_writer"
GRAFANA_ROLE = "cityops_grafana"

# Serialises concurrent `cityops db migrate` / sink start-ups on one database.
_LOCK_KEY = 0x43_49_54_59_4F_50_53  # "CITYOPS"
_FILE_RE = re.compile(r"^(\d{3,})_([a-z0-9_]+?)(?:\.(timescaledb|postgresql))?\.sql$")

_MODE_LINE = {
    "timescaledb": (
        "storage mode: TimescaleDB %s (hypertables, continuous aggregates rollups_1h/1d, "
        "retention and compression policies)"
    ),
    "postgresql": (
        "storage mode: plain PostgreSQL %s (no usable timescaledb extension: same "
        "tables, rollups_1h/1d are plain views, no retention or compression)"
    ),
}


#: Continuous aggregates: (view, bucket width, end_offset, schedule_interval).
#: The newest bucket is left to the real-time part until it is complete.
CONTINUOUS_AGGREGATES: tuple[tuple[str, timedelta, timedelta, timedelta], ...] = (
    ("rollups_1h", timedelta(hours=1), timedelta(hours=1), timedelta(minutes=15)),
    ("rollups_1d", timedelta(days=1), timedelta(days=1), timedelta(hours=1)),
)


def default_lateness() -> timedelta:
    """The accepted event age of the worker and sink (`CITYOPS_MAX_EVENT_AGE_S`'s default)."""
    return timedelta(seconds=Settings.model_fields["max_event_age_s"].default)


def refresh_start_offset(width: timedelta, lateness: timedelta) -> timedelta:
    """How far back a refresh policy must reach so that a 1-minute roll-up as old as
    the accepted lateness is materialised: TimescaleDB refreshes only the buckets
    wholly inside [now - start_offset, now - end_offset), and the bucket of a
    roll-up `lateness` old starts up to one bucket width earlier (issue 12: a 3-day
    rollups_1h policy never saw a re-emitted roll-up 5 days old)."""
    return lateness + width


class MigrationError(RuntimeError):
    """The schema cannot be migrated; the message says why and what to do."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    files: dict[Mode | None, Path] = field(compare=False)

    def path(self, mode: Mode) -> Path:
        return self.files.get(mode) or self.files[None]

    def sql(self, mode: Mode) -> str:
        return self.path(mode).read_text(encoding="utf-8")


@dataclass(frozen=True)
class MigrateResult:
    mode: Mode
    from_version: int
    to_version: int
    applied: tuple[int, ...]

    @property
    def up_to_date(self) -> bool:
        return not self.applied

    def message(self) -> str:
        if self.up_to_date:
            return f"schema up to date at version {self.to_version} ({self.mode}); nothing to do"
        names = ", ".join(f"{v:03d}" for v in self.applied)
        return (
            f"migrated {self.mode} schema from version {self.from_version} to "
            f"{self.to_version} (applied {names})"
        )


@contextlib.contextmanager
def as_grafana(conn: psycopg.Connection[Any]) -> Iterator[psycopg.Connection[Any]]:
    """A read-only transaction under the dashboards' role: what Grafana can read, and
    nothing written (the monthly report and the dashboard query tests read this way)."""
    with conn.transaction():
        conn.execute("SET TRANSACTION READ ONLY")
        conn.execute(f"SET LOCAL ROLE {GRAFANA_ROLE}")
        yield conn


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations in `directory`, by version; checks the set is well formed."""
    found: dict[int, tuple[str, dict[Mode | None, Path]]] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_RE.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: expected NNN_name.sql or NNN_name.<mode>.sql")
        version, name, variant = int(match[1]), match[2], match[3]
        seen_name, files = found.setdefault(version, (name, {}))
        if seen_name != name:
            raise MigrationError(f"version {version:03d} has two names: {seen_name}, {name}")
        files[variant] = path  # type: ignore[index]
    migrations = []
    for expected, version in enumerate(sorted(found), start=1):
        name, files = found[version]
        if version != expected:
            raise MigrationError(f"migration versions must be 1, 2, 3...; {expected:03d} missing")
        if None not in files and set(files) != set(MODES):
            raise MigrationError(f"{version:03d}_{name}: needs one file per mode, or one for both")
        migrations.append(Migration(version, name, files))
    return migrations


def timescaledb_available(conn: psycopg.Connection) -> bool:
    row = conn.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    return row is not None


def _ensure_table(conn: psycopg.Connection) -> None:
    # Checked first so that a role without CREATE on the schema (the sink's writer)
    # can still read the version of an existing database.
    if conn.execute("SELECT to_regclass('schema_migrations')").fetchone() == (None,):
        conn.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer     PRIMARY KEY,
                name       text        NOT NULL,
                mode       text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """
        )


def schema_state(conn: psycopg.Connection) -> tuple[int, Mode | None]:
    """(current version, recorded mode) of a database; (0, None) when empty."""
    if conn.execute("SELECT to_regclass('schema_migrations')").fetchone() == (None,):
        return 0, None
    row = conn.execute(
        "SELECT (SELECT coalesce(max(version), 0) FROM schema_migrations),"
        " (SELECT mode FROM schema_migrations ORDER BY version LIMIT 1)"
    ).fetchone()
    assert row is not None
    return int(row[0]), row[1]


#: What a server with TimescaleDB installed but not loaded needs (its loader
#: ends the session with FATAL "extension "timescaledb" must be preloaded").
NOT_PRELOADED_HINT = (
    "to use TimescaleDB, add shared_preload_libraries = 'timescaledb' to the server's "
    "postgresql.conf (`cityops up` does it for its own cluster), restart it and migrate "
    "a fresh database"
)


def _choose_mode(conn: psycopg.Connection, url: str) -> Mode:
    if not timescaledb_available(conn):
        return "postgresql"
    # On a connection of its own: when the library is installed but not
    # preloaded the server ends that session with FATAL, and the migration
    # must go on, on `conn`, in plain PostgreSQL mode (issue 12: it kept using
    # the closed connection and `make run` exited 1).
    try:
        with psycopg.connect(url, autocommit=True) as probe:
            probe.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except psycopg.errors.InsufficientPrivilege as exc:
        raise MigrationError(
            f"this role may not create the timescaledb extension ({exc.diag.message_primary}):"
            f" {OWNER_NEEDED}"
        ) from None
    except psycopg.Error as exc:
        reason = exc.diag.message_primary or str(exc).strip() or type(exc).__name__
        log.warning(
            "timescaledb is installed but this server cannot create it (%s): using plain "
            "PostgreSQL; %s",
            reason,
            NOT_PRELOADED_HINT,
        )
        return "postgresql"
    return "timescaledb"


def _server_version(conn: psycopg.Connection, mode: Mode) -> str:
    query = (
        "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
        if mode == "timescaledb"
        else "SHOW server_version"
    )
    row = conn.execute(query).fetchone()
    return str(row[0]) if row else "?"


#: Who may run migrations, for the messages of a role that may not.
OWNER_NEEDED = (
    "run `cityops db migrate` as the role that owns the CityOps schema (the database "
    "owner or a superuser; `cityops up` uses its superuser `cityops`): "
    f"{WRITER_ROLE} and {GRAFANA_ROLE} only write or read rows"
)


def _current_user(conn: psycopg.Connection) -> str:
    row = conn.execute("SELECT current_user").fetchone()
    return str(row[0]) if row else "?"


def set_passwords(
    conn: psycopg.Connection, *, writer_password: str | None, grafana_password: str | None
) -> list[str]:
    """Set the roles' passwords (only those given); returns the roles changed.

    A role the connected user may not alter (it needs CREATEROLE or to be that
    role: issue 12, `cityops_writer` with CITYOPS_GRAFANA_PASSWORD set failed the
    whole command) is skipped with a warning saying who can set it."""
    changed = []
    for role, password in ((WRITER_ROLE, writer_password), (GRAFANA_ROLE, grafana_password)):
        if password:
            try:
                with conn.transaction():
                    # ALTER ROLE takes no bind parameters: psycopg.sql quotes the literal.
                    conn.execute(
                        sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                            sql.Identifier(role), sql.Literal(password)
                        )
                    )
            except psycopg.errors.InsufficientPrivilege as exc:
                log.warning(
                    "not setting the password of %s: role %s may not alter it (%s); run "
                    "`cityops db migrate` with that password set as a superuser or a role "
                    "with CREATEROLE",
                    role,
                    _current_user(conn),
                    exc.diag.message_primary,
                )
                continue
            changed.append(role)
    return changed


def apply_refresh_policies(conn: psycopg.Connection, lateness: timedelta) -> list[str]:
    """Make each continuous aggregate's refresh policy cover `lateness`; returns the
    views whose policy changed. A setting, not a migration: it follows
    CITYOPS_MAX_EVENT_AGE_S on every `migrate`."""
    changed = []
    for view, width, end_offset, every in CONTINUOUS_AGGREGATES:
        start_offset = refresh_start_offset(width, lateness)
        current = conn.execute(
            "SELECT (config->>'start_offset')::interval, (config->>'end_offset')::interval,"
            " schedule_interval FROM timescaledb_information.jobs"
            " WHERE proc_name = 'policy_refresh_continuous_aggregate'"
            " AND hypertable_name = %s",
            (view,),
        ).fetchall()
        if current == [(start_offset, end_offset, every)]:
            continue
        try:
            with conn.transaction():
                conn.execute(
                    "SELECT remove_continuous_aggregate_policy(%s::regclass, if_exists => true)",
                    (view,),
                )
                conn.execute(
                    "SELECT add_continuous_aggregate_policy(%s::regclass, start_offset => %s,"
                    " end_offset => %s, schedule_interval => %s)",
                    (view, start_offset, end_offset, every),
                )
        except psycopg.errors.InsufficientPrivilege as exc:
            log.warning(
                "refresh policy of %s left as it is: %s (%s)",
                view,
                OWNER_NEEDED,
                exc.diag.message_primary,
            )
            continue
        changed.append(view)
    return changed


def migrate(
    url: str,
    *,
    writer_password: str | None = None,
    grafana_password: str | None = None,
    directory: Path = MIGRATIONS_DIR,
    lateness: timedelta | None = None,
) -> MigrateResult:
    """Bring the database at `url` to the newest migration; idempotent.

    `lateness`: how old an accepted event may be (`Settings.max_event_age_s`);
    the continuous aggregates' refresh policies reach that far back.

    Raises `MigrationError` when the database is at a version newer than the
    migrations this code knows (written by a newer CityOps).
    """
    migrations = discover(directory)
    latest = migrations[-1].version if migrations else 0
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            current, mode = schema_state(conn)
            if current > latest:
                raise MigrationError(
                    f"the database is at schema version {current}, newer than the newest "
                    f"migration this CityOps knows ({latest}): refusing to touch it; run a "
                    "CityOps at least as new as the one that migrated it"
                )
            if mode is None:
                mode = _choose_mode(conn, url)
            elif mode == "postgresql" and current < latest and timescaledb_available(conn):
                log.warning(
                    "timescaledb is available, but this database was created in plain "
                    "PostgreSQL mode and stays so (migrate a fresh database to use it)"
                )
            log.info(_MODE_LINE[mode], _server_version(conn, mode))
            applied = []
            try:
                _ensure_table(conn)
                for migration in migrations[current:]:
                    with conn.transaction():
                        conn.execute(migration.sql(mode).encode())
                        conn.execute(
                            "INSERT INTO schema_migrations (version, name, mode)"
                            " VALUES (%s, %s, %s)",
                            (migration.version, migration.name, mode),
                        )
                    log.info("applied migration %03d_%s", migration.version, migration.name)
                    applied.append(migration.version)
            except psycopg.errors.InsufficientPrivilege as exc:
                raise MigrationError(
                    f"role {_current_user(conn)} may not migrate the schema at version "
                    f"{current + len(applied)} ({exc.diag.message_primary}): {OWNER_NEEDED}"
                ) from None
            if mode == "timescaledb":
                refreshed = apply_refresh_policies(conn, lateness or default_lateness())
                if refreshed:
                    log.info("refresh policies of %s cover the accepted lateness", refreshed)
            changed = set_passwords(
                conn, writer_password=writer_password, grafana_password=grafana_password
            )
            if changed:
                log.info("set the password of %s", ", ".join(changed))
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return MigrateResult(mode, current, max(current, latest), tuple(applied))
