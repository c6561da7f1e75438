"""Signed one-click links: single-purpose, expiring, constant-time checked."""

from __future__ import annotations

import orjson
import pytest

from streams import acklink
from streams.acklink import Refused, ack_key, allowed_actions, check_secret, link, sign, verify

KEY = b"k" * 32
ALERT = "gas.lel_high:gd-7:1764403200000"
OTHER = "gas.lel_high:gd-8:1764403200000"
NOW = 1_764_403_300.0


def refusal(token: str | None, alert_id: str = ALERT, action: str = "ack") -> tuple[int, str]:
    with pytest.raises(Refused) as info:
        verify(KEY, alert_id, action, token, NOW)
    return info.value.status, info.value.reason


def test_a_fresh_token_verifies_for_its_alert_and_action() -> None:
    target = verify(KEY, ALERT, "ack", sign(KEY, ALERT, "ack", int(NOW) + 60), NOW)
    assert (target.alert_id, target.action, target.rule, target.entity_id) == (
        ALERT,
        "ack",
        "gas.lel_high",
        "gd-7",
    )


def test_tampered_tokens_are_refused_with_403() -> None:
    token = sign(KEY, ALERT, "ack", int(NOW) + 60)
    expires, mac = token.split(".")
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    assert refusal(f"{expires}.{flipped}")[0] == 403
    # a longer life is tampering too (the MAC covers the expiry), not "valid"
    assert refusal(f"{int(expires) + 3600}.{mac}")[0] == 403
    assert refusal("garbage") == (403, "malformed token")
    assert refusal(sign(b"x" * 32, ALERT, "ack", int(NOW) + 60))[0] == 403  # another key


def test_a_token_for_another_alert_or_action_is_refused() -> None:
    token = sign(KEY, OTHER, "ack", int(NOW) + 60)
    status, reason = refusal(token)
    assert status == 403 and "another" in reason
    offline = "gas.detector_offline:gd-7:1764403200000"
    ack_token = sign(KEY, offline, "ack", int(NOW) + 60)
    assert refusal(ack_token, offline, "resolve")[0] == 403  # an ack link cannot resolve


def test_an_expired_token_is_refused_with_410() -> None:
    status, reason = refusal(sign(KEY, ALERT, "ack", int(NOW) - 1))
    assert status == 410 and "expired" in reason


def test_missing_token_and_unknown_targets() -> None:
    assert refusal(None)[0] == 401
    assert refusal("1.x", alert_id="not-an-alert")[0] == 404
    assert refusal("1.x", alert_id="weather.hail:x:1")[0] == 404  # no such rule
    assert refusal("1.x", action="delete")[0] == 404
    status, reason = refusal(sign(KEY, ALERT, "resolve", int(NOW) + 60), action="resolve")
    assert status == 403 and "resolve on data" in reason


def test_resolve_by_hand_only_where_the_catalog_allows_it() -> None:
    assert allowed_actions("gas.lel_high") == ("ack",)
    assert allowed_actions("gas.detector_offline") == ("ack", "resolve")
    assert allowed_actions("heating.station_offline") == ("ack", "resolve")
    # its acks reach no state (streams/stages/feed_silence.py): no link, and refused
    assert allowed_actions("pipeline.feed_silent") == ()
    silent = "pipeline.feed_silent:gas:1764403200000"
    status, reason = refusal(sign(KEY, silent, "ack", int(NOW) + 60), silent)
    assert status == 403 and "resolve by themselves" in reason


def test_link_quotes_the_alert_id_and_carries_the_token() -> None:
    url = link("https://ack.example/", KEY, ALERT, "ack", 1_764_500_000)
    assert url.startswith("https://ack.example/alerts/gas.lel_high%3Agd-7%3A1764403200000/ack?t=")
    assert url.endswith(sign(KEY, ALERT, "ack", 1_764_500_000))


def test_acks_are_keyed_by_the_entity_id() -> None:
    assert ack_key(ALERT) == b"gd-7"
    assert ack_key("streetlight.circuit_outage:c-12:1") == b"c-12"


@pytest.mark.parametrize("secret", [None, "", "short"])
def test_a_missing_or_short_secret_says_what_to_set(secret: str | None) -> None:
    with pytest.raises(ValueError, match="set CITYOPS_ACK_SECRET to a random string"):
        check_secret(secret)


def test_an_acks_entity_comes_from_its_alert_id_and_its_key_must_be_that_entity() -> None:
    alert_id = "gas.lel_high:GD-0001:1700000000000"
    value = orjson.dumps({"alert_id": alert_id, "by": "op"})
    assert acklink.ack_entity(value) == "GD-0001"
    assert acklink.ack_entity(b"not json") is None
    assert acklink.ack_entity(b"[1]") is None
    assert acklink.ack_entity(orjson.dumps({"alert_id": 7})) is None
    assert acklink.check_ack_key(b"GD-0001", "GD-0001") is None
    wrong = acklink.check_ack_key(alert_id.encode(), "GD-0001")
    assert wrong is not None and wrong.reason == "key_mismatch"
    missing = acklink.check_ack_key(None, "GD-0001")
    assert missing is not None and "no key" in missing.message
