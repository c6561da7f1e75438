"""`sinks.migrate` against real PostgreSQL 15 in the cases a fresh machine meets:
TimescaleDB installed but not preloaded (issue 12)."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from cityops.stack.postgres import EmbeddedPostgres
from sinks.migrate import (
    CONTINUOUS_AGGREGATES,
    GRAFANA_ROLE,
    WRITER_ROLE,
    MigrationError,
    default_lateness,
    discover,
    migrate,
)
from sinks.writer import Batch, Writer
from streams.models import Rollup
from tests.fixtures.db_timescale import refresh_aggregates
from tests.fixtures.fake_timescale import fake_installation
from tests.sinks.scenario import rollup

pytestmark = pytest.mark.integration

LATEST = discover()[-1].version


@pytest.fixture
def server_root() -> Iterator[Path]:
    # Not pytest's tmp dir: mode 0700 under root, and the server may run as `nobody`.
    path = Path(tempfile.mkdtemp(prefix="cityops-fake-ts-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def not_preloaded(server_root: Path) -> Iterator[EmbeddedPostgres]:
    """A real PostgreSQL 15 whose installation lists timescaledb as available,
    started without preloading it (as a packaged server is after installing it)."""
    bindir = fake_installation(server_root / "install", loader=False)
    pg = EmbeddedPostgres(server_root / "state", bindir=bindir)
    assert not pg.timescaledb  # no loader library: the embedded stack would not preload
    pg.start()
    yield pg
    pg.stop()


def test_installed_but_not_preloaded_falls_back_to_plain_postgresql(
    not_preloaded: EmbeddedPostgres, caplog: pytest.LogCaptureFixture
) -> None:
    with psycopg.connect(not_preloaded.url) as conn:
        available = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
        ).fetchone()
        assert available == (1,)
    # The fake behaves as the real loader: the session creating it is ended.
    with psycopg.connect(not_preloaded.url, autocommit=True) as conn:
        with pytest.raises(psycopg.OperationalError):
            conn.execute("CREATE EXTENSION timescaledb")
        assert conn.closed or conn.broken

    with caplog.at_level(logging.INFO, logger="sinks.migrate"):
        result = migrate(not_preloaded.url)
    assert result.mode == "postgresql"
    assert result.applied == tuple(range(1, LATEST + 1))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("shared_preload_libraries" in w and "plain" in w for w in warnings), warnings
    assert migrate(not_preloaded.url).up_to_date
    with psycopg.connect(not_preloaded.url) as conn:
        assert conn.execute("SELECT to_regclass('rollups_1h')").fetchone() == ("rollups_1h",)
        assert (
            conn.execute(
                "SELECT extname FROM pg_extension WHERE extname = 'timescaledb'"
            ).fetchone()
            is None
        )


def _write_rollups(url: str, rollups: list[Rollup]) -> None:
    async def go() -> None:
        # PGlite is one backend behind every connection: no prepared statements,
        # or two connections' auto-prepared `_pg3_0` collide.
        async with await psycopg.AsyncConnection.connect(
            url, autocommit=True, prepare_threshold=None
        ) as conn:
            await Writer(conn, "insert").write(Batch(rollups=rollups))

    asyncio.run(go())


def _run_refresh_policies(conn: psycopg.Connection) -> None:
    """What TimescaleDB's scheduler does on the policies' schedule, now."""
    jobs = conn.execute(
        "SELECT job_id FROM timescaledb_information.jobs"
        " WHERE proc_name = 'policy_refresh_continuous_aggregate' ORDER BY job_id"
    ).fetchall()
    assert len(jobs) == len(CONTINUOUS_AGGREGATES)
    for (job_id,) in jobs:
        conn.execute("CALL run_job(%s)", (job_id,))


def _hourly_and_daily(conn: psycopg.Connection, bucket: datetime) -> tuple[Any, ...]:
    """readings of `bucket`'s hour in rollups_1h and the 1-minute sum, then of its day."""
    row = conn.execute(
        "WITH b AS (SELECT time_bucket(INTERVAL '1 hour', %(b)s) AS h,"
        "                  time_bucket(INTERVAL '1 day', %(b)s) AS d)"
        " SELECT (SELECT readings FROM rollups_1h, b WHERE bucket = b.h),"
        " (SELECT sum(readings) FROM rollups_1m, b WHERE bucket >= b.h"
        "   AND bucket < b.h + INTERVAL '1 hour'),"
        " (SELECT readings FROM rollups_1d, b WHERE bucket = b.d),"
        " (SELECT sum(readings) FROM rollups_1m, b WHERE bucket >= b.d"
        "   AND bucket < b.d + INTERVAL '1 day')",
        {"b": bucket},
    ).fetchone()
    assert row is not None
    return tuple(None if v is None else int(v) for v in row)


def test_refresh_policies_reach_back_as_far_as_late_data_is_accepted(timescale_url: str) -> None:
    """A roll-up 5 days old (accepted: the worker and sink take events up to
    CITYOPS_MAX_EVENT_AGE_S, 7 days by default) reaches rollups_1h and rollups_1d
    after the policies run, and both agree with the 1-minute sums."""
    migrate(timescale_url)
    with psycopg.connect(timescale_url, autocommit=True, prepare_threshold=None) as conn:
        now = conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
        # Live data two hours ago: the policies materialise it and the watermark
        # (below which rollups_1h reads only materialised rows) moves past it.
        recent = (now - timedelta(hours=2)).replace(minute=3, second=0, microsecond=0)
        _write_rollups(timescale_url, [rollup("gas", "shinan", recent, readings=10)])
        _run_refresh_policies(conn)
        assert _hourly_and_daily(conn, recent)[:2] == (10, 10)
        old = (now - timedelta(days=5)).replace(minute=7, second=0, microsecond=0)
        _write_rollups(timescale_url, [rollup("gas", "shinan", old, readings=40)])
        _run_refresh_policies(conn)
        assert _hourly_and_daily(conn, old) == (40, 40, 40, 40)
        # re-emitted with more readings (the sink keeps the fuller one)
        _write_rollups(timescale_url, [rollup("gas", "shinan", old, readings=45)])
        _run_refresh_policies(conn)
        assert _hourly_and_daily(conn, old) == (45, 45, 45, 45)


def test_refresh_policies_follow_the_lateness_setting(timescale_url: str) -> None:
    def offsets(conn: psycopg.Connection) -> dict[str, tuple[timedelta, timedelta]]:
        rows = conn.execute(
            "SELECT hypertable_name, (config->>'start_offset')::interval,"
            " (config->>'end_offset')::interval FROM timescaledb_information.jobs"
            " WHERE proc_name = 'policy_refresh_continuous_aggregate'"
        ).fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    migrate(timescale_url)
    lateness = default_lateness()
    with psycopg.connect(timescale_url, autocommit=True, prepare_threshold=None) as conn:
        assert offsets(conn) == {
            "rollups_1h": (lateness + timedelta(hours=1), timedelta(hours=1)),
            "rollups_1d": (lateness + timedelta(days=1), timedelta(days=1)),
        }
    longer = lateness * 3
    migrate(timescale_url, lateness=longer)
    with psycopg.connect(timescale_url, autocommit=True, prepare_threshold=None) as conn:
        assert offsets(conn)["rollups_1h"] == (longer + timedelta(hours=1), timedelta(hours=1))
        assert offsets(conn)["rollups_1d"] == (longer + timedelta(days=1), timedelta(days=1))


def test_refreshing_for_a_test_keeps_the_current_hour_real_time(timescale_url: str) -> None:
    """The storage tests' refresh stops where the policies stop: a roll-up written
    after it into the current hour still shows in rollups_1h."""
    migrate(timescale_url)
    with psycopg.connect(timescale_url, autocommit=True, prepare_threshold=None) as conn:
        now = conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
        this_hour = now.replace(minute=0, second=0, microsecond=0)
        _write_rollups(timescale_url, [rollup("gas", "shinan", this_hour, readings=12)])
        refresh_aggregates(conn)
        later = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        if later >= this_hour + timedelta(hours=1):  # the hour is ending: stay inside it
            later = this_hour + timedelta(minutes=1)
        _write_rollups(timescale_url, [rollup("gas", "shinan", later, readings=11)])
        assert _hourly_and_daily(conn, this_hour)[:2] == (23, 23)


def _as_role(url: str, role: str) -> str:
    """The same database as another role (the embedded cluster trusts loopback)."""
    parts = urlsplit(url)
    return parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port}").geturl()


def test_writer_running_migrate_with_passwords_set_skips_what_it_may_not_do(
    database_url: str,
) -> None:
    """`cityops db migrate` as cityops_writer with CITYOPS_GRAFANA_PASSWORD set failed
    with InsufficientPrivilege (issue 12): on an up-to-date schema it now sets what it
    may (its own password), skips the Grafana role's with a message, and exits 0."""
    migrate(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ALTER ROLE cityops_writer PASSWORD NULL")
        conn.execute("ALTER ROLE cityops_grafana PASSWORD NULL")
    env = {
        **os.environ,
        "CITYOPS_DATABASE_URL": _as_role(database_url, WRITER_ROLE),
        "CITYOPS_WRITER_PASSWORD": "w-secret",
        "CITYOPS_GRAFANA_PASSWORD": "g-secret",
    }
    result = subprocess.run(
        [sys.executable, "-m", "cityops.cli", "db", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    assert f"not setting the password of {GRAFANA_ROLE}" in result.stderr
    assert "CREATEROLE" in result.stderr
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT rolname, rolpassword IS NOT NULL FROM pg_authid"
            " WHERE rolname IN ('cityops_writer', 'cityops_grafana') ORDER BY 1"
        ).fetchall()
    assert rows == [(GRAFANA_ROLE, False), (WRITER_ROLE, True)]


def test_writer_cannot_apply_migrations_and_is_told_which_role_can(
    embedded_postgres: EmbeddedPostgres, database_url: str
) -> None:
    migrate(database_url)  # creates the roles (cluster-wide)
    fresh = f"fresh_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(embedded_postgres.admin_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{fresh}"')
    try:
        with pytest.raises(MigrationError) as raised:
            migrate(_as_role(embedded_postgres.admin_url(fresh), WRITER_ROLE))
        message = str(raised.value)
        assert f"role {WRITER_ROLE} may not migrate the schema at version 0" in message
        assert "database owner or a superuser" in message
        with psycopg.connect(embedded_postgres.admin_url(fresh)) as conn:
            assert conn.execute("SELECT to_regclass('schema_migrations')").fetchone() == (None,)
    finally:
        with psycopg.connect(embedded_postgres.admin_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)')
