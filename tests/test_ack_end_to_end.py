"""Issue 16 end to end: the link in a delivered notification acknowledges the alert, and an
unacknowledged alert escalates to the next tier.

Real parts throughout: Tansu, PostgreSQL, the real Alertmanager with deploy/alertmanager.yml
(its webhook URLs pointed at a receiver in this test), and worker, sink, notifier and ack
service started as child processes by `cityops up`'s own `start_pipeline`.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import orjson
import psycopg
import pytest

from cityops.base.settings import Settings
from cityops.stack.alertmanager import DEFAULT_CONFIG, EmbeddedAlertmanager
from cityops.stack.up import Stack, start_pipeline, with_ack_service
from sinks.migrate import migrate
from streams import topics
from streams.acklink import sign
from tests.fixtures.alertmanager import require_alertmanager
from tests.fixtures.pipeline import produce, read_topic, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Short escalation for the test: majors escalate 8 s after firing, criticals not within
# the test; no lateness, and the processing-time fallback after 1 s of silence, so the
# major alert escalates on the wall clock once the feed has stopped.
RULES = """
[engine]
allowed_lateness_s = 0
[escalation]
critical_s = 3600
major_s = 8
fallback_idle_s = 1
"""


class Receiver(ThreadingHTTPServer):
    """A webhook receiver: records (path, JSON body) of every notification."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        super().__init__(("127.0.0.1", 0), _Handler)

    def alerts(self, path_prefix: str = "/") -> list[dict[str, Any]]:
        return [
            alert
            for path, body in list(self.received)
            if path.startswith(path_prefix)
            for alert in body.get("alerts", [])
        ]


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.received.append((self.path, json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def routed_alertmanager(receiver: Receiver, tmp_path: Path) -> Iterator[EmbeddedAlertmanager]:
    """deploy/alertmanager.yml as shipped, its receivers pointed at this test's webhook."""
    require_alertmanager()
    port = receiver.server_address[1]
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        DEFAULT_CONFIG.read_text().replace("http://127.0.0.1:5001", f"http://127.0.0.1:{port}")
    )
    am = EmbeddedAlertmanager(tmp_path, config).start()
    yield am
    am.stop()


def reading(detector: str, lel: float, ts: datetime) -> tuple[str, bytes, bytes]:
    event = {
        "detector_id": detector,
        "ts": ts.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "site_type": "restaurant",
        "district": "chengyang",
        "lat": 36.3,
        "lon": 120.4,
        "lel_pct": lel,
        "status": "ok",
        "battery_pct": 90.0,
    }
    return topics.GAS_DETECTOR, detector.encode(), orjson.dumps(event)


class Answer:
    def __init__(self, status_code: int, text: str) -> None:
        self.status_code, self.text = status_code, text


def http(url: str, data: dict[str, str] | None = None) -> Answer:
    """GET `url`, or POST `data` as a form (what a browser does with the confirmation page)."""
    body = None if data is None else urlencode(data).encode()
    try:
        with urllib.request.urlopen(url, data=body, timeout=10) as response:
            return Answer(response.status, response.read().decode())
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.read().decode())


def alert_row(database_url: str, alert_id: str) -> tuple[str, dict[str, str]] | None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT state, labels FROM alerts WHERE alert_id = %s", (alert_id,)
        ).fetchone()
    return None if row is None else (row[0], row[1])


def test_the_notification_link_acknowledges_and_the_unacknowledged_alert_escalates(
    stack_settings: Settings,
    created_topics: list[str],
    receiver: Receiver,
    routed_alertmanager: EmbeddedAlertmanager,
    tmp_path: Path,
) -> None:
    assert stack_settings.database_url and stack_settings.kafka_bootstrap
    migrate(stack_settings.database_url)
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    settings = with_ack_service(
        stack_settings.model_copy(
            update={"alertmanager_url": routed_alertmanager.url, "rules_file": rules}
        )
    )
    assert settings.ack_secret is not None and settings.ack_base_url
    key = settings.ack_secret.get_secret_value().encode()
    stack = Stack(settings)
    try:
        start_pipeline(settings, stack, simulate_args=None)
        procs = {p.name: p for p in stack.processes}
        assert set(procs) == {"worker", "sink", "notifier", "ack-service"}
        now = datetime.now(UTC)
        # gd-crit: a second-level alarm (critical) to acknowledge; gd-major: a first-level
        # one (major) nobody acknowledges. Then the feed falls silent.
        asyncio.run(
            produce(
                settings,
                [
                    reading(d, lel, now - timedelta(seconds=s))
                    for s in (3, 2, 1)
                    for d, lel in (("gd-crit", 60.0), ("gd-major", 30.0))
                ],
            )
        )

        # 1. The notification reaches the critical tier with a one-click link.
        critical = wait_until(
            lambda: [
                a
                for a in receiver.alerts("/cityops/critical")
                if a["labels"]["entity_id"] == "gd-crit"
            ],
            bool,
            timeout=90,
            what="the critical notification",
            procs=procs,
        )[0]
        alert_id = critical["annotations"]["alert_id"]
        ack_url = critical["annotations"]["ack_url"]
        assert ack_url.startswith(f"{settings.ack_base_url}/alerts/")

        # 2. Opening it (GET, as a link preview would) shows a form and writes nothing.
        page = http(ack_url)
        assert page.status_code == 200 and "<form method='post'>" in page.text
        time.sleep(1.0)
        acks_topic = settings.topic(topics.ALERTS_ACK)
        assert read_topic(settings.kafka_bootstrap, acks_topic, timeout=2) == []

        # 3. Bad links are refused with a status and a reason; nothing is written.
        path, token = ack_url.split("?t=")
        expires, mac = token.split(".")
        tampered = f"{expires}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}"
        other = alert_id.replace("gd-crit", "gd-major")
        expired = sign(key, alert_id, "ack", int(time.time()) - 1)
        refused = {
            "tampered": http(path, {"t": tampered, "by": "x"}),
            "another alert": http(path.replace("gd-crit", "gd-major"), {"t": token, "by": "x"}),
            "expired": http(path, {"t": expired, "by": "x"}),
        }
        assert {k: r.status_code for k, r in refused.items()} == {
            "tampered": 403,
            "another alert": 403,
            "expired": 410,
        }
        assert "expired" in refused["expired"].text
        assert other != alert_id

        # 4. The form's POST acknowledges: alerts.ack.v1 (keyed by the entity), alerts.v1
        #    and the alerts table show it.
        posted = http(path, {"t": token, "by": "Wang Fang"})
        assert posted.status_code == 200, posted.text
        (ack,) = read_topic(settings.kafka_bootstrap, acks_topic, timeout=5)
        assert ack.key == b"gd-crit"
        assert orjson.loads(ack.value)["by"] == "Wang Fang"
        wait_until(
            lambda: alert_row(settings.database_url or "", alert_id),
            lambda row: row is not None and row[0] == "acknowledged",
            timeout=60,
            what="the alerts row to show acknowledged",
            procs=procs,
        )
        events = [
            orjson.loads(r.value)
            for r in read_topic(settings.kafka_bootstrap, settings.topic(topics.ALERTS))
        ]
        assert [e["state"] for e in events if e["alert_id"] == alert_id] == [
            "firing",
            "acknowledged",
        ]

        # 5. The unacknowledged major alert escalates (processing-time fallback: the feed
        #    is silent) and Alertmanager routes the copy to the next tier.
        tier1 = wait_until(
            lambda: [
                a
                for a in receiver.alerts("/cityops/escalation/1")
                if a["labels"]["entity_id"] == "gd-major"
            ],
            bool,
            timeout=90,
            what="the escalation to tier 1",
            procs=procs,
        )[0]
        assert tier1["labels"]["escalation"] == "1"
        major_id = tier1["annotations"]["alert_id"]
        row = wait_until(
            lambda: alert_row(settings.database_url or "", major_id),
            lambda row: row is not None and row[1].get("escalation") == "1",
            timeout=60,
            what="the escalation level in the alerts table",
            procs=procs,
        )
        assert row is not None and row[0] == "firing"
        # the acknowledged critical alert never escalated
        escalated = {
            e["alert_id"]
            for e in (
                orjson.loads(r.value)
                for r in read_topic(settings.kafka_bootstrap, settings.topic(topics.ALERTS))
            )
            if e["labels"].get("escalation")
        }
        assert alert_id not in escalated and major_id in escalated
        # the first tier still has its own alert: it was not told "resolved"
        first_tier = wait_until(
            lambda: [
                a
                for a in receiver.alerts("/cityops/oncall")
                if a["labels"]["entity_id"] == "gd-major"
            ],
            bool,
            timeout=60,
            what="the first tier's notification of the major alert",
            procs=procs,
        )
        assert all(a["status"] == "firing" and "escalation" not in a["labels"] for a in first_tier)
        log = (settings.state_dir / "logs" / "ack-service.log").read_text()
        assert "POST /alerts/" in log and mac not in log
        assert parse_qs(urlsplit(ack_url).query)["t"][0] not in log
    finally:
        stack.stop()
