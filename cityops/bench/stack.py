"""The stack a bench run measures: run-private topics, groups, broker and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

from cityops.base.settings import Settings
from cityops.stack.process import ManagedProcess, StackError
from cityops.stack.up import Stack, pick_metrics_ports
from streams import topics

log = logging.getLogger("cityops.bench")


# --- the stack -------------------------------------------------------------------------
@contextlib.contextmanager
def bench_stack(settings: Settings) -> Iterator[tuple[Settings, Stack, Callable[[str], str]]]:
    """Broker and PostgreSQL for the run, with run-private topics and groups.

    Not `start_services`: it also starts Prometheus and Alertmanager when
    installed, which only add load to a 2-core machine during a benchmark.
    """
    from cityops.base.kafka_admin import ensure_topics
    from cityops.stack.broker import EmbeddedBroker
    from cityops.stack.postgres import EmbeddedPostgres
    from sinks.migrate import migrate

    tmp = Path(tempfile.mkdtemp(prefix="cityops-bench-"))
    tmp.chmod(0o755)  # PostgreSQL runs as `nobody` when we are root
    prefix = f"bench-{uuid.uuid4().hex[:8]}."
    settings = pick_metrics_ports(settings, replace_disabled=True).model_copy(
        update={
            "state_dir": tmp,
            "topic_prefix": prefix,
            "worker_id": f"{prefix}worker",
            "sink_group": f"{prefix}sink",
            "log_level": "WARNING",
        }
    )
    stack = Stack(settings)
    try:
        update: dict[str, object] = {}
        if not settings.kafka_bootstrap:
            broker = EmbeddedBroker(tmp).start()
            stack.services.append(broker)
            update["kafka_bootstrap"] = broker.bootstrap
        pg: EmbeddedPostgres | None = None
        if not settings.database_url:
            pg = EmbeddedPostgres(tmp).start()
            stack.services.append(pg)
            update["database_url"] = pg.url
        settings = settings.model_copy(update=update)
        stack.settings = settings
        asyncio.run(ensure_topics(settings, topics.ALL_TOPICS))
        assert settings.database_url
        migrate(settings.database_url)
        base_url = settings.database_url

        def admin_url(dbname: str) -> str:
            # a URL, not make_conninfo's key=value form: Settings wants postgresql://
            return urlsplit(base_url)._replace(path=f"/{dbname}").geturl()

        yield settings, stack, admin_url
    except BaseException:
        stack.stop()
        log.error("benchmark failed: logs kept in %s", tmp / "logs")
        raise
    stack.stop()
    shutil.rmtree(tmp, ignore_errors=True)


def service_pids(stack: Stack) -> dict[str, int]:
    pids: dict[str, int] = {}
    for service in stack.services:
        proc = getattr(service, "process", None)
        if isinstance(proc, ManagedProcess) and proc.popen is not None:
            name = "broker" if "broker" in proc.name else "postgres"
            pids[name] = proc.pid
    for proc in stack.processes:
        pids[proc.name] = proc.pid
    return pids


#: What a worker logs (at INFO) once it has its partitions and processes: the direct
#: runtime after restoring its first assignment (streams/stage_handler.py), Faust's "Ready".
#: The direct runtime logs no "Ready", so waiting for that alone waited out the whole
#: timeout (60 s) before every CityOps run of `cityops bench`.
READY_MARKS = ("] restored from ", "[^Worker]: Ready")


def wait_ready(settings: Settings, stack: Stack, timeout: float = 60.0) -> bool:
    """Until the worker and the sink serve /metrics and the worker has its partitions;
    False when it did not say so within `timeout` (the run starts anyway)."""
    deadline = time.monotonic() + timeout
    worker_log = settings.state_dir / "logs" / "worker.log"
    while time.monotonic() < deadline:
        for proc in stack.processes:
            if proc.poll() is not None:
                raise StackError(f"{proc.name} exited early; see {proc.log_path}")
        up = all(
            _port_serves(port)
            for port in (settings.metrics_port_worker, settings.metrics_port_sink)
        )
        text = worker_log.read_text(errors="replace") if worker_log.exists() else ""
        if up and any(mark in text for mark in READY_MARKS):
            return True
        time.sleep(0.2)
    log.warning("worker did not log that it is ready within %.0f s; starting anyway", timeout)
    return False


def _port_serves(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1):
            return True
    except OSError:
        return False
