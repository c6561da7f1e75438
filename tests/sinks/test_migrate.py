"""`sinks.migrate` against real PostgreSQL 15 in the cases a fresh machine meets:
TimescaleDB installed but not preloaded (issue 12)."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from cityops.stack.postgres import EmbeddedPostgres
from sinks.migrate import discover, migrate
from tests.fixtures.fake_timescale import fake_installation

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
