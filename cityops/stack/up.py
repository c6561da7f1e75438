"""`cityops up`: the whole pipeline on one machine, as child processes it owns.

Order: broker and PostgreSQL (unless external ones are configured), topics,
migrations, Prometheus and Alertmanager (when installed), then the worker, the
sink, the notifier and the simulator. Everything stops on Ctrl-C, SIGTERM or
after `--duration`, in reverse order, leaving no process behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Protocol

from pydantic import SecretStr

from cityops.base.kafka_admin import ensure_topics
from cityops.base.settings import ENV_PREFIX, STACK_ENV_FILE, Settings, redact
from cityops.stack.broker import EmbeddedBroker
from cityops.stack.postgres import EmbeddedPostgres
from cityops.stack.process import ManagedProcess, StackError, free_port
from streams import topics

log = logging.getLogger("cityops.up")


class Service(Protocol):
    def stop(self) -> None: ...


def settings_env(settings: Settings) -> dict[str, str]:
    """`CITYOPS_*` variables that make a child process see `settings`."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump(exclude_none=True).items():
        raw = value.get_secret_value() if hasattr(value, "get_secret_value") else value
        env[f"{ENV_PREFIX}{name.upper()}"] = str(raw)
    return env


@dataclass
class Stack:
    """The running parts; `stop()` is safe to call more than once."""

    settings: Settings
    services: list[Service] = field(default_factory=list)
    processes: list[ManagedProcess] = field(default_factory=list)
    endpoints: dict[str, str] = field(default_factory=dict)
    #: The /metrics port of each worker `start_pipeline` starts (worker 1 first), chosen
    #: before Prometheus starts so that it scrapes every one (`worker_metrics_ports`).
    worker_ports: list[int] = field(default_factory=list)

    def stop(self) -> None:
        for proc in reversed(self.processes):
            try:
                proc.stop(timeout=20)
            except Exception:  # keep stopping the others
                log.exception("could not stop %s (pid %s)", proc.name, proc.pid)
        self.processes.clear()
        for service in reversed(self.services):
            with contextlib.suppress(Exception):
                service.stop()
        self.services.clear()


def worker_metrics_ports(settings: Settings, workers: int) -> list[int]:
    """The /metrics port of each of `workers` workers: the configured one for the first,
    a free one for each other (they share the machine); none when metrics are off (0)."""
    if not settings.metrics_port_worker:
        return []
    return [settings.metrics_port_worker, *(free_port() for _ in range(workers - 1))]


def start_services(settings: Settings, *, workers: int = 1) -> tuple[Settings, Stack]:
    """Start the embedded broker and database where none is configured, then Prometheus
    (scraping the `workers` workers `start_pipeline` will start) and Alertmanager."""
    state_dir = settings.state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    stack = Stack(settings, worker_ports=worker_metrics_ports(settings, workers))
    overrides: dict[str, object] = {"state_dir": state_dir}
    try:
        if not settings.kafka_bootstrap:
            broker = EmbeddedBroker(state_dir).start()
            stack.services.append(broker)
            overrides["kafka_bootstrap"] = broker.bootstrap
            log.info("broker: Tansu on %s (memory storage)", broker.bootstrap)
        else:
            log.info("broker: external Kafka at %s", settings.kafka_bootstrap)
        if not settings.database_url:
            pg = EmbeddedPostgres(state_dir).start()
            stack.services.append(pg)
            overrides["database_url"] = pg.url
            log.info(
                "database: PostgreSQL %s, data in %s%s",
                pg.url,
                pg.data_dir,
                " (TimescaleDB preloaded)" if pg.timescaledb else "",
            )
        else:
            log.info("database: external at %s", redact(settings.database_url))
        settings = settings.model_copy(update=overrides)
        stack.settings = settings
        asyncio.run(ensure_topics(settings, topics.ALL_TOPICS))
        _migrate(settings)
        start_monitoring(settings, stack)
    except BaseException:
        stack.stop()
        raise
    return stack.settings, stack


def _migrate(settings: Settings) -> None:
    try:
        from sinks.migrate import migrate
    except ImportError:  # pragma: no cover - while the storage part is being built
        log.warning("sinks.migrate not available: schema not migrated")
        return
    assert settings.database_url
    result = migrate(
        settings.database_url,
        writer_password=_secret(settings.writer_password),
        grafana_password=_secret(settings.grafana_password),
        lateness=timedelta(seconds=settings.max_event_age_s),
    )
    log.info("database schema: %s", result.message())
    # The one line an operator (and issue 12's acceptance check) looks for.
    print(f"storage mode: {result.mode}", flush=True)


def _secret(value: object) -> str | None:
    return None if value is None else value.get_secret_value()  # type: ignore[attr-defined]


def start_monitoring(settings: Settings, stack: Stack) -> None:
    """Prometheus and Alertmanager, when their Debian packages are installed."""
    from cityops.stack.alertmanager import DEFAULT_CONFIG, EmbeddedAlertmanager
    from cityops.stack.prometheus import EmbeddedPrometheus

    alertmanagers: list[str] = []
    if settings.alertmanager_url is None:
        if EmbeddedAlertmanager.available():
            am = EmbeddedAlertmanager(settings.state_dir, DEFAULT_CONFIG).start()
            stack.services.append(am)
            stack.endpoints["alertmanager"] = am.url
            stack.settings = stack.settings.model_copy(update={"alertmanager_url": am.url})
            alertmanagers.append(am.url.removeprefix("http://"))
        else:
            log.warning(
                "alertmanager: not installed (apt-get install prometheus-alertmanager); "
                "alerts stay on alerts.v1 and in the database"
            )
    if EmbeddedPrometheus.available():
        # every worker: until 2026-12-01 only the first of `cityops up --workers N`
        workers = stack.worker_ports or [settings.metrics_port_worker]
        targets = {
            job: [f"127.0.0.1:{port}" for port in ports if port]
            for job, ports in (
                ("worker", workers),
                ("sink", [settings.metrics_port_sink]),
                ("notifier", [settings.metrics_port_notifier]),
                ("simulator", [settings.metrics_port_simulator]),
            )
            if any(ports)
        }
        prom = EmbeddedPrometheus(settings.state_dir, targets, alertmanagers=alertmanagers).start()
        stack.services.append(prom)
        stack.endpoints["prometheus"] = prom.url
    else:
        log.warning("prometheus: not installed (apt-get install prometheus); /metrics still served")


#: A part's `cityops` sub-command where it is not the part's own name.
PART_COMMAND = {"notifier": "notify"}


def cityops_argv(*args: str) -> list[str]:
    """Run a sub-command with this interpreter (works without the venv on PATH)."""
    return [sys.executable, "-m", "cityops.cli", *args]


def with_ack_service(settings: Settings) -> Settings:
    """Settings for the embedded ack service: a random per-run link secret unless one is
    configured (links from an earlier run then stop working, which is the point), a free
    port unless one is set, and the URL notifications link to. Nothing of the secret is
    printed or written to .cityops/stack.env: only the child processes' environment
    holds it."""
    update: dict[str, object] = {}
    if settings.ack_secret is None:
        update["ack_secret"] = SecretStr(secrets.token_urlsafe(32))
    port = settings.ack_port
    if "ack_port" not in settings.model_fields_set:
        port = free_port()
        update["ack_port"] = port
    if not settings.ack_base_url:
        update["ack_base_url"] = f"http://{settings.ack_host}:{port}"
    return settings.model_copy(update=update)


def start_pipeline(
    settings: Settings,
    stack: Stack,
    *,
    simulate_args: list[str] | None,
    notifier: bool = True,
    workers: int = 1,
) -> None:
    """Start the pipeline processes; `workers` workers share the partitions (one group)."""
    env = {**os.environ, **settings_env(settings)}
    logs = settings.state_dir / "logs"
    parts: list[tuple[str, list[str], dict[str, str]]] = [("worker", ["worker"], {})]
    if len(stack.worker_ports) < workers:  # Prometheus, if any, was not told of them
        stack.worker_ports = worker_metrics_ports(settings, workers)
    for i in range(2, workers + 1):
        # the same consumer group; each its own /metrics port (Prometheus scrapes them)
        port = str(stack.worker_ports[i - 1]) if stack.worker_ports else "0"
        parts.append((f"worker-{i}", ["worker"], {"CITYOPS_METRICS_PORT_WORKER": port}))
    parts.append(("sink", ["sink"], {}))
    if notifier and settings.alertmanager_url:
        parts.append(("notifier", [PART_COMMAND["notifier"]], {}))
    if settings.ack_secret is not None:
        parts.append(("ack-service", ["ack-service"], {}))
        stack.endpoints["ack-service"] = settings.ack_base_url or ""
    if simulate_args is not None:
        parts.append(("simulator", ["simulate", "--no-progress", *simulate_args], {}))
    for name, args, extra in parts:
        proc = ManagedProcess(
            name, cityops_argv(*args), logs / f"{name}.log", env={**env, **extra}
        ).start()
        stack.processes.append(proc)
        log.info("%s: pid %d, log %s", name, proc.pid, proc.log_path)


def write_stack_env(settings: Settings, path: Path = STACK_ENV_FILE) -> None:
    """So `cityops alerts ack`, `cityops status` ... in this folder find the stack."""
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = (
        "kafka_bootstrap",
        "database_url",
        "alertmanager_url",
        "ack_base_url",
        "topic_prefix",
        "state_dir",
        "metrics_port_worker",
        "metrics_port_sink",
        "metrics_port_notifier",
        "metrics_port_simulator",
    )
    env = settings_env(settings)
    lines = [
        f"{ENV_PREFIX}{k.upper()}={env[f'{ENV_PREFIX}{k.upper()}']}"
        for k in keys
        if f"{ENV_PREFIX}{k.upper()}" in env
    ]
    header = f"# cityops up pid {os.getpid()}"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    path.chmod(0o600)  # it may hold a database URL with a password


@contextlib.contextmanager
def stop_signals() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt so both stop the stack the same way."""

    def _raise(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def ignoring_stop_signals() -> Iterator[None]:
    """While the stack stops, further Ctrl-C / SIGTERM wait instead of aborting it."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def pick_metrics_ports(settings: Settings, *, replace_disabled: bool = False) -> Settings:
    """Free ports for every process's /metrics, unless configured explicitly.

    `replace_disabled` also replaces ports set to 0 (disabled): the benchmark
    reads its figures from /metrics, so it needs them whatever the caller set.
    """
    update: dict[str, object] = {}
    for name in ("worker", "sink", "notifier", "simulator"):
        field_name = f"metrics_port_{name}"
        explicit = field_name in settings.model_fields_set
        if not explicit or (replace_disabled and getattr(settings, field_name) == 0):
            update[field_name] = free_port()
    return settings.model_copy(update=update)


def wait_for(stack: Stack, duration: float | None, on_tick: object | None = None) -> None:
    """Block until `duration` passes or a pipeline process dies."""
    deadline = None if duration is None else time.monotonic() + duration
    while deadline is None or time.monotonic() < deadline:
        for proc in stack.processes:
            code = proc.poll()
            if code is not None and not (proc.name == "simulator" and code == 0):
                raise StackError(f"{proc.name} exited with code {code}; see {proc.log_path}")
        if callable(on_tick):
            on_tick()
        time.sleep(1.0)
