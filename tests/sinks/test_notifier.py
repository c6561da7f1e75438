"""The pure part of the notifier: Alert -> Alertmanager payload, the firing set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import Field

from cityops.base.settings import ConfigurationError, load_settings
from sinks.alert_payload import alert_payload, change_payloads, decode_alert
from sinks.firing import FiringSet
from sinks.notifier import NotifierConfig
from streams.models import Alert
from streams.routing import alert_labels, dashboard_url, runbook_url

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 22, 10, 30, tzinfo=UTC)
TTL = timedelta(minutes=4)
LINKS = {"runbook_base_url": "https://runbooks.example/rb", "dashboard_base_url": "http://g:3000/"}


def make_alert(**fields: object) -> Alert:
    base: dict[str, object] = {
        "alert_id": "gas.lel_high:det-1:1795341600000",
        "rule": "gas.lel_high",
        "severity": "major",
        "state": "firing",
        "entity_type": "detector",
        "entity_id": "det-1",
        "district": "Shinan",
        "lat": 36.06,
        "lon": 120.38,
        "started_at": T0,
        "updated_at": T0,
        "resolved_at": None,
        "value": 27.5,
        "threshold": 25.0,
        "summary": "LEL 27.5% at det-1",
        "runbook": "docs/runbooks/gas.lel_high.md",
    }
    base.update(fields)
    return Alert.model_validate(base)


class LabelledAlert(Alert):
    """The model with the optional `labels` field proposed for streams.models.Alert."""

    labels: dict[str, str] = Field(default_factory=dict)
    acknowledged_by: str | None = None


def test_labels_are_the_stable_identity() -> None:
    labels = alert_labels(make_alert())
    assert labels == {
        "alertname": "gas.lel_high",
        "severity": "major",
        "district": "Shinan",
        "entity_type": "detector",
        "entity_id": "det-1",
    }
    # Lifecycle fields do not change the identity.
    later = make_alert(state="acknowledged", updated_at=T0 + timedelta(minutes=5), value=30.0)
    assert alert_labels(later) == labels


def test_routing_labels_derived_and_from_alert_labels() -> None:
    outage = make_alert(
        rule="streetlight.circuit_outage", entity_type="circuit", entity_id="C-7", severity="major"
    )
    assert alert_labels(outage)["circuit_id"] == "C-7"
    heating = make_alert(rule="heating.indoor_cold", entity_type="station", entity_id="HS-3")
    assert alert_labels(heating)["station_id"] == "HS-3"
    assert "station_id" not in alert_labels(make_alert())

    dark_fields = make_alert(rule="streetlight.dark", entity_type="light", entity_id="L-1")
    dark = LabelledAlert.model_validate(
        {
            **dark_fields.model_dump(),
            "labels": {"circuit_id": "C-7", "alertname": "hijack", "bad-name": "x", "empty": ""},
        }
    )
    labels = alert_labels(dark)
    assert labels["circuit_id"] == "C-7"
    assert labels["alertname"] == "streetlight.dark"  # base labels cannot be overridden
    assert "bad-name" not in labels and "empty" not in labels


def test_payload_of_a_firing_alert() -> None:
    payload = alert_payload(make_alert(), now=NOW, firing_ttl=TTL, **LINKS)
    assert payload["startsAt"] == "2026-11-22T10:00:00.000Z"
    assert payload["endsAt"] == "2026-11-22T10:34:00.000Z"  # now + ttl: re-sent before
    annotations = payload["annotations"]
    assert annotations["summary"] == "LEL 27.5% at det-1"
    assert annotations["runbook_url"] == "https://runbooks.example/rb/gas.lel_high.md"
    assert annotations["value"] == "27.5" and annotations["threshold"] == "25"
    assert annotations["alert_id"] == "gas.lel_high:det-1:1795341600000"
    assert annotations["state"] == "firing"
    assert "alert_id" not in payload["labels"]
    dash = urlsplit(annotations["dashboard_url"])
    assert dash.path == "/d/cityops-gas-en"
    assert parse_qs(dash.query)["var-district"] == ["Shinan"]
    assert payload["generatorURL"] == annotations["dashboard_url"]


def test_payload_of_resolved_and_acknowledged_alerts() -> None:
    resolved = make_alert(
        state="resolved",
        updated_at=T0 + timedelta(minutes=9),
        resolved_at=T0 + timedelta(minutes=8),
    )
    assert alert_payload(resolved, now=NOW, firing_ttl=TTL, **LINKS)["endsAt"] == (
        "2026-11-22T10:08:00.000Z"
    )
    # endsAt before startsAt is refused by Alertmanager: clamp.
    odd = make_alert(state="resolved", resolved_at=T0 - timedelta(minutes=1))
    assert alert_payload(odd, now=NOW, firing_ttl=TTL, **LINKS)["endsAt"] == (
        "2026-11-22T10:00:00.000Z"
    )
    acked = LabelledAlert.model_validate(
        {**make_alert(state="acknowledged").model_dump(), "acknowledged_by": "duty-officer"}
    )
    payload = alert_payload(acked, now=NOW, firing_ttl=TTL, **LINKS)
    assert payload["endsAt"] == "2026-11-22T10:34:00.000Z"  # still firing
    assert payload["annotations"]["acknowledged_by"] == "duty-officer"
    assert payload["annotations"]["state"] == "acknowledged"


def test_links() -> None:
    assert runbook_url(make_alert(runbook="https://x/y.md"), "https://b") == "https://x/y.md"
    assert runbook_url(make_alert(runbook=""), "https://b/") == "https://b/gas.lel_high.md"
    assert runbook_url(make_alert(runbook="gas.lel_high.md"), "https://b") == (
        "https://b/gas.lel_high.md"
    )
    unknown = make_alert(rule="pipeline.something")
    assert "/d/cityops-alerts-en?" in dashboard_url(unknown, "http://g")


def test_firing_set_lifecycle() -> None:
    firing = FiringSet()
    a = make_alert()
    change = firing.apply(a)
    assert change.sends and change.retired is None
    assert a.key in firing and len(firing) == 1
    acked = make_alert(state="acknowledged", updated_at=T0 + timedelta(minutes=1))
    assert firing.apply(acked).sends
    assert firing.alerts() == [acked]  # acknowledged alerts stay firing
    resolved = make_alert(
        state="resolved",
        updated_at=T0 + timedelta(minutes=2),
        resolved_at=T0 + timedelta(minutes=2),
    )
    assert firing.apply(resolved).sends
    assert len(firing) == 0
    # A replayed (older) firing event cannot resurrect it.
    assert firing.apply(a).stale
    assert len(firing) == 0
    # A new episode (later) fires again.
    again = make_alert(
        alert_id="gas.lel_high:det-1:2",
        started_at=T0 + timedelta(hours=1),
        updated_at=T0 + timedelta(hours=1),
    )
    assert firing.apply(again).sends and len(firing) == 1
    assert firing.by_severity() == {"major": 1}


def test_stale_events_are_skipped() -> None:
    firing = FiringSet()
    newer = make_alert(state="acknowledged", updated_at=T0 + timedelta(minutes=3))
    firing.apply(newer)
    change = firing.apply(make_alert())
    assert change.stale
    assert change_payloads(change, now=NOW, firing_ttl=TTL, **LINKS) == []
    assert firing.alerts() == [newer]
    # The same event again (redelivery) is not stale: idempotent for Alertmanager.
    assert firing.apply(newer).sends


def test_escalation_ends_the_old_label_set() -> None:
    firing = FiringSet()
    firing.apply(make_alert())
    critical = make_alert(severity="critical", value=55.0, updated_at=T0 + timedelta(minutes=4))
    change = firing.apply(critical)
    assert change.retired is not None
    payloads = change_payloads(change, now=NOW, firing_ttl=TTL, **LINKS)
    assert [p["labels"]["severity"] for p in payloads] == ["major", "critical"]
    assert payloads[0]["endsAt"] == "2026-11-22T10:04:00.000Z"  # ended when it escalated
    assert payloads[1]["endsAt"] == "2026-11-22T10:34:00.000Z"
    assert firing.by_severity() == {"critical": 1}


def test_drop_partitions_forgets_without_resolving() -> None:
    firing = FiringSet()
    firing.apply(make_alert(), ("alerts.v1", 0))
    firing.apply(make_alert(entity_id="det-2"), ("alerts.v1", 1))
    assert firing.drop_partitions([("alerts.v1", 0)]) == 1
    assert [a.entity_id for a in firing.alerts()] == ["det-2"]


def test_resolved_memory_is_bounded() -> None:
    firing = FiringSet(max_resolved=2)
    for i in range(5):
        firing.apply(make_alert(entity_id=f"d{i}", state="resolved", resolved_at=T0))
    assert len(firing._resolved) == 2


def test_decode_alert() -> None:
    a = make_alert()
    assert decode_alert(a.model_dump_json().encode()) == a
    assert decode_alert(b"{not json") is None
    assert decode_alert(b'{"alert_id": "x"}') is None
    assert decode_alert(None) is None


def test_config_from_settings() -> None:
    settings = load_settings(
        alertmanager_url="http://127.0.0.1:9093/", topic_prefix="p.", worker_id="w"
    )
    config = NotifierConfig.from_settings(settings, resend_interval_s=10.0)
    assert config.alertmanager_url == "http://127.0.0.1:9093"
    assert config.topic == "p.alerts.v1"
    assert config.group == "w-notifier"
    assert config.firing_ttl == timedelta(minutes=2)  # never below two minutes
    assert NotifierConfig.from_settings(settings, resend_interval_s=60.0).firing_ttl == (
        timedelta(minutes=4)
    )
    with pytest.raises(ConfigurationError, match="CITYOPS_ALERTMANAGER_URL"):
        NotifierConfig.from_settings(load_settings(alertmanager_url=None))


def test_a_new_incarnation_after_a_wall_clock_ack_still_pages() -> None:
    # Firing at T0, acked at wall clock T0+10 min, resolved at event time T0+3 min
    # (the resolve inherits the ack's time), then a new leak at event time T0+4 min.
    fs = FiringSet()
    fs.apply(make_alert())
    acked_at = T0 + timedelta(minutes=10)
    fs.apply(make_alert(state="acknowledged", updated_at=acked_at))
    fs.apply(make_alert(state="resolved", updated_at=acked_at, resolved_at=acked_at))
    new_start = T0 + timedelta(minutes=4)
    again = make_alert(
        alert_id="gas.lel_high:det-1:1795341840000",
        severity="critical",
        started_at=new_start,
        updated_at=new_start,
    )
    assert not fs.apply(again).stale
    assert "gas.lel_high:det-1" in fs
    # ... while a replay of the old incarnation stays stale
    assert fs.apply(make_alert()).stale
