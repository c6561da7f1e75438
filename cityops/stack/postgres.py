"""A private PostgreSQL cluster with its data under the state directory.

PostgreSQL refuses to run as root, and CI runs as root: in that case the
cluster belongs to the unprivileged `nobody` user and every server binary runs
through `setpriv` (util-linux, always present on Debian). The server listens on
loopback only, with trust authentication for the local superuser `cityops`.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from cityops.stack.process import ManagedProcess, StackError, free_port

SUPERUSER = "cityops"
DATABASE = "cityops"
_UNPRIVILEGED = ("nobody", "nogroup")

#: TimescaleDB runs its policies and continuous-aggregate refreshes as background
#: workers, taken from `max_worker_processes`; its docs ask for at least
#: max_background_workers + max_parallel_workers (8) + 1 + one per database, or
#: jobs silently wait ("Configuration", timescaledb.max_background_workers).
TIMESCALE_BACKGROUND_WORKERS = 8
MAX_WORKER_PROCESSES = TIMESCALE_BACKGROUND_WORKERS + 8 + 8


def postgres_bindir() -> Path:
    """The directory of `initdb` and `postgres`: Debian's newest, else PATH."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("postgres") or shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise StackError(
        "no PostgreSQL server found: install it (`apt-get install postgresql`, which "
        "`make run` does as root) or set CITYOPS_DATABASE_URL to an existing database"
    )


def install_dirs(bindir: Path) -> tuple[Path, Path]:
    """(sharedir, pkglibdir) of the PostgreSQL installation of `bindir`: where
    extension control files and loadable libraries live. From its `pg_config`,
    else Debian's layout (/usr/lib/postgresql/N/{bin,lib}, /usr/share/postgresql/N)."""
    pg_config = bindir / "pg_config"
    if pg_config.exists():
        result = subprocess.run(
            [str(pg_config), "--sharedir", "--pkglibdir"],
            capture_output=True,
            text=True,
            check=False,
        )
        lines = result.stdout.split()
        if result.returncode == 0 and len(lines) == 2:
            return Path(lines[0]), Path(lines[1])
    return Path("/usr/share/postgresql") / bindir.parent.name, bindir.parent / "lib"


def timescaledb_installed(bindir: Path) -> bool:
    """Whether this installation has TimescaleDB: its control file and its
    loader library (what the Debian/RPM packages and `make install` put there).
    The loader must be in shared_preload_libraries before CREATE EXTENSION can
    succeed: without it the server ends the session with FATAL (issue 12)."""
    sharedir, pkglibdir = install_dirs(bindir)
    return (sharedir / "extension" / "timescaledb.control").is_file() and (
        pkglibdir / "timescaledb.so"
    ).is_file()


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    user, group = _UNPRIVILEGED
    # --pdeathsig after the uid change: the kernel clears the parent-death signal
    # on a credential change, so the one set before exec would not survive
    # (measured: a SIGKILLed `cityops up` left only PostgreSQL running).
    return [
        "setpriv",
        f"--reuid={user}",
        f"--regid={group}",
        "--clear-groups",
        "--pdeathsig=INT",
        *argv,
    ]


def _chown_for_server(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, *_UNPRIVILEGED)


class EmbeddedPostgres:
    def __init__(
        self, state_dir: Path, port: int | None = None, *, bindir: Path | None = None
    ) -> None:
        self.root = (state_dir / "postgres").resolve()
        self.data_dir = self.root / "data"
        self.port = port or free_port()
        self.bindir = bindir or postgres_bindir()
        #: Preload TimescaleDB when the installation has it, so the stack runs
        #: real TimescaleDB wherever the machine has it (plain PostgreSQL otherwise).
        self.timescaledb = timescaledb_installed(self.bindir)
        self.process: ManagedProcess | None = None

    def server_settings(self) -> list[str]:
        """The `-c name=value` settings the server starts with."""
        settings = [
            "listen_addresses=127.0.0.1",
            "max_connections=100",
            "shared_buffers=256MB",
            # Sink batches are large, so WAL grows fast: fewer checkpoints.
            "max_wal_size=2GB",
            # Unknown GUCs with a dot are accepted as placeholders when the
            # extension is absent.
            "timescaledb.telemetry_level=off",
        ]
        if self.timescaledb:
            settings += [
                "shared_preload_libraries=timescaledb",
                f"max_worker_processes={MAX_WORKER_PROCESSES}",
                f"timescaledb.max_background_workers={TIMESCALE_BACKGROUND_WORKERS}",
            ]
        argv: list[str] = []
        for setting in settings:
            argv += ["-c", setting]
        return argv

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}"

    def admin_url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _initdb(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        _chown_for_server(self.root)
        # The server user must be able to reach its data directory.
        for parent in self.root.parents:
            if parent == Path("/"):
                break
            mode = parent.stat().st_mode
            if os.geteuid() == 0 and not mode & 0o001:
                raise StackError(
                    f"{parent} is not searchable by others (mode {oct(mode & 0o777)}); "
                    "PostgreSQL runs as 'nobody' when you are root: chmod o+x it, or set "
                    "CITYOPS_STATE_DIR to a directory under /tmp"
                )
        result = subprocess.run(
            _as_server_user(
                [
                    str(self.bindir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ]
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(f"initdb failed:\n{result.stdout}\n{result.stderr}")

    def start(self, timeout: float = 30.0) -> EmbeddedPostgres:
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        log_path = self.root / "server.log"
        self.process = ManagedProcess(
            name="postgres",
            argv=_as_server_user(
                [
                    str(self.bindir / "postgres"),
                    "-D",
                    str(self.data_dir),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.root),
                    *self.server_settings(),
                ]
            ),
            log_path=log_path,
            # SIGINT = "fast" shutdown: roll back open transactions, then exit cleanly.
            stop_signal=signal.SIGINT,
        )
        self.process.start()
        self._wait_ready(timeout)
        self._ensure_database()
        return self

    def _wait_ready(self, timeout: float) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise StackError(f"PostgreSQL exited early; see {self.process.log_path}")
            try:
                with psycopg.connect(self.admin_url(), connect_timeout=2):
                    return
            except psycopg.OperationalError as exc:
                last = exc
                time.sleep(0.1)
        raise StackError(f"PostgreSQL not ready after {timeout:.0f} s: {last}")

    def _ensure_database(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=20)
