"""The notifier against a real broker, a real Alertmanager and a real Prometheus."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import aiohttp
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry

from cityops.base.kafka_admin import committed_offsets, ensure_topics
from cityops.base.settings import Settings, load_settings
from cityops.stack.alertmanager import EmbeddedAlertmanager
from cityops.stack.broker import EmbeddedBroker
from cityops.stack.process import free_port
from sinks.notifier import NotifierConfig, run_notifier
from streams import topics
from streams.models import Alert
from tests.fixtures.alertmanager import alertmanager  # noqa: F401 - fixture
from tests.fixtures.prometheus import StartPrometheus, start_prometheus  # noqa: F401 - fixture

pytestmark = pytest.mark.integration

T = TypeVar("T")
HAS_LABELS = "labels" in Alert.model_fields


def notifier_settings(
    broker: EmbeddedBroker, prefix: str, am: EmbeddedAlertmanager, metrics_port: int = 0
) -> Settings:
    return load_settings(
        kafka_bootstrap=broker.bootstrap,
        alertmanager_url=am.url,
        topic_prefix=prefix,
        topic_partitions=2,
        worker_id=f"{prefix}worker",
        metrics_port_notifier=metrics_port,
        dashboard_base_url="http://grafana.test:3000",
    )


def make_alert(district: str, rule: str, entity_id: str, **fields: Any) -> Alert:
    started = fields.pop("started_at", datetime.now(UTC) - timedelta(minutes=5))
    base: dict[str, Any] = {
        "alert_id": f"{rule}:{entity_id}:{int(started.timestamp() * 1000)}",
        "rule": rule,
        "severity": "major",
        "state": "firing",
        "entity_type": (rule.split(".")[0] == "heating" and "station") or "detector",
        "entity_id": entity_id,
        "district": district,
        "lat": 36.07,
        "lon": 120.38,
        "started_at": started,
        "updated_at": started,
        "resolved_at": None,
        "value": 30.0,
        "threshold": 25.0,
        "summary": f"{rule} at {entity_id}",
        "runbook": f"docs/runbooks/{rule}.md",
    }
    base.update(fields)
    return Alert.model_validate(base)


def resolved(alert: Alert) -> Alert:
    now = datetime.now(UTC)
    return alert.model_copy(update={"state": "resolved", "updated_at": now, "resolved_at": now})


async def produce(settings: Settings, alerts: list[Alert]) -> None:
    assert settings.kafka_bootstrap
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for alert in alerts:
            await producer.send_and_wait(
                settings.topic(topics.ALERTS),
                alert.model_dump_json().encode(),
                key=alert.key.encode(),
            )
    finally:
        await producer.stop()


async def eventually(
    check: Callable[[], Awaitable[T | None]], what: str, timeout: float = 45.0
) -> T:
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


async def am_get(session: aiohttp.ClientSession, url: str, district: str) -> list[dict[str, Any]]:
    try:
        async with session.get(url, params={"filter": f'district="{district}"'}) as response:
            response.raise_for_status()
            data: list[dict[str, Any]] = await response.json()
            return data
    except aiohttp.ClientError:
        return []


def by_entity(alerts: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(a["labels"]["alertname"], a["labels"]["entity_id"]): a for a in alerts}


async def committed_total(settings: Settings, group: str) -> int:
    """Sum of the group's committed offsets on alerts.v1 (fetched without joining the group)."""
    names = [settings.topic(topics.ALERTS)]
    offsets = await committed_offsets(settings, group, names)
    return sum(offset or 0 for offset in offsets.values())


def test_alerts_routed_grouped_inhibited_resolved_and_counted(
    broker: EmbeddedBroker,
    topic_prefix: str,
    alertmanager: EmbeddedAlertmanager,  # noqa: F811 - fixture
    start_prometheus: StartPrometheus,  # noqa: F811 - fixture
) -> None:
    metrics_port = free_port()
    settings = notifier_settings(broker, topic_prefix, alertmanager, metrics_port)
    prometheus = start_prometheus({"notifier": [f"127.0.0.1:{metrics_port}"]})
    district = f"D-{topic_prefix.rstrip('.')}"
    gas1 = make_alert(district, "gas.lel_high", "det-1")
    gas2 = make_alert(district, "gas.lel_high", "det-2")
    offline = make_alert(district, "heating.station_offline", "HS-1", severity="warning")
    cold1 = make_alert(district, "heating.indoor_cold", "HS-1")
    cold2 = make_alert(district, "heating.indoor_cold", "HS-2")
    alerts = [gas1, gas2, offline, cold1, cold2]
    if HAS_LABELS:  # streams.models.Alert.labels (proposed) carries the light's circuit
        alerts.append(
            make_alert(
                district,
                "streetlight.circuit_outage",
                "C-1",
                entity_type="circuit",
                severity="major",
            )
        )
        alerts.append(
            make_alert(
                district,
                "streetlight.dark",
                "L-1",
                entity_type="light",
                severity="minor",
                labels={"circuit_id": "C-1"},
            )
        )

    async def scenario() -> None:
        asyncio.get_running_loop()
        await ensure_topics(settings, (topics.ALERTS,))
        stop = asyncio.Event()
        task = asyncio.create_task(run_notifier(settings, stop=stop))
        try:
            async with aiohttp.ClientSession() as http:
                await produce(settings, alerts)
                alerts_url = f"{alertmanager.url}/api/v2/alerts"

                async def all_there() -> list[dict[str, Any]] | None:
                    got = await am_get(http, alerts_url, district)
                    return got if len(got) == len(alerts) else None

                got = by_entity(await eventually(all_there, "alerts in Alertmanager"))
                first = got[("gas.lel_high", "det-1")]
                assert first["labels"] == {
                    "alertname": "gas.lel_high",
                    "severity": "major",
                    "district": district,
                    "entity_type": "detector",
                    "entity_id": "det-1",
                }
                annotations = first["annotations"]
                assert annotations["alert_id"] == gas1.alert_id
                assert annotations["runbook_url"].endswith("/gas.lel_high.md")
                assert annotations["dashboard_url"].startswith(
                    "http://grafana.test:3000/d/cityops-gas-en?"
                )
                assert annotations["summary"] == "gas.lel_high at det-1"
                assert first["startsAt"].startswith(gas1.started_at.strftime("%Y-%m-%dT%H:%M:%S"))
                assert first["receivers"] == [{"name": "oncall-webhook"}]

                # Inhibition: the offline station hides its own cold-indoor alert only.
                hidden = got[("heating.indoor_cold", "HS-1")]["status"]
                assert hidden["state"] == "suppressed" and hidden["inhibitedBy"]
                shown = got[("heating.indoor_cold", "HS-2")]["status"]
                assert shown["state"] == "active" and not shown["inhibitedBy"]
                assert got[("heating.indoor_cold", "HS-1")]["labels"]["station_id"] == "HS-1"
                if HAS_LABELS:
                    dark = got[("streetlight.dark", "L-1")]["status"]
                    assert dark["state"] == "suppressed" and dark["inhibitedBy"]

                # Grouping by (alertname, district): both gas alerts in one group.
                groups = await am_get(http, f"{alertmanager.url}/api/v2/alerts/groups", district)
                gas_groups = [g for g in groups if g["labels"].get("alertname") == "gas.lel_high"]
                assert len(gas_groups) == 1
                assert gas_groups[0]["labels"] == {
                    "alertname": "gas.lel_high",
                    "district": district,
                }
                assert {a["labels"]["entity_id"] for a in gas_groups[0]["alerts"]} == {
                    "det-1",
                    "det-2",
                }

                # Resolving ends the alert in Alertmanager.
                await produce(settings, [resolved(gas1)])

                async def gas1_gone() -> bool:
                    now = by_entity(await am_get(http, alerts_url, district))
                    return ("gas.lel_high", "det-1") not in now and ("gas.lel_high", "det-2") in now

                await eventually(gas1_gone, "the resolved alert to end")

                # Prometheus scraped the notifier: its counter equals the events pushed.
                pushed = len(alerts) + 1

                async def scraped_total() -> bool:
                    query = 'sum(cityops_notifier_alerts_pushed_total{job="notifier"})'
                    async with http.get(
                        f"{prometheus.url}/api/v1/query", params={"query": query}
                    ) as response:
                        result = (await response.json())["data"]["result"]
                    return bool(result) and float(result[0]["value"][1]) == pushed

                await eventually(scraped_total, f"Prometheus to see {pushed} alerts pushed")
                group = f"{topic_prefix}worker-notifier"
                assert await committed_total(settings, group) == pushed
        finally:
            stop.set()
            await task

    asyncio.run(scenario())


def test_nothing_lost_while_alertmanager_is_down(
    broker: EmbeddedBroker,
    topic_prefix: str,
    alertmanager: EmbeddedAlertmanager,  # noqa: F811 - fixture
) -> None:
    settings = notifier_settings(broker, topic_prefix, alertmanager)
    config = NotifierConfig.from_settings(
        settings, resend_interval_s=1.0, backoff_initial_s=0.2, backoff_max_s=1.0
    )
    district = f"D-{topic_prefix.rstrip('.')}"
    before = make_alert(district, "gas.lel_high", "det-before")
    short = make_alert(district, "gas.lel_high", "det-short")
    during = make_alert(district, "fleet.speeding", "truck-9", severity="warning")
    alerts_url = f"{alertmanager.url}/api/v2/alerts"
    group = config.group

    async def entities(http: aiohttp.ClientSession) -> set[str]:
        return {a["labels"]["entity_id"] for a in await am_get(http, alerts_url, district)}

    async def scenario() -> None:
        await ensure_topics(settings, (topics.ALERTS,))
        async with aiohttp.ClientSession() as http:
            registry = CollectorRegistry()
            stop = asyncio.Event()
            task = asyncio.create_task(
                run_notifier(settings, stop=stop, registry=registry, config=config)
            )
            try:
                await produce(settings, [before, short])

                async def both_in() -> bool:
                    return await entities(http) == {"det-before", "det-short"}

                await eventually(both_in, "the first alerts")
                assert await committed_total(settings, group) == 2

                alertmanager.stop()
                await produce(settings, [during, resolved(short)])

                async def failing() -> bool:
                    value = registry.get_sample_value("cityops_notifier_failures_total")
                    return bool(value and value >= 2)

                await eventually(failing, "pushes to fail while Alertmanager is down")
                # Not accepted, so not committed.
                assert await committed_total(settings, group) == 2

                # Same port and storage; Alertmanager forgot its alerts (memory only).
                alertmanager.start()

                async def recovered() -> bool:
                    return await entities(http) == {"det-before", "truck-9"}

                await eventually(recovered, "every firing alert back after the outage")

                async def all_committed() -> bool:
                    return await committed_total(settings, group) == 4

                await eventually(all_committed, "offsets committed after Alertmanager accepted")
                pushed = registry.get_sample_value(
                    "cityops_notifier_alerts_pushed_total", {"state": "firing"}
                )
                assert pushed == 3
            finally:
                stop.set()
                await task

            # A new notifier rebuilds its firing set from alerts.v1 (up to its committed
            # offsets) and re-sends it to an Alertmanager that lost everything.
            alertmanager.stop()
            alertmanager.start()
            assert await entities(http) == set()
            registry2 = CollectorRegistry()
            stop2 = asyncio.Event()
            task2 = asyncio.create_task(
                run_notifier(settings, stop=stop2, registry=registry2, config=config)
            )
            try:
                await eventually(recovered, "the firing set rebuilt by a restarted notifier")
                assert registry2.get_sample_value(
                    "cityops_notifier_alerts_pushed_total", {"state": "firing"}
                ) in (None, 0.0)
                assert (
                    registry2.get_sample_value("cityops_notifier_alerts_resent_total") or 0
                ) >= 2
            finally:
                stop2.set()
                await task2

    asyncio.run(scenario())
