"""The sink end to end: Tansu -> `run_sink` -> PostgreSQL, at least once and idempotent."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from prometheus_client import CollectorRegistry

from cityops.base.kafka_admin import committed_offsets
from cityops.base.settings import Settings
from sinks.migrate import migrate
from sinks.sink import SINK_TOPICS, run_sink
from sinks.writer import TABLE_BY_TOPIC
from streams import topics
from streams.models import Event
from tests.sinks import scenario

pytestmark = pytest.mark.integration

READING_TABLES = [spec.name for spec in TABLE_BY_TOPIC.values()]


def recent_readings() -> list[Event]:
    # decode() rejects events older than 7 days, so the readings are from today.
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=10, minutes=5)
    return scenario.readings(base)


async def produce(settings: Settings, events: list[Event], *, invalid: int = 1) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        topic_of = {spec.model: name for name, spec in TABLE_BY_TOPIC.items()}
        for event in events:
            topic = settings.topic(topic_of[type(event)])
            await producer.send(
                topic, event.model_dump_json().encode(), key=event.entity_id.encode()
            )
        for alert in scenario.alerts():
            await producer.send(settings.topic(topics.ALERTS), alert.model_dump_json().encode())
        for rollup in scenario.rollups():
            await producer.send(settings.topic(topics.ROLLUPS), rollup.model_dump_json().encode())
        for _ in range(invalid):
            await producer.send(settings.topic(topics.GAS_DETECTOR), b'{"detector_id": 1}')
        await producer.flush()
    finally:
        await producer.stop()


def counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            for table in [*READING_TABLES, "rollups_1m", "alerts", "alert_history"]
        }


EXPECTED = {
    "gas_detector_readings": 4,
    "streetlight_readings": 2,
    "heating_station_readings": 2,
    "fleet_gps_readings": 2,
    "rollups_1m": len(scenario.rollups()),
    "alerts": 3,
    "alert_history": 7,
}


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def committed(settings: Settings) -> dict[TopicPartition, int]:
    """The sink group's committed offsets (a consumer that never joins the group)."""
    names = [settings.topic(name) for name in SINK_TOPICS]
    offsets = await committed_offsets(settings, settings.sink_group, names)
    return {tp: offset for tp, offset in offsets.items() if offset is not None and offset >= 0}


def test_messages_produced_twice_are_stored_once(
    stack_settings: Settings, created_topics: list[str]
) -> None:
    settings = stack_settings.model_copy(update={"sink_flush_interval_s": 0.2})
    url = settings.database_url
    assert url is not None
    registry = CollectorRegistry()

    async def scenario_run() -> None:
        events = recent_readings()
        await produce(settings, events)
        await produce(settings, events)  # the same messages again, as a replay would
        stop = asyncio.Event()
        task = asyncio.create_task(run_sink(settings, stop=stop, registry=registry))

        async def all_read() -> bool:
            if task.done():
                task.result()
            read = registry.get_sample_value("cityops_sink_rows_total", {"table": "alerts"})
            return read == 2 * len(scenario.alerts())

        await eventually(all_read, "the sink to store both copies")
        stop.set()
        await asyncio.wait_for(task, 30)

    asyncio.run(scenario_run())
    assert counts(url) == EXPECTED
    skipped = registry.get_sample_value(
        "cityops_sink_rows_skipped_total", {"topic": topics.GAS_DETECTOR}
    )
    assert skipped == 2
    assert registry.get_sample_value("cityops_sink_write_errors_total") == 0
    # the second copies met stored rows: their COPY fell back to the staging path
    assert (registry.get_sample_value("cityops_sink_copy_fallbacks_total") or 0) >= 1
    latency = registry.get_sample_value(
        "cityops_end_to_end_latency_seconds_count", {"table": "gas_detector_readings"}
    )
    assert latency == 8


def test_offsets_move_only_after_rows_are_durable(
    stack_settings: Settings, created_topics: list[str]
) -> None:
    settings = stack_settings.model_copy(update={"sink_flush_interval_s": 0.2})
    url = settings.database_url
    assert url is not None
    migrate(url)
    # A real database failure: inserts into one table raise while `sink_fault` has a row.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE sink_fault (on_purpose boolean)")
        conn.execute("INSERT INTO sink_fault VALUES (true)")
        conn.execute(
            """
            CREATE FUNCTION fail_while_faulty() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF EXISTS (SELECT FROM sink_fault) THEN
                    RAISE EXCEPTION 'injected failure';
                END IF;
                RETURN NEW;
            END $$
            """
        )
        conn.execute(
            "CREATE TRIGGER fail_while_faulty BEFORE INSERT ON heating_station_readings"
            " FOR EACH ROW EXECUTE FUNCTION fail_while_faulty()"
        )
    registry = CollectorRegistry()

    async def scenario_run() -> None:
        await produce(settings, recent_readings(), invalid=0)
        stop = asyncio.Event()
        task = asyncio.create_task(run_sink(settings, stop=stop, registry=registry))

        async def failed_twice() -> bool:
            if task.done():
                task.result()
            return (registry.get_sample_value("cityops_sink_write_errors_total") or 0) >= 2

        await eventually(failed_twice, "the sink to retry a failing batch")
        # Nothing of the failed batch is stored (one transaction), and no offset moved;
        # the alerts went in their own transaction as soon as they were read.
        stored_early = {"alerts": EXPECTED["alerts"], "alert_history": EXPECTED["alert_history"]}
        assert counts(url) == {t: stored_early.get(t, 0) for t in EXPECTED}
        assert await committed(settings) == {}

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DELETE FROM sink_fault")

        async def stored() -> bool:
            if task.done():
                task.result()
            return await asyncio.to_thread(counts, url) == EXPECTED

        await eventually(stored, "the retried batch to be stored")

        async def offsets_at_end() -> bool:
            done = await committed(settings)
            return sum(done.values()) == 10 + len(scenario.alerts()) + len(scenario.rollups())

        await eventually(offsets_at_end, "the offsets to be committed")
        stop.set()
        await asyncio.wait_for(task, 30)

    asyncio.run(scenario_run())
    assert counts(url) == EXPECTED


def test_a_batch_holding_an_alert_is_written_without_waiting_for_the_interval(
    stack_settings: Settings, created_topics: list[str]
) -> None:
    # Readings alone would wait 120 s (or 10,000 rows); the alerts cut that short.
    settings = stack_settings.model_copy(
        update={"sink_flush_interval_s": 120.0, "sink_alert_flush_interval_s": 0.1}
    )
    url = settings.database_url
    assert url is not None
    registry = CollectorRegistry()

    async def scenario_run() -> None:
        await produce(settings, recent_readings())
        stop = asyncio.Event()
        task = asyncio.create_task(run_sink(settings, stop=stop, registry=registry))

        async def alerts_stored() -> bool:
            if task.done():
                task.result()
            read = registry.get_sample_value("cityops_sink_rows_total", {"table": "alerts"})
            return read == len(scenario.alerts())

        await eventually(alerts_stored, "the alerts before the 120 s interval", timeout=60)
        stop.set()
        await asyncio.wait_for(task, 30)

    asyncio.run(scenario_run())
    assert counts(url) == EXPECTED


def _fail_inserts_into(url: str, table: str) -> None:
    """A real database failure: inserts into `table` raise while `sink_fault` has a row."""
    migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE sink_fault (on_purpose boolean)")
        conn.execute("INSERT INTO sink_fault VALUES (true)")
        conn.execute(
            """
            CREATE FUNCTION fail_while_faulty() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF EXISTS (SELECT FROM sink_fault) THEN
                    RAISE EXCEPTION 'injected failure';
                END IF;
                RETURN NEW;
            END $$
            """
        )
        conn.execute(
            f"CREATE TRIGGER fail_while_faulty BEFORE INSERT ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION fail_while_faulty()"
        )


def test_an_alert_is_stored_without_waiting_for_the_readings_flush(
    stack_settings: Settings, created_topics: list[str]
) -> None:
    # Readings wait 120 s for their batch; an alert not stored on its own would wait
    # 60 s for it: the alerts are stored long before either, offsets stay put.
    settings = stack_settings.model_copy(
        update={"sink_flush_interval_s": 120.0, "sink_alert_flush_interval_s": 60.0}
    )
    url = settings.database_url
    assert url is not None
    migrate(url)  # the sink would too; the test counts rows before it has
    registry = CollectorRegistry()

    async def scenario_run() -> None:
        await produce(settings, recent_readings(), invalid=0)
        stop = asyncio.Event()
        task = asyncio.create_task(run_sink(settings, stop=stop, registry=registry))

        async def alerts_stored() -> bool:
            if task.done():
                task.result()
            now = await asyncio.to_thread(counts, url)
            return now["alert_history"] == EXPECTED["alert_history"]

        await eventually(alerts_stored, "the alerts, before any interval", timeout=30)
        now = counts(url)
        assert now["alerts"] == EXPECTED["alerts"]
        # the readings and roll-ups still wait for their batch, and with them every
        # offset: none is committed before what came before it is stored
        assert {t: n for t, n in now.items() if t not in ("alerts", "alert_history")} == {
            t: 0 for t in EXPECTED if t not in ("alerts", "alert_history")
        }
        assert await committed(settings) == {}
        stop.set()  # the last checkpoint stores the batch, then commits
        await asyncio.wait_for(task, 30)
        done = await committed(settings)
        assert sum(done.values()) == 10 + len(scenario.alerts()) + len(scenario.rollups())

    asyncio.run(scenario_run())
    assert counts(url) == EXPECTED
    assert registry.get_sample_value("cityops_sink_rows_total", {"table": "alert_history"}) == 7


def test_alerts_their_lane_cannot_store_go_with_the_batch(
    stack_settings: Settings, created_topics: list[str]
) -> None:
    # alert_history refuses inserts: the alerts' own transaction fails, so they ride
    # in the batch's transaction, which fails whole and is retried; no offset moves
    # until the fault is gone and everything is stored.
    settings = stack_settings.model_copy(update={"sink_flush_interval_s": 0.2})
    url = settings.database_url
    assert url is not None
    _fail_inserts_into(url, "alert_history")
    registry = CollectorRegistry()

    async def scenario_run() -> None:
        await produce(settings, recent_readings(), invalid=0)
        stop = asyncio.Event()
        task = asyncio.create_task(run_sink(settings, stop=stop, registry=registry))

        async def failed_twice() -> bool:
            if task.done():
                task.result()
            return (registry.get_sample_value("cityops_sink_write_errors_total") or 0) >= 2

        await eventually(failed_twice, "the sink to retry the batch holding the alerts")
        assert set(counts(url).values()) == {0}
        assert await committed(settings) == {}
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DELETE FROM sink_fault")

        async def stored() -> bool:
            if task.done():
                task.result()
            return await asyncio.to_thread(counts, url) == EXPECTED

        await eventually(stored, "the retried batch to be stored")

        async def offsets_at_end() -> bool:
            done = await committed(settings)
            return sum(done.values()) == 10 + len(scenario.alerts()) + len(scenario.rollups())

        await eventually(offsets_at_end, "the offsets to be committed")
        stop.set()
        await asyncio.wait_for(task, 30)

    asyncio.run(scenario_run())
    assert counts(url) == EXPECTED
