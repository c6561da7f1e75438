"""One-click acknowledge links: signed, single-purpose, expiring tokens (DESIGN.md "Escalation").

A link names the alert and the action in its path and carries a token
`<expiry epoch s>.<HMAC-SHA256, base64url>` over (action, alert id, expiry) with
the key `CITYOPS_ACK_SECRET`. So a token acknowledges exactly one alert until it
expires: it cannot resolve, cannot act on another alert (the MAC covers the id),
and cannot be extended (the MAC covers the expiry). Pure functions: the notifier
puts links into Alertmanager annotations, the ack service (`sinks/ack_service.py`)
verifies them; neither needs the other.

The ack record of an alert is keyed by the alert's entity id: acknowledgements must
reach the worker that owns the entity's state (feed topics are partitioned by
entity id, docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

import orjson

from streams.rules import catalog
from streams.rules.lifecycle import parse_alert_id
from streams.validation import KEY_MISMATCH, Rejection

Action = Literal["ack", "resolve"]
ACTIONS: tuple[Action, ...] = ("ack", "resolve")
#: Shortest accepted CITYOPS_ACK_SECRET (characters): 32 random characters from
#: `secrets.token_urlsafe(32)` carry ~190 bits, more than SHA-256's block needs.
MIN_SECRET_CHARS = 32
SECRET_HINT = (
    "set CITYOPS_ACK_SECRET to a random string of at least 32 characters, for example "
    "the output of: python3 -c 'import secrets; print(secrets.token_urlsafe(32))' "
    "(the notifier and the ack service need the same value)"
)
_DOMAIN = b"cityops-ack-link/v1"


class Refused(Exception):
    """A link was refused: `status` is the HTTP status to answer, `reason` says why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Target:
    """What a verified link may do."""

    alert_id: str
    action: Action
    rule: str
    entity_id: str


def check_secret(secret: str | None) -> bytes:
    """The key as bytes; ValueError saying what to set when it is missing or short."""
    if not secret:
        raise ValueError(f"no acknowledge-link secret: {SECRET_HINT}")
    if len(secret) < MIN_SECRET_CHARS:
        raise ValueError(f"CITYOPS_ACK_SECRET is too short ({len(secret)} chars): {SECRET_HINT}")
    return secret.encode()


def allowed_actions(rule: str) -> tuple[Action, ...]:
    """Acknowledge (unless the rule's acks reach no state); resolve by hand only where
    the rule catalog allows it."""
    if rule in catalog.NOT_ACKNOWLEDGEABLE:
        return ()
    return ("ack", "resolve") if rule in catalog.MANUAL_RESOLVE else ("ack",)


def _mac(key: bytes, alert_id: str, action: str, expires: int) -> str:
    message = b"\n".join((_DOMAIN, action.encode(), alert_id.encode(), str(expires).encode()))
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(key: bytes, alert_id: str, action: Action, expires: int) -> str:
    """The token for `action` on `alert_id`, valid until `expires` (epoch seconds)."""
    return f"{expires}.{_mac(key, alert_id, action, expires)}"


def link(base_url: str, key: bytes, alert_id: str, action: Action, expires: int) -> str:
    """The one-click URL (a GET showing a confirmation form that POSTs)."""
    token = sign(key, alert_id, action, expires)
    return f"{base_url.rstrip('/')}/alerts/{quote(alert_id, safe='')}/{action}?t={token}"


def target(alert_id: str, action: str) -> Target:
    """The alert and action a request names, or Refused (404) when there is no such thing."""
    parsed = parse_alert_id(alert_id)
    if parsed is None or parsed[0] not in catalog.RULES:
        raise Refused(404, "not a CityOps alert id")
    rule, entity_id, _ = parsed
    if action not in ACTIONS:
        raise Refused(404, f"unknown action {action!r}; links do ack or resolve")
    if rule in catalog.NOT_ACKNOWLEDGEABLE:
        raise Refused(403, f"{rule} alerts cannot be acknowledged; they resolve by themselves")
    if action not in allowed_actions(rule):
        raise Refused(403, f"{rule} alerts cannot be resolved by hand; they resolve on data")
    return Target(alert_id, action, rule, entity_id)


def verify(key: bytes, alert_id: str, action: str, token: str | None, now_s: float) -> Target:
    """The target of a valid token; Refused with the status and a short reason otherwise.

    The MAC is compared in constant time (`hmac.compare_digest`) before anything about
    the expiry is said, so an altered expiry reads as tampering, not as "expired"."""
    where = target(alert_id, action)
    if not token:
        raise Refused(401, "missing token: open the link from the notification")
    expires_text, dot, mac = token.partition(".")
    if not (dot and expires_text.isascii() and expires_text.isdigit() and len(expires_text) < 16):
        raise Refused(403, "malformed token")
    expires = int(expires_text)
    expected = _mac(key, alert_id, action, expires)
    if not hmac.compare_digest(expected.encode(), mac.encode("utf-8", "replace")):
        raise Refused(403, "token does not match this alert and action (altered or for another)")
    if expires < now_s:
        raise Refused(410, "link expired: use the link of a newer notification")
    return where


def ack_key(alert_id: str) -> bytes:
    """The Kafka key of an alerts.ack.v1 record: the alert's entity id (see the module doc)."""
    parsed = parse_alert_id(alert_id)
    return (parsed[1] if parsed else alert_id).encode()


def ack_entity(value: bytes | None) -> str | None:
    """The entity id of an acknowledgement's alert (None when it cannot be read)."""
    try:
        alert_id = orjson.loads(value or b"").get("alert_id")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    parsed = parse_alert_id(alert_id) if isinstance(alert_id, str) else None
    return None if parsed is None else parsed[1]


def check_ack_key(key: bytes | None, entity_id: str) -> Rejection | None:
    """`key_mismatch` unless an acknowledgement is keyed by its alert's entity id
    (`streams.validation.check_key` does the same for feed events)."""
    if key is not None and key == entity_id.encode():
        return None
    got = "no key" if key is None else f"key {key[:80]!r}"
    return Rejection(KEY_MISMATCH, f"{got} is not the alert's entity id {entity_id!r}")
