"""Alertmanager alerts from `alerts.v1` records: pure, no I/O (the notifier's core).

Each alert lifecycle event becomes an Alertmanager alert (`POST /api/v2/alerts`):

* labels (stable per alert, they are its identity in Alertmanager):
  `alertname` = rule, `severity`, `district`, `entity_type`, `entity_id`, plus
  the grouping keys routing needs: `circuit_id` (streetlight), `station_id`
  (heating), and whatever `alert.labels` carries (`streams.routing.alert_labels`);
* annotations: `summary`, `runbook_url`, `dashboard_url` (`streams.routing`),
  `value`, `threshold`, `alert_id`, `state`, `acknowledged_by`;
* `startsAt` = started_at; a resolved alert ends at resolved_at; a firing or
  acknowledged one ends at now + `firing_ttl`, and is re-sent before that;
* `ack_url` (firing alerts) and `resolve_url` (rules that allow a manual resolve):
  signed one-click links to the ack service (`streams/acklink.py`), valid for
  `AckLinks.ttl` from each (re-)send, when the notifier is configured with them.

Escalation (`escalation` label, DESIGN.md "Escalation"): an alert at level n is sent
as n + 1 Alertmanager alerts, its base label set (no `escalation` label, the same
identity it had before escalating) and one copy per level 1..n. So the first tier
keeps its alert (no "resolved" when it escalates) and each tier gets its own
notification through the `escalation` routes of deploy/alertmanager.yml.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from streams.acklink import allowed_actions, link
from streams.models import Alert, iso_z
from streams.routing import ESCALATION_LABEL, alert_labels, dashboard_url, runbook_url

Payload = dict[str, Any]


@dataclass(frozen=True)
class AckLinks:
    """Where the ack service is and how links are signed (`streams/acklink.py`)."""

    base_url: str
    key: bytes = field(repr=False)
    ttl: timedelta


def ack_annotations(alert: Alert, links: AckLinks | None, now: datetime) -> dict[str, str]:
    """`ack_url` while the alert is firing, `resolve_url` while open where the rule allows."""
    if links is None or alert.state == "resolved":
        return {}
    expires = int((now + links.ttl).timestamp())
    out: dict[str, str] = {}
    for action in allowed_actions(alert.rule):
        if action == "ack" and alert.state != "firing":
            continue
        out[f"{action}_url"] = link(links.base_url, links.key, alert.alert_id, action, expires)
    return out


def identity(labels: Mapping[str, str]) -> dict[str, str]:
    """A label set without its escalation level: what stays the same while it escalates."""
    return {name: value for name, value in labels.items() if name != ESCALATION_LABEL}


def escalation_copies(payload: Payload) -> list[Payload]:
    """The base alert and one copy per escalation level reached (see the module doc)."""
    labels: dict[str, str] = payload["labels"]
    level = labels.get(ESCALATION_LABEL, "0")
    base = identity(labels)
    if not (level.isascii() and level.isdigit()) or int(level) == 0:
        return [payload if base == labels else {**payload, "labels": base}]
    copies = [{**payload, "labels": base}]
    copies += [
        {**payload, "labels": {**base, ESCALATION_LABEL: str(n)}} for n in range(1, int(level) + 1)
    ]
    return copies


def _number(value: float) -> str:
    return f"{value:g}"


def alert_payload(
    alert: Alert,
    *,
    now: datetime,
    firing_ttl: timedelta,
    runbook_base_url: str,
    dashboard_base_url: str,
    labels: Mapping[str, str] | None = None,
    ends_at: datetime | None = None,
    ack_links: AckLinks | None = None,
) -> Payload:
    """One element of the `POST /api/v2/alerts` body (before `escalation_copies`).

    A resolved alert ends at `resolved_at` (else `updated_at`); any other ends at
    `now + firing_ttl` and must be re-sent before that. `ends_at` overrides both
    (used to end a label set the alert no longer has). Alertmanager refuses
    endsAt before startsAt, so the end is never earlier than the start.
    """
    dash = dashboard_url(alert, dashboard_base_url)
    annotations: dict[str, str] = {
        "summary": alert.summary,
        "runbook_url": runbook_url(alert, runbook_base_url),
        "dashboard_url": dash,
        "alert_id": alert.alert_id,
        "state": alert.state,
    }
    if alert.value is not None:
        annotations["value"] = _number(alert.value)
    if alert.threshold is not None:
        annotations["threshold"] = _number(alert.threshold)
    acknowledged_by = getattr(alert, "acknowledged_by", None)
    if acknowledged_by:
        annotations["acknowledged_by"] = str(acknowledged_by)
    if ends_at is None:
        annotations.update(ack_annotations(alert, ack_links, now))
        if alert.state == "resolved":
            ends_at = alert.resolved_at or alert.updated_at
        else:
            ends_at = now + firing_ttl
    ends_at = max(ends_at, alert.started_at)
    return {
        "labels": dict(labels if labels is not None else alert_labels(alert)),
        "annotations": annotations,
        "startsAt": iso_z(alert.started_at),
        "endsAt": iso_z(ends_at),
        "generatorURL": dash,
    }


@dataclass(frozen=True)
class Change:
    """What one alerts.v1 event changes in Alertmanager."""

    alert: Alert
    stale: bool = False  # older than what was already sent: send nothing
    #: Labels the alert had before and no longer has (severity escalated): end them.
    retired: tuple[Alert, dict[str, str]] | None = None
    #: The label set to send (None = `alert_labels(alert)`): routing labels of earlier
    #: events of the same incarnation stay (an ack or an escalation carries none).
    labels: dict[str, str] | None = None

    @property
    def sends(self) -> bool:
        return not self.stale


def alert_payloads(alert: Alert, **kwargs: Any) -> list[Payload]:
    """`alert_payload` with its escalation copies: what to push for one alert."""
    return escalation_copies(alert_payload(alert, **kwargs))


def change_payloads(
    change: Change,
    *,
    now: datetime,
    firing_ttl: timedelta,
    runbook_base_url: str,
    dashboard_base_url: str,
    ack_links: AckLinks | None = None,
) -> list[Payload]:
    """The alerts to push for one change (none when stale)."""
    if change.stale:
        return []
    out: list[Payload] = []
    if change.retired is not None:
        old_alert, old_labels = change.retired
        out.extend(
            alert_payloads(
                old_alert,
                now=now,
                firing_ttl=firing_ttl,
                runbook_base_url=runbook_base_url,
                dashboard_base_url=dashboard_base_url,
                labels=old_labels,
                ends_at=change.alert.updated_at,
            )
        )
    out.extend(
        alert_payloads(
            change.alert,
            now=now,
            firing_ttl=firing_ttl,
            runbook_base_url=runbook_base_url,
            dashboard_base_url=dashboard_base_url,
            labels=change.labels,
            ack_links=ack_links,
        )
    )
    return out


def decode_alert(raw: bytes | None) -> Alert | None:
    """An alerts.v1 message value as an Alert, or None when it is not one."""
    if raw is None:
        return None
    try:
        return Alert.model_validate_json(raw)
    except ValidationError:
        return None
