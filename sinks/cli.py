"""Sub-commands of the sinks package: `cityops sink` and `cityops db ...`."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import sys
from datetime import timedelta

from cityops.base.settings import get_settings


def _database_url() -> str:
    return get_settings().require_database_url("to use")


def _cmd_migrate(args: argparse.Namespace) -> int:
    from sinks.migrate import MigrationError, migrate

    settings = get_settings()
    try:
        result = migrate(
            _database_url(),
            writer_password=(
                settings.writer_password.get_secret_value() if settings.writer_password else None
            ),
            grafana_password=(
                settings.grafana_password.get_secret_value() if settings.grafana_password else None
            ),
            lateness=timedelta(seconds=settings.max_event_age_s),
        )
    except MigrationError as exc:
        print(f"cityops db migrate: {exc}", file=sys.stderr)
        return 1
    print(result.message())
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    import psycopg

    from sinks.migrate import discover, schema_state

    latest = discover()[-1].version
    with psycopg.connect(_database_url()) as conn:
        version, mode = schema_state(conn)
    state = "up to date" if version == latest else f"behind (newest {latest})"
    if version > latest:
        state = f"NEWER than this CityOps knows ({latest})"
    print(f"schema version {version} ({mode or 'empty'}): {state}")
    return 0 if version == latest else 1


def _cmd_sink(args: argparse.Namespace) -> int:
    from cityops.base.gc_tuning import tune_gc
    from sinks.sink import run_sink

    tune_gc()
    asyncio.run(run_sink(get_settings()))
    return 0


def _cmd_ack_service(args: argparse.Namespace) -> int:
    from cityops.base.signals import stop_on_signals
    from sinks.ack_service import run_ack_service, service_key

    settings = get_settings()
    service_key(settings)  # refuse to start without a usable secret, before anything else

    async def main() -> None:
        with stop_on_signals() as stop:
            await run_ack_service(settings, stop=stop)

    asyncio.run(main())
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ack = subparsers.add_parser(
        "ack-service",
        help="serve the one-click acknowledge links of alert notifications",
        description=(
            "HTTP service behind the signed links in Alertmanager notifications: GET shows a "
            "confirmation form, its POST writes alerts.ack.v1. Needs CITYOPS_ACK_SECRET "
            "(>= 32 characters, the same as the notifier's) and CITYOPS_KAFKA_BOOTSTRAP; "
            "listens on CITYOPS_ACK_HOST:CITYOPS_ACK_PORT (127.0.0.1:9110)."
        ),
    )
    ack.set_defaults(handler=_cmd_ack_service)

    sink = subparsers.add_parser(
        "sink", help="store feeds, alerts and roll-ups from Kafka in PostgreSQL/TimescaleDB"
    )
    sink.set_defaults(handler=_cmd_sink)

    db = subparsers.add_parser("db", help="database schema: migrate, status")
    db_sub = db.add_subparsers(dest="db_command", metavar="DB_COMMAND", required=True)
    db_migrate = db_sub.add_parser(
        "migrate", help="apply pending migrations (idempotent); sets role passwords when given"
    )
    db_migrate.set_defaults(handler=_cmd_migrate)
    db_status = db_sub.add_parser("status", help="schema version and storage mode")
    db_status.set_defaults(handler=_cmd_status)

    # `cityops notify` is registered by sinks/notify_cli.py (the notifier's own module).
    if importlib.util.find_spec("sinks.notify_cli") is not None:
        importlib.import_module("sinks.notify_cli").register(subparsers)
