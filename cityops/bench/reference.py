"""The reference consumers `--compare` measures CityOps against (ceiling, baseline).

The consumers run as a child process: `python -m cityops.bench.reference
ceiling|baseline --progress FILE`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
from psycopg import sql

from cityops.base.city.profiles import CityProfile, load_profile
from cityops.base.settings import Settings, get_settings
from cityops.base.signals import stop_on_signals
from cityops.bench.options import BenchOptions
from cityops.bench.procfs import ProcessUsage
from cityops.bench.sampling import (
    LagProbe,
    Sample,
    produce_and_sample,
    rate_between,
    run_figures,
    start_simulation,
    steady_window,
)
from cityops.stack.process import ManagedProcess, StackError
from cityops.stack.up import settings_env
from streams import topics

log = logging.getLogger("cityops.bench")


# --- ceiling and baseline ----------------------------------------------------------------
def run_reference(
    mode: str,
    settings: Settings,
    admin_url: Callable[[str], str],
    city: CityProfile,
    options: BenchOptions,
) -> dict[str, Any]:
    """Produce the same load to fresh topics and consume it with a reference consumer."""
    from cityops.base.kafka_admin import ensure_topics
    from sinks.migrate import migrate

    prefix = f"{settings.topic_prefix}{mode}."
    ref = settings.model_copy(update={"topic_prefix": prefix})
    asyncio.run(ensure_topics(ref, topics.FEED_TOPICS))
    dbname = f"bench_{mode}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(admin_url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    url = admin_url(dbname)
    if mode == "baseline":
        migrate(url)
    else:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(_RAW_TABLE)
    progress = settings.state_dir / f"{mode}.progress"
    env = {**os.environ, **settings_env(ref), "CITYOPS_DATABASE_URL": url}
    proc = ManagedProcess(
        mode,
        [
            sys.executable,
            "-m",
            "cityops.bench.reference",
            mode,
            "--progress",
            str(progress),
            "--profile",
            options.profile,
        ],
        settings.state_dir / "logs" / f"{mode}.log",
        env=env,
    ).start()
    try:
        deadline = time.monotonic() + 30
        while not progress.exists() and time.monotonic() < deadline:
            if proc.poll() is not None:
                raise StackError(f"{mode} consumer exited; see {proc.log_path}")
            time.sleep(0.2)
        usage = [ProcessUsage(f"{mode} consumer", proc.pid)]
        return asyncio.run(_drive_reference(ref, city, options, progress, usage))
    finally:
        proc.stop(timeout=10)


_RAW_TABLE = (
    "CREATE TABLE IF NOT EXISTS bench_raw ("
    " topic text NOT NULL, part integer NOT NULL, off bigint NOT NULL,"
    " key bytea, value bytea, PRIMARY KEY (topic, part, off))"
)


def _read_progress(path: Path) -> float:
    try:
        return float(orjson.loads(path.read_bytes())["rows"])
    except (OSError, ValueError, KeyError, orjson.JSONDecodeError):
        return 0.0


async def _drive_reference(
    settings: Settings,
    city: CityProfile,
    options: BenchOptions,
    progress: Path,
    usage: list[ProcessUsage],
) -> dict[str, Any]:
    assert settings.kafka_bootstrap
    feeds = [settings.topic(t) for t in topics.FEED_TOPICS]
    lag = LagProbe(settings.kafka_bootstrap, settings.topic_partitions)
    await lag.start()
    for u in usage:
        u.sample()
    samples: list[Sample] = []
    began = time.monotonic()
    sim, _ = start_simulation(settings, city, options)

    async def sample(sent_total: float | None = None) -> Sample:
        for u in usage:
            u.sample()
        sent = float(sum((await lag.end_offsets(feeds)).values()))
        rows = _read_progress(progress)
        backlog = max(0, int((sent_total if sent_total is not None else sent) - rows))
        s = Sample(time.monotonic() - began, sent, rows, 0, rows, 0, backlog)
        samples.append(s)
        return s

    try:
        production_s = await produce_and_sample(sim, began, options, sample)
        sent_total = sum((await lag.end_offsets(feeds)).values())
        drain_deadline = time.monotonic() + options.drain_s
        drained = False
        while time.monotonic() < drain_deadline:
            s = await sample(sent_total)
            if s.sink_rows >= sent_total:
                drained = True
                break
            await asyncio.sleep(0.5)
        drain_s = time.monotonic() - began - production_s
    finally:
        await lag.stop()
    t0, t1 = steady_window(production_s)
    rows_total = samples[-1].sink_rows if samples else 0
    e2e = rate_between(samples, "sink_rows", t0, t1)
    return {
        **run_figures(production_s, drain_s, drained, sent_total, rows_total),
        "throughput": {
            "end_to_end_events_per_s": round(e2e),
            "end_to_end_incl_drain_events_per_s": round(
                rows_total / (production_s + drain_s) if production_s + drain_s else 0
            ),
            "stages_events_per_s": {
                "simulator_to_broker": round(rate_between(samples, "sent", t0, t1)),
            },
            "steady_window_s": [round(t0, 1), round(t1, 1)],
        },
        "backlog_max": max((s.sink_lag for s in samples), default=0),
        "processes": {u.name: u.as_dict() for u in usage},
    }


class _Progress:
    """Rows committed so far, rewritten to a small JSON file (read by the bench)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self._written = 0.0
        self.write(force=True)

    def write(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._written >= 0.25:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_bytes(orjson.dumps({"rows": self.rows, "at": time.time()}))
            tmp.replace(self.path)
            self._written = now


async def _ceiling(settings: Settings, progress: _Progress, stop: asyncio.Event) -> None:
    """produce -> consume -> COPY the raw messages: no decoding, no rules."""
    from aiokafka import AIOKafkaConsumer

    assert settings.database_url
    consumer = AIOKafkaConsumer(
        *[settings.topic(t) for t in topics.FEED_TOPICS],
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=f"{settings.topic_prefix}ceiling",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=settings.sink_batch_size,
        rebalance_timeout_ms=int(settings.broker_rebalance_timeout_s * 1000),
    )
    await consumer.start()
    copy_sql = "COPY bench_raw (topic, part, off, key, value) FROM STDIN (FORMAT BINARY)"
    try:
        async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
            while not stop.is_set():
                data = await consumer.getmany(timeout_ms=200, max_records=settings.sink_batch_size)
                records = [r for recs in data.values() for r in recs]
                if records:
                    async with (
                        conn.transaction(),
                        conn.cursor() as cur,
                        cur.copy(copy_sql) as copy,
                    ):
                        copy.set_types(["text", "int4", "int8", "bytea", "bytea"])
                        for r in records:
                            await copy.write_row((r.topic, r.partition, r.offset, r.key, r.value))
                    await consumer.commit()
                    progress.rows += len(records)
                progress.write(force=bool(records))
    finally:
        await consumer.stop()


async def _baseline(
    settings: Settings, profile: str, progress: _Progress, stop: asyncio.Event
) -> None:
    """One consumer per feed, one event at a time: validate, rules, one INSERT per event."""
    from aiokafka import AIOKafkaConsumer

    from cityops.base.thresholds import load_thresholds
    from sinks.writer import ALERT_HISTORY, TABLE_BY_TOPIC
    from streams.rules.engine import RuleEngine
    from streams.validation import Rejection, decode

    assert settings.database_url
    engine = RuleEngine(
        load_thresholds(settings.rules_file),
        load_profile(profile),
        {},
        runbook_base_url=settings.runbook_base_url,
    )

    def insert(table: str, columns: tuple[str, ...], key: tuple[str, ...]) -> sql.Composed:
        return sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) DO NOTHING").format(
            sql.Identifier(table),
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.SQL(", ").join(sql.Placeholder() * len(columns)),
            sql.SQL(", ").join(map(sql.Identifier, key)),
        )

    history_sql = insert(ALERT_HISTORY.name, ALERT_HISTORY.columns, ALERT_HISTORY.key)

    async def one_feed(feed: str) -> None:
        spec = TABLE_BY_TOPIC[feed]
        reading_sql = insert(spec.name, spec.columns, spec.key)
        consumer = AIOKafkaConsumer(
            settings.topic(feed),
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=f"{settings.topic_prefix}baseline-{feed}",
            auto_offset_reset="earliest",
            rebalance_timeout_ms=int(settings.broker_rebalance_timeout_s * 1000),
        )
        await consumer.start()
        try:
            async with await psycopg.AsyncConnection.connect(
                settings.database_url or "", autocommit=True
            ) as conn:
                while not stop.is_set():
                    try:
                        msg = await asyncio.wait_for(consumer.getone(), 0.5)
                    except TimeoutError:
                        continue
                    event = decode(feed, msg.value, datetime.now(UTC))
                    if isinstance(event, Rejection):
                        continue
                    for alert in engine.on_event(feed, event):
                        await conn.execute(history_sql, ALERT_HISTORY.row(alert))
                    await conn.execute(reading_sql, spec.row(event))
                    progress.rows += 1
                    progress.write()
        finally:
            await consumer.stop()

    await asyncio.gather(*(one_feed(f) for f in topics.FEED_TOPICS))


def _reference_main(argv: list[str]) -> int:
    """`python -m cityops.bench.reference ceiling|baseline --progress FILE`."""
    parser = argparse.ArgumentParser(prog="python -m cityops.bench.reference")
    parser.add_argument("mode", choices=["ceiling", "baseline"])
    parser.add_argument("--progress", type=Path, required=True)
    parser.add_argument("--profile", default="megacity")
    args = parser.parse_args(argv)
    settings = get_settings()

    async def main() -> None:
        with stop_on_signals() as stop:
            progress = _Progress(args.progress)
            if args.mode == "ceiling":
                await _ceiling(settings, progress, stop)
            else:
                await _baseline(settings, args.profile, progress, stop)
            progress.write(force=True)

    asyncio.run(main())
    return 0


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    sys.exit(_reference_main(sys.argv[1:]))
