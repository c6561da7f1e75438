"""Sub-commands of the stream processor: worker, alerts, schemas."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime

from cityops.base.settings import get_settings
from streams import topics


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = sub.add_parser(
        "worker", help="run the stream processor (CITYOPS_WORKER_RUNTIME: faust or direct)"
    )
    worker.set_defaults(handler=_worker)

    alerts = sub.add_parser("alerts", help="list or acknowledge alerts of a running pipeline")
    alerts_sub = alerts.add_subparsers(dest="alerts_command", required=True)
    ls = alerts_sub.add_parser("list", help="open alerts (from the database)")
    ls.add_argument("--all", action="store_true", help="include resolved alerts")
    ls.add_argument("--limit", type=int, default=50)
    ls.set_defaults(handler=_alerts_list)
    ack = alerts_sub.add_parser("ack", help="acknowledge an alert (sent to alerts.ack.v1)")
    ack.add_argument("alert_id")
    ack.add_argument("--by", required=True, help="who acknowledges")
    ack.add_argument("--note", default="")
    ack.add_argument(
        "--resolve",
        action="store_true",
        help="resolve by hand instead (only rules that allow it: offline detectors/stations)",
    )
    ack.set_defaults(handler=_alerts_ack)

    schemas = sub.add_parser("schemas", help="export the JSON Schema file of every topic")
    schemas.set_defaults(handler=_schemas_export)


def _worker(args: argparse.Namespace) -> int:
    settings = get_settings()
    if settings.worker_runtime == "direct":
        from streams.direct import run_worker as run_direct_worker

        return run_direct_worker(settings)
    from streams.app import run_worker

    return run_worker(settings)


def _alerts_list(args: argparse.Namespace) -> int:
    import psycopg
    from rich.console import Console
    from rich.table import Table

    settings = get_settings()
    if not settings.database_url:
        print("cityops: set CITYOPS_DATABASE_URL or start the stack with `cityops up`")
        return 2
    query = (
        "SELECT alert_id, rule, severity, state, district, entity_id, started_at, summary "
        "FROM alerts WHERE (%(all)s OR state <> 'resolved') "
        "ORDER BY started_at DESC LIMIT %(limit)s"
    )
    with psycopg.connect(settings.database_url) as conn:
        rows = conn.execute(query, {"all": args.all, "limit": args.limit}).fetchall()
    table = Table(title=f"alerts ({len(rows)})")
    columns = ("alert id", "rule", "severity", "state", "district", "entity", "started", "summary")
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*(str(v) for v in row))
    Console().print(table)
    return 0


def _alerts_ack(args: argparse.Namespace) -> int:
    from streams.acklink import Action, Refused, ack_key, target
    from streams.models import AlertAck

    settings = get_settings()
    action: Action = "resolve" if args.resolve else "ack"
    try:
        target(args.alert_id, action)
    except Refused as exc:
        print(f"cityops: {args.alert_id}: {exc.reason}")
        return 2
    ack = AlertAck(
        alert_id=args.alert_id, by=args.by, at=datetime.now(UTC), note=args.note, action=action
    )
    topic = settings.topic(topics.ALERTS_ACK)
    asyncio.run(_send(topic, ack_key(ack.alert_id), ack.model_dump_json()))
    print(f"{'resolved' if args.resolve else 'acknowledged'} {ack.alert_id} by {ack.by}")
    return 0


async def _send(topic: str, key: bytes, value: str) -> None:
    from aiokafka import AIOKafkaProducer

    settings = get_settings()
    if not settings.kafka_bootstrap:
        raise SystemExit(
            "cityops: set CITYOPS_KAFKA_BOOTSTRAP or start the stack with `cityops up`"
        )
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value.encode(), key=key)
    finally:
        await producer.stop()


def _schemas_export(args: argparse.Namespace) -> int:
    from streams.schemas import export

    for path in export():
        print(path)
    return 0
