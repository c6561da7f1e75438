"""Ack links and escalation copies in the Alertmanager payloads (issue 16)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from cityops.base.settings import ConfigurationError, load_settings
from sinks.alert_payload import AckLinks, alert_payload, alert_payloads, change_payloads
from sinks.firing import FiringSet
from sinks.notifier import NotifierConfig
from streams.acklink import verify
from tests.sinks.test_notifier import LINKS, NOW, T0, TTL, make_alert

KEY = b"n" * 32
ACK = AckLinks("https://ack.example", KEY, timedelta(hours=24))


def test_a_firing_alert_carries_a_signed_ack_link_valid_for_the_ttl() -> None:
    alert = make_alert()
    annotations = alert_payload(alert, now=NOW, firing_ttl=TTL, ack_links=ACK, **LINKS)[
        "annotations"
    ]
    url = urlsplit(annotations["ack_url"])
    assert (url.scheme, url.netloc) == ("https", "ack.example")
    assert url.path == "/alerts/gas.lel_high%3Adet-1%3A1795341600000/ack"
    token = parse_qs(url.query)["t"][0]
    now_s = NOW.timestamp()
    assert verify(KEY, alert.alert_id, "ack", token, now_s).alert_id == alert.alert_id
    assert int(token.split(".")[0]) == int(now_s + 24 * 3600)
    assert "resolve_url" not in annotations  # gas.lel_high resolves on data only


def test_links_by_state_and_rule() -> None:
    acked = make_alert(state="acknowledged")
    assert (
        "ack_url"
        not in alert_payload(acked, now=NOW, firing_ttl=TTL, ack_links=ACK, **LINKS)["annotations"]
    )
    offline = make_alert(
        rule="gas.detector_offline", alert_id="gas.detector_offline:det-1:1795341600000"
    )
    annotations = alert_payload(offline, now=NOW, firing_ttl=TTL, ack_links=ACK, **LINKS)[
        "annotations"
    ]
    assert {"ack_url", "resolve_url"} <= set(annotations)
    resolved = make_alert(state="resolved", resolved_at=T0)
    annotations = alert_payload(resolved, now=NOW, firing_ttl=TTL, ack_links=ACK, **LINKS)[
        "annotations"
    ]
    assert not {"ack_url", "resolve_url"} & set(annotations)
    no_links = alert_payload(make_alert(), now=NOW, firing_ttl=TTL, **LINKS)["annotations"]
    assert "ack_url" not in no_links


def test_an_escalated_alert_is_sent_as_its_base_and_one_copy_per_level() -> None:
    alert = make_alert(labels={"escalation": "2"}, severity="critical")
    payloads = alert_payloads(alert, now=NOW, firing_ttl=TTL, **LINKS)
    assert [p["labels"].get("escalation") for p in payloads] == [None, "1", "2"]
    assert len({p["annotations"]["alert_id"] for p in payloads}) == 1
    assert len(alert_payloads(make_alert(), now=NOW, firing_ttl=TTL, **LINKS)) == 1


def test_escalating_keeps_the_first_tier_alert_and_adds_the_next() -> None:
    firing = FiringSet()
    firing.apply(make_alert(labels={"enterprise_id": "E1"}))
    escalated = make_alert(labels={"escalation": "1"}, updated_at=T0 + timedelta(minutes=15))
    change = firing.apply(escalated)
    assert change.retired is None  # nothing ends: tier 0 is not told "resolved"
    payloads = change_payloads(change, now=NOW, firing_ttl=TTL, **LINKS)
    assert [p["labels"] for p in payloads] == [
        {**payloads[0]["labels"], "enterprise_id": "E1"},
        {**payloads[0]["labels"], "escalation": "1"},
    ]
    assert all(p["endsAt"] > "2026-11-22T10:30" for p in payloads)  # all firing


def test_an_ack_without_routing_labels_keeps_the_identity() -> None:
    firing = FiringSet()
    firing.apply(make_alert(labels={"route_id": "R7"}))
    change = firing.apply(make_alert(state="acknowledged", updated_at=T0 + timedelta(minutes=1)))
    assert change.retired is None
    (payload,) = change_payloads(change, now=NOW, firing_ttl=TTL, **LINKS)
    assert payload["labels"]["route_id"] == "R7"


def test_notifier_with_ack_base_url_needs_the_secret() -> None:
    settings = load_settings(
        _env_file=None, alertmanager_url="http://am:9093", ack_base_url="http://ack:9110"
    )
    with pytest.raises(ConfigurationError, match="set CITYOPS_ACK_SECRET"):
        NotifierConfig.from_settings(settings)
    with_secret = load_settings(
        _env_file=None,
        alertmanager_url="http://am:9093",
        ack_base_url="http://ack:9110",
        ack_secret="z" * 40,
    )
    config = NotifierConfig.from_settings(with_secret)
    assert config.ack_links is not None and config.ack_links.base_url == "http://ack:9110"
    assert "zzzz" not in repr(config)  # the key never shows in logs or tracebacks


def test_no_link_for_an_alert_nobody_can_acknowledge() -> None:
    silent = make_alert(
        rule="pipeline.feed_silent",
        alert_id="pipeline.feed_silent:gas:1795341600000",
        entity_type="feed",
        entity_id="gas",
    )
    annotations = alert_payload(silent, now=NOW, firing_ttl=TTL, ack_links=ACK, **LINKS)[
        "annotations"
    ]
    assert not {"ack_url", "resolve_url"} & set(annotations)
