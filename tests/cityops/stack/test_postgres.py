"""The embedded PostgreSQL preloads TimescaleDB exactly when its installation has it
(issue 12): a real PostgreSQL 15, with a fake TimescaleDB added to a copy of its
installation (tests/fixtures/fake_timescale.py)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from cityops.stack.postgres import (
    MAX_WORKER_PROCESSES,
    TIMESCALE_BACKGROUND_WORKERS,
    EmbeddedPostgres,
    install_dirs,
    postgres_bindir,
    timescaledb_installed,
)
from tests.fixtures.fake_timescale import fake_installation

pytestmark = pytest.mark.integration


@pytest.fixture
def root() -> Iterator[Path]:
    # Not pytest's tmp dir: mode 0700 under root, and the server may run as `nobody`.
    path = Path(tempfile.mkdtemp(prefix="cityops-fake-ts-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_install_dirs_are_the_servers_own() -> None:
    sharedir, pkglibdir = install_dirs(postgres_bindir())
    assert (sharedir / "extension" / "plpgsql.control").is_file()
    assert (pkglibdir / "plpgsql.so").is_file()


def test_plain_installation_starts_plain(root: Path) -> None:
    bindir = fake_installation(root / "install", loader=False)
    assert not timescaledb_installed(bindir)  # a control file alone is not an install
    settings = EmbeddedPostgres(root / "state", bindir=bindir).server_settings()
    assert not any("shared_preload_libraries" in s for s in settings)


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler for the fake loader")
def test_installed_timescaledb_is_preloaded_with_workers_for_its_jobs(root: Path) -> None:
    bindir = fake_installation(root / "install", loader=True)
    assert timescaledb_installed(bindir)
    pg = EmbeddedPostgres(root / "state", bindir=bindir)
    assert pg.timescaledb
    pg.start()
    try:
        with psycopg.connect(pg.url, autocommit=True) as conn:
            show = {
                name: conn.execute(f"SHOW {name}").fetchone()
                for name in ("shared_preload_libraries", "max_worker_processes")
            }
            assert show == {
                "shared_preload_libraries": ("timescaledb",),
                "max_worker_processes": (str(MAX_WORKER_PROCESSES),),
            }
            assert conn.execute("SHOW timescaledb.max_background_workers").fetchone() == (
                str(TIMESCALE_BACKGROUND_WORKERS),
            )
            # Preloaded, the (fake) extension installs instead of ending the session.
            conn.execute("CREATE EXTENSION timescaledb")
            assert conn.execute(
                "SELECT extname FROM pg_extension WHERE extname = 'timescaledb'"
            ).fetchone() == ("timescaledb",)
    finally:
        pg.stop()
