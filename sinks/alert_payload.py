"""Alertmanager alerts from `alerts.v1` records: pure, no I/O (the notifier's core).

Each alert lifecycle event becomes an Alertmanager alert (`POST /api/v2/alerts`):

* labels (stable per alert, they are its identity in Alertmanager):
  `alertname` = rule, `severity`, `district`, `entity_type`, `entity_id`, plus
  the grouping keys routing needs: `circuit_id` (streetlight), `station_id`
  (heating), and whatever `alert.labels` carries (`streams.routing.alert_labels`);
* annotations: `summary`, `runbook_url`, `dashboard_url` (`streams.routing`),
  `value`, `threshold`, `alert_id`, `state`, `acknowledged_by`;
* `startsAt` = started_at; a resolved alert ends at resolved_at; a firing or
  acknowledged one ends at now + `firing_ttl`, and is re-sent before that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from streams.models import Alert, iso_z
from streams.routing import alert_labels, dashboard_url, runbook_url

Payload = dict[str, Any]


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
) -> Payload:
    """One element of the `POST /api/v2/alerts` body.

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

    @property
    def sends(self) -> bool:
        return not self.stale


def change_payloads(
    change: Change,
    *,
    now: datetime,
    firing_ttl: timedelta,
    runbook_base_url: str,
    dashboard_base_url: str,
) -> list[Payload]:
    """The alerts to push for one change (none when stale)."""
    if change.stale:
        return []
    out: list[Payload] = []
    if change.retired is not None:
        old_alert, old_labels = change.retired
        out.append(
            alert_payload(
                old_alert,
                now=now,
                firing_ttl=firing_ttl,
                runbook_base_url=runbook_base_url,
                dashboard_base_url=dashboard_base_url,
                labels=old_labels,
                ends_at=change.alert.updated_at,
            )
        )
    out.append(
        alert_payload(
            change.alert,
            now=now,
            firing_ttl=firing_ttl,
            runbook_base_url=runbook_base_url,
            dashboard_base_url=dashboard_base_url,
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
